#include "daemon/reaper.h"

#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>

namespace mlcron {
namespace {

double Seconds(const struct timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

}  // namespace

std::vector<ExitInfo> ReapExited() {
  std::vector<ExitInfo> reaped;
  // wait4(-1) rather than Boost's per-child wait: we also reap orphans reparented to us as
  // a subreaper, and wait4 returns each child's own rusage (its CPU time, including its
  // reaped descendants) without touching anyone else's.
  for (;;) {
    int status = 0;
    struct rusage usage {};
    pid_t pid = ::wait4(-1, &status, WNOHANG, &usage);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) break;  // 0: children remain but none exited; ECHILD: no children
    ExitInfo info;
    info.pid = pid;
    if (WIFEXITED(status)) {
      info.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      info.signal = WTERMSIG(status);
    }
    info.cpu_user_s = Seconds(usage.ru_utime);
    info.cpu_sys_s = Seconds(usage.ru_stime);
    reaped.push_back(info);
  }
  return reaped;
}

}  // namespace mlcron
