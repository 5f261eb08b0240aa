// Reaping. One SIGCHLD handler calls ReapExited(), which waits for every exited child with
// wait4(-1, WNOHANG): Boost.Process 1.74 reaps only the pids it launched, and as a child
// subreaper we also inherit orphans that must not stay zombies. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <optional>
#include <vector>

namespace mlcron {

struct ExitInfo {
  pid_t pid = 0;
  std::optional<int> exit_code;  // WEXITSTATUS when exited normally
  std::optional<int> signal;     // WTERMSIG when killed by a signal
  double cpu_user_s = 0;
  double cpu_sys_s = 0;
};

// Reaps every child that has exited; never blocks.
std::vector<ExitInfo> ReapExited();

}  // namespace mlcron
