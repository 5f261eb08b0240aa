#include "jobs/replay_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "daemon/argv_expand.h"
#include "daemon/process_launcher.h"
#include "daemon/time_format.h"

extern char** environ;

namespace mlcron {
namespace {

std::map<std::string, std::string> Environment(const Config& config, const JobConfig& job,
                                               const std::string& scheduled,
                                               const std::string& run_id,
                                               const std::string& policy) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    if (size_t eq = kv.find('='); eq != std::string::npos)
      env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : job.env) env[k] = v;
  env[kRunIdEnv] = run_id;
  env[kStateDirEnv] = config.state_dir;
  env["MLCRON_JOB"] = job.name;
  env["MLCRON_SCHEDULED"] = scheduled;
  env["MLCRON_ATTEMPT"] = "1";
  env["MLCRON_CONFIG_ORIGIN"] = config.path;
  env["MLCRON_DATA"] = config.data_path;
  env["MLCRON_REPLAY"] = policy;  // a script may behave differently in a replay
  return env;
}

// Waits for the child, killing its group after the job's timeout (and kill_grace).
Result<int> Wait(ProcessLauncher& launcher, const JobConfig& job, pid_t pid) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  bool terminated = false;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (terminated)
        return Status::Error("timed out after " + std::to_string(job.timeout.count()) + " s");
      if (WIFSIGNALED(status))
        return Status::Error("killed by signal " + std::to_string(WTERMSIG(status)));
      return WEXITSTATUS(status);
    }
    if (r < 0) return Status::Error(std::string("waitpid: ") + std::strerror(errno));
    const auto elapsed = Clock::now() - start;
    if (job.timeout.count() > 0 && !terminated && elapsed > job.timeout) {
      launcher.SignalGroup(pid, SIGTERM);
      terminated = true;
    }
    if (terminated && elapsed > job.timeout + job.kill_grace) launcher.SignalGroup(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

Status RunReplayCommand(const Config& config, const JobConfig& job, Instant at,
                        const std::string& run_id, const std::string& policy,
                        const std::string& log_path, std::ostream& log) {
  const std::string iso = FormatInstant(at, config.tz);
  Result<std::vector<std::string>> argv = ExpandArgv(job.argv, {{"date", iso.substr(0, 10)},
                                                                {"time", iso.substr(11, 8)},
                                                                {"scheduled", iso},
                                                                {"run_id", run_id},
                                                                {"job", job.name},
                                                                {"status", ""}});
  if (!argv.ok()) return argv.status();
  SpawnSpec spec;
  spec.argv = job.shell ? std::vector<std::string>{"/bin/sh", "-c", (*argv)[0]} : *argv;
  spec.env = Environment(config, job, iso, run_id, policy);
  spec.cwd = job.cwd.empty() ? config.base_dir : job.cwd;
  spec.nice = job.nice;
  spec.memory_max_bytes = job.memory_max_bytes;
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return Status::Error(log_path + ": " + std::strerror(errno));
  spec.output_fd = fd;
  std::unique_ptr<ProcessLauncher> launcher = MakeBoostProcessLauncher();
  Result<SpawnedProcess> child = launcher->Spawn(spec);
  ::close(fd);
  if (!child.ok()) return child.status();
  Result<int> code = Wait(*launcher, job, child->pid);
  std::ifstream output(log_path);
  log << output.rdbuf();
  if (!code.ok()) return code.status();
  if (*code != 0) return Status::Error("exit code " + std::to_string(*code));
  return Status::Ok();
}

}  // namespace mlcron
