#include "daemon/process_executor.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "daemon/argv_expand.h"
#include "daemon/proc.h"
#include "daemon/sd_notify.h"
#include "daemon/snapshot.h"
#include "daemon/time_format.h"

extern char** environ;

namespace mlcron {
namespace {

ArgvVars VarsFor(const RunRequest& request, const std::string& status) {
  const Config& config = *request.config;
  const std::string iso = FormatInstant(request.scheduled, config.tz);  // 2024-03-31T03:00:00+02:00
  return {{"date", iso.substr(0, 10)}, {"time", iso.substr(11, 8)},
          {"scheduled", iso},          {"run_id", std::to_string(request.run_id)},
          {"job", request.job().name}, {"status", status}};
}

}  // namespace

std::string SiblingBinary(const std::string& name) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return name;
  auto candidate = self.parent_path() / name;
  if (std::filesystem::exists(candidate, ec)) return candidate.string();
  // Build tree: daemon/mlcrond beside cli/mlcron.
  candidate = self.parent_path().parent_path() / "cli" / name;
  if (std::filesystem::exists(candidate, ec)) return candidate.string();
  return name;
}

ProcessExecutor::ProcessExecutor(boost::asio::io_context& io, ProcessLauncher* launcher,
                                 std::string mlcron_path, ExitCallback on_exit)
    : io_(io),
      launcher_(launcher),
      mlcron_path_(std::move(mlcron_path)),
      on_exit_(std::move(on_exit)) {}

ProcessExecutor::~ProcessExecutor() {
  for (auto& [pid, tool] : tools_) {
    ::close(tool.out_fd);
    ::close(tool.err_fd);
  }
}

Result<SpawnSpec> ProcessExecutor::BuildSpec(const RunRequest& request,
                                             const std::vector<std::string>& argv,
                                             const std::string& status) {
  const Config& config = *request.config;
  const JobConfig& job = request.job();
  SpawnSpec spec;
  auto expanded = ExpandArgv(argv, VarsFor(request, status));
  if (!expanded.ok()) return expanded.status().WithContext("job " + job.name + ": ");
  spec.argv = std::move(expanded).value();
  if (job.shell && !spec.argv.empty()) spec.argv = {"/bin/sh", "-c", spec.argv.front()};

  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    spec.env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  ScrubNotifyEnv(spec.env);
  for (const auto& [k, v] : job.env) spec.env[k] = v;
  for (const auto& [k, v] : request.env) spec.env[k] = v;
  spec.env[kRunIdEnv] = std::to_string(request.run_id);
  spec.env["MLCRON_JOB"] = job.name;
  spec.env["MLCRON_SCHEDULED"] = FormatInstant(request.scheduled, config.tz);
  spec.env["MLCRON_ATTEMPT"] = std::to_string(request.attempt);
  spec.env["MLCRON_CONFIG"] = SnapshotPath(config);
  spec.env["MLCRON_CONFIG_ORIGIN"] = config.path;
  spec.env[kStateDirEnv] = config.state_dir;
  spec.env["MLCRON_DATA"] = config.data_path;
  spec.cwd = job.cwd.empty() ? config.base_dir : job.cwd;
  spec.nice = job.nice;
  spec.memory_max_bytes = job.memory_max_bytes;
  return spec;
}

Result<SpawnedProcess> ProcessExecutor::Start(const RunRequest& request) {
  const JobConfig& job = request.job();
  std::vector<std::string> argv = job.argv;
  if (job.kind != "command") {
    // Built-in kinds run as a child of their own, so a crash or a memory-hungry training
    // run cannot take the scheduler down. They read the frozen snapshot, never the live file.
    argv = {mlcron_path_,
            "job",
            job.kind,
            "--config",
            SnapshotPath(*request.config),
            "--origin",
            request.config->path,
            "--job",
            job.name};
  }
  auto spec = BuildSpec(request, argv, "running");
  if (!spec.ok()) return spec.status();
  std::unique_ptr<LogCapture> log;
  auto spawned = SpawnLogged(*spec, request.log_path, job.log_max_bytes, &log);
  if (!spawned.ok()) return spawned.status();
  by_pid_[spawned->pid] = request.run_id;
  by_run_[request.run_id] = Active{spawned->pid, request.config->state_dir, std::move(log)};
  return spawned;
}

Result<SpawnedProcess> ProcessExecutor::SpawnLogged(SpawnSpec& spec, const std::string& log_path,
                                                    std::uint64_t log_max_bytes,
                                                    std::unique_ptr<LogCapture>* log) {
  auto capture = LogCapture::Open(io_, log_path, log_max_bytes);
  if (!capture.ok()) return capture.status();
  spec.output_fd = (*capture)->write_fd();
  auto spawned = launcher_->Spawn(spec);
  (*capture)->CloseWriteEnd();  // the child has its copy; EOF must depend on it alone
  if (!spawned.ok()) {
    (*capture)->Finish();
    return spawned.status();
  }
  (*capture)->Start();
  *log = std::move(capture).value();
  return spawned;
}

