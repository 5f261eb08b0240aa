// The process-launch seam. A launcher starts a child without a shell, in its own process
// group, with a clean signal mask, default SIGPIPE, fds >= 3 closed, and optional nice and
// memory rlimits. It never waits for or reaps a child: the Reaper does that for every pid.
// Boost.Process stays inside the implementation. Not thread-safe; use from the loop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/status.h"

namespace mlcron {

// Every child carries this variable (set to its run id); descendants inherit it, which is
// how escaped grandchildren are found and killed after their job ends.
inline constexpr char kRunIdEnv[] = "MLCRON_RUN_ID";
// Run ids are unique only within one state directory, so the marker is this pair: two
// daemons with their own state directories both have a run 1.
inline constexpr char kStateDirEnv[] = "MLCRON_STATE_DIR";

struct SpawnSpec {
  std::vector<std::string> argv;           // argv[0] is looked up in PATH when it has no '/'
  std::map<std::string, std::string> env;  // the child's whole environment
  std::string cwd;                         // empty: the daemon's cwd
  std::optional<int> nice;
  std::optional<std::uint64_t> memory_max_bytes;  // RLIMIT_AS
  int output_fd = -1;  // dup'ed onto stdout and stderr; -1 means /dev/null. stdin is /dev/null.
  int error_fd = -1;   // when >= 0, stderr goes here instead of output_fd
};

struct SpawnedProcess {
  pid_t pid = 0;  // also the process group id
  std::uint64_t start_ticks = 0;
};

class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  // Errors: "cannot start \"/no/such\": No such file or directory".
  virtual Result<SpawnedProcess> Spawn(const SpawnSpec& spec) = 0;
  // kill(-pgid, sig); ESRCH is not an error.
  virtual void SignalGroup(pid_t pgid, int sig) = 0;
};

std::unique_ptr<ProcessLauncher> MakeBoostProcessLauncher();

}  // namespace mlcron
