// The executor seam between the scheduler and real processes. The scheduler decides what
// runs when; an Executor starts the run's process, signals it, and reports its exit through
// the callback it was built with. ProcessExecutor is the real one; tests use a fake.
// Loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/process_launcher.h"
#include "daemon/reaper.h"
#include "daemon/status.h"

namespace mlcron {

struct RunRequest {
  std::int64_t run_id = 0;
  std::shared_ptr<const Config> config;  // the snapshot that scheduled this run
  size_t job_index = 0;
  Instant scheduled{};
  int attempt = 1;
  std::string log_path;
  std::map<std::string, std::string> env;  // added last (QueueBatch's env)
  const JobConfig& job() const { return config->jobs[job_index]; }
};

class Executor {
 public:
  using ExitCallback = std::function<void(std::int64_t run_id, const ExitInfo& exit)>;
  virtual ~Executor() = default;
  // Starts the run's main process in its own process group.
  virtual Result<SpawnedProcess> Start(const RunRequest& request) = 0;
  // Signals the run's process group (SIGTERM at timeout, SIGKILL after kill_grace).
  virtual void Signal(std::int64_t run_id, int sig) = 0;
  // Starts `on_failure` for a run that failed for good. Fire and forget: its exit is reaped
  // and logged, never retried.
  virtual void StartHook(const RunRequest& request, const std::vector<std::string>& argv,
                         const std::string& status) = 0;
};

}  // namespace mlcron
