// One row of run history: one attempt of one job occurrence (job, scheduled instant).
// Plain data; the state store persists it, the scheduler fills it in.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/schedule.h"

namespace mlcron {

enum class RunStatus {
  kRunning,      // the row is written before the child starts
  kSucceeded,    // exit 0
  kFailed,       // non-zero exit, killed by a signal, or could not start
  kTimedOut,     // killed after `timeout`
  kKilled,       // `mlcron kill`, `overlap: replace`, or daemon shutdown
  kSkipped,      // never started: upstream failed, overlap skip, paused, ...; reason says why
  kMissed,       // came due while the daemon was down, outside the catch-up policy
  kInterrupted,  // the daemon died while it ran; retried once
};

std::string_view RunStatusName(RunStatus s);  // "running", "succeeded", "timed_out", ...
std::optional<RunStatus> ParseRunStatus(std::string_view name);
// True for succeeded/failed/timed_out/killed/skipped/missed: the occurrence is settled.
bool IsFinal(RunStatus s);

struct RunRecord {
  using TimePoint = std::chrono::system_clock::time_point;

  std::int64_t id = 0;  // assigned by the store
  std::string job;
  Instant scheduled{};
  std::string trigger = "schedule";  // schedule | catchup | run-now | manual | retry
  int attempt = 1;
  RunStatus status = RunStatus::kRunning;
  std::string reason;  // why skipped/failed, human-readable
  std::optional<TimePoint> started;
  std::optional<TimePoint> ended;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::int64_t pid = 0;
  std::uint64_t pid_start_ticks = 0;  // /proc/<pid>/stat field 22, guards against pid reuse
  std::string boot_id;
  std::string log_path;
  double cpu_user_s = 0;
  double cpu_sys_s = 0;
  std::string config_sha;  // the snapshot the child was given
};

}  // namespace mlcron