void ProcessExecutor::Signal(std::int64_t run_id, int sig) {
  auto it = by_run_.find(run_id);
  if (it != by_run_.end()) launcher_->SignalGroup(it->second.pid, sig);
}

void ProcessExecutor::StartHook(const RunRequest& request, const std::vector<std::string>& argv,
                                const std::string& status) {
  auto spec = BuildSpec(request, argv, status);
  if (!spec.ok()) {
    spdlog::error("on_failure of job {}: {}", request.job().name, spec.message());
    return;
  }
  std::unique_ptr<LogCapture> log;
  auto spawned =
      SpawnLogged(*spec, request.log_path + ".on_failure", request.job().log_max_bytes, &log);
  if (!spawned.ok()) {
    spdlog::error("on_failure of job {}: {}", request.job().name, spawned.message());
    return;
  }
  spdlog::info("on_failure of job {} run {} started (pid {})", request.job().name, request.run_id,
               spawned->pid);
  hooks_[spawned->pid] = std::move(log);
}

bool ProcessExecutor::MayHaveLeftovers(pid_t pgid) const {
  // A live descendant of a finished job is either still in its process group or has an
  // ancestor that was orphaned to us (we are the child subreaper). Checking both is cheap;
  // the full /proc sweep for the run id costs milliseconds per exit on a busy host.
  if (::kill(-pgid, 0) == 0 || errno == EPERM) return true;
  auto children = ListOwnChildren();
  if (!children) return true;  // cannot tell: sweep
  for (pid_t pid : *children) {
    if (!by_pid_.count(pid) && !hooks_.count(pid) && !tools_.count(pid)) return true;
  }
  return false;
}

namespace {

// The first `limit` bytes of an in-memory file, then closes it.
std::string ReadAndClose(int fd, size_t limit) {
  std::string text(limit, '\0');
  const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
  ::close(fd);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return text;
}

}  // namespace

Status ProcessExecutor::StartTool(const std::vector<std::string>& argv,
                                  std::function<void(const ToolResult&)> done) {
  const int out = ::memfd_create("mlcron-tool-out", MFD_CLOEXEC);
  const int err = ::memfd_create("mlcron-tool-err", MFD_CLOEXEC);
  if (out < 0 || err < 0) {
    const int e = errno;
    if (out >= 0) ::close(out);
    if (err >= 0) ::close(err);
    return Status::Error(std::string("memfd_create: ") + std::strerror(e));
  }
  SpawnSpec spec;
  spec.argv = argv;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos) spec.env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  ScrubNotifyEnv(spec.env);
  spec.output_fd = out;
  spec.error_fd = err;
  auto spawned = launcher_->Spawn(spec);
  if (!spawned.ok()) {
    ::close(out);
    ::close(err);
    return spawned.status();
  }
  tools_[spawned->pid] = Tool{out, err, std::move(done)};
  return Status::Ok();
}

void ProcessExecutor::OnReaped(const ExitInfo& exit) {
  if (auto tool = tools_.find(exit.pid); tool != tools_.end()) {
    Tool t = std::move(tool->second);
    tools_.erase(tool);
    constexpr size_t kLimit = 1 << 20;
    ToolResult result{exit, ReadAndClose(t.out_fd, kLimit), ReadAndClose(t.err_fd, kLimit)};
    t.done(result);
    return;
  }
  if (auto hook = hooks_.find(exit.pid); hook != hooks_.end()) {
    hook->second->Finish();
    hooks_.erase(hook);
    spdlog::info("on_failure hook pid {} exited ({})", exit.pid,
                 exit.exit_code ? "exit " + std::to_string(*exit.exit_code)
                                : "signal " + std::to_string(exit.signal.value_or(0)));
    return;
  }
  auto pit = by_pid_.find(exit.pid);
  if (pit == by_pid_.end()) return;  // an orphan reparented to us, or already handled
  const std::int64_t run_id = pit->second;
  by_pid_.erase(pit);
  auto rit = by_run_.find(run_id);
  if (rit == by_run_.end()) return;
  // The main process is gone: kill whatever it left behind (its group and any escaped
  // descendant carrying its run id), then drain the log without waiting for EOF.
  const int leftovers = MayHaveLeftovers(rit->second.pid)
                            ? KillRunProcesses(rit->second.pid, run_id, rit->second.state_dir)
                            : 0;
  if (leftovers > 0) {
    spdlog::warn("run {}: killed {} leftover processes of the job", run_id, leftovers);
  }
  rit->second.log->Finish();
  by_run_.erase(rit);
  on_exit_(run_id, exit);
}

}  // namespace mlcron
