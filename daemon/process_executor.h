// The real Executor: builds each run's argv and environment, captures its output into
// log_dir/<job>/<run_id>.log, and starts it through a ProcessLauncher. When the reaper
// reports a run's pid, it drains the log, kills the run's escaped descendants, and calls
// the exit callback. Loop thread only.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "daemon/executor.h"
#include "daemon/log_capture.h"

namespace boost::asio {
class io_context;
}

namespace mlcron {

class ProcessExecutor final : public Executor {
 public:
  // `mlcron_path` is the CLI binary that built-in job kinds run as `mlcron job <kind> ...`.
  ProcessExecutor(boost::asio::io_context& io, ProcessLauncher* launcher, std::string mlcron_path,
                  ExitCallback on_exit);
  ~ProcessExecutor() override;

  Result<SpawnedProcess> Start(const RunRequest& request) override;
  void Signal(std::int64_t run_id, int sig) override;
  void StartHook(const RunRequest& request, const std::vector<std::string>& argv,
                 const std::string& status) override;

  // A short helper process the daemon itself needs, such as `mlcron models promote ... --json`
  // for the API. Its stdout and stderr go to anonymous in-memory files, read back (up to 1 MiB
  // each) when the reaper reports its exit; `done` then runs on the loop thread.
  struct ToolResult {
    ExitInfo exit;
    std::string out, err;
  };
  Status StartTool(const std::vector<std::string>& argv,
                   std::function<void(const ToolResult&)> done);

  // Called with every reaped child; unknown pids (orphans, hooks) are ignored.
  void OnReaped(const ExitInfo& exit);
  size_t running() const { return by_run_.size(); }

 private:
  struct Active {
    pid_t pid = 0;
    std::string state_dir;  // scopes the run id when sweeping for leftovers
    std::unique_ptr<LogCapture> log;
  };
  bool MayHaveLeftovers(pid_t pgid) const;
  // Opens the log capture, spawns `spec` writing into it, and starts reading; on success
  // `*log` owns the capture.
  Result<SpawnedProcess> SpawnLogged(SpawnSpec& spec, const std::string& log_path,
                                     std::uint64_t log_max_bytes, std::unique_ptr<LogCapture>* log);
  Result<SpawnSpec> BuildSpec(const RunRequest& request, const std::vector<std::string>& argv,
                              const std::string& status);

  boost::asio::io_context& io_;
  ProcessLauncher* launcher_;
  std::string mlcron_path_;
  ExitCallback on_exit_;
  std::map<std::int64_t, Active> by_run_;
  std::map<pid_t, std::int64_t> by_pid_;
  std::map<pid_t, std::unique_ptr<LogCapture>> hooks_;
  struct Tool {
    int out_fd = -1, err_fd = -1;
    std::function<void(const ToolResult&)> done;
  };
  std::map<pid_t, Tool> tools_;
};

// The path of the `mlcron` binary installed beside the running executable.
std::string SiblingBinary(const std::string& name);

}  // namespace mlcron
