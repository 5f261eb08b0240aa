// Private to the scheduler's .cc files: an occurrence in flight and per-job schedule state.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "daemon/scheduler.h"

namespace mlcron {

// At most this many missed occurrences per job are recorded one by one at a start or after
// the loop was held up; beyond that the log gives the count. An `every: 1s` job down for a
// day must not write 86,400 rows.
inline constexpr int kMaxMissedRows = 100;
inline constexpr int kMaxCatchupScan = kMaxMissedRows;

// One (job, scheduled instant) that is waiting or running. Settled occurrences live only
// in the state store.
struct Scheduler::Occurrence {
  std::shared_ptr<const Config> config;  // waiting: the live config; running: its snapshot
  size_t job_index = 0;
  std::string job;
  Instant scheduled{};
  std::string trigger;  // schedule | catchup | recovery | run-now | manual | retry
  int batch = 0;        // 0: a scheduled occurrence; otherwise the batch that queued it
  std::map<std::string, std::string> env;  // a batch's additions to its runs' environment
  // Scheduled occurrences give up waiting for upstreams at the job's next occurrence;
  // catch-up, recovery and batch occurrences wait as long as it takes.
  std::optional<TimePoint> deadline;
  int attempt = 1;
  TimePoint not_before{};  // retry delay
  std::optional<TimePoint> lock_retry_at;

  bool running = false;
  std::int64_t run_id = 0;
  std::int64_t pid = 0;
  TimePoint started{};
  std::optional<TimePoint> term_at;        // SIGTERM at timeout
  std::optional<TimePoint> kill_at;        // SIGKILL after kill_grace
  std::optional<RunStatus> forced_status;  // timed_out, killed or interrupted
  std::string forced_reason;

  const JobConfig& job_config() const { return config->jobs[job_index]; }
};

inline Instant FloorSeconds(Clock::TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t);
}

// What identifies a job's schedule for reload: zone and schedule text.
inline std::string ScheduleKey(const Config& config, const JobConfig& job) {
  return config.timezone_name + " " + config.TierOf(job).schedule.ToString();
}

struct Scheduler::JobState {
  std::optional<Instant> next_due;  // the next scheduled instant not yet handled
  std::string schedule_key;         // detects schedule changes on reload
};

}  // namespace mlcron
