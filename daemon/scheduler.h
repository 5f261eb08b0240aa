// The scheduler: decides which job occurrences start, wait, are skipped, retried, timed out
// or caught up, following DESIGN.md §4. It owns no I/O of its own: time comes from a Clock,
// processes from an Executor, durable state from a StateStore, and the caller (the event
// loop, or `mlcron run`) calls Pump() after every event and sleeps until NextDeadline().
// Single-threaded: all calls on the loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "daemon/clock.h"
#include "daemon/config.h"
#include "daemon/executor.h"
#include "daemon/job_lock.h"
#include "daemon/state_store.h"

namespace mlcron {

struct SchedulerOptions {
  // Scheduled mode fires the tiers' schedules; manual mode (mlcron run) runs only batches.
  bool scheduled = true;
  // mlcron run --wait: a job locked by another process is waited for, not refused.
  bool wait_for_locks = false;
  std::uint64_t jitter_seed = std::random_device{}();
};

// A snapshot for `mlcron status` and the control socket.
struct SchedulerStatus {
  struct Running {
    std::int64_t run_id;
    std::string job;
    Instant scheduled;
    int attempt;
    std::int64_t pid;
    Clock::TimePoint started;
  };
  struct Next {
    std::string job;
    std::optional<Instant> at;
    bool paused;
  };
  std::vector<Running> running;
  std::vector<Next> next;
  int pending = 0;
};

class Scheduler {
 public:
  using TimePoint = Clock::TimePoint;

  Scheduler(std::shared_ptr<const Config> config, StateStore* store, Executor* executor,
            const Clock* clock, JobLocks* locks, SchedulerOptions options = {});
  ~Scheduler();

  // Scheduled mode, at daemon start: marks runs left `running` by a dead daemon as
  // interrupted (killing their leftovers), queues their one retry, applies the catch-up
  // policy, and with run_now queues every job once at this second, in dependency order.
  Status Start(bool run_now);

  // Queues a batch: the named jobs at instant `at`, dependencies honoured only among the
  // batch's own jobs. Used by --run-now, `mlcron run` and `mlcron run JOB --at T`.
  // Returns the batch id.
  // `env` is added to the environment of the batch's runs (every attempt): how
  // POST /models/retrain passes MLCRON_FORCE_FULL and MLCRON_SEGMENT to one retrain.
  int QueueBatch(const std::vector<size_t>& job_indices, Instant at, const std::string& trigger,
                 const std::map<std::string, std::string>& env = {});
  // The run id of `job` in `batch` once it has started; nullopt while it waits (or after it
  // settled).
  std::optional<std::int64_t> BatchRunId(int batch, const std::string& job) const;

  // Does everything that is due now. Call after every event.
  void Pump();
  // When Pump() next has something to do; nullopt when nothing is scheduled.
  std::optional<TimePoint> NextDeadline() const;

  // A run's main process exited (from the reaper, through the executor).
  void OnRunExit(std::int64_t run_id, const ExitInfo& exit);

  // Swaps in a validated config. Running runs keep their snapshot; waiting occurrences move
  // to the new one (or are skipped if their job is gone); schedules that changed restart
  // from now. Never fires a job. Returns a line per change for the log.
  std::vector<std::string> Reload(std::shared_ptr<const Config> config);

  // Pause/resume a job or a tier by name. Paused occurrences are recorded as skipped.
  Status Pause(const std::string& name);
  Status Resume(const std::string& name);
  // Kills a running run: SIGTERM, then SIGKILL after kill_grace. Recorded as killed.
  Status Kill(std::int64_t run_id);

  // Shutdown: start nothing new and SIGTERM every running run (SIGKILL after kill_grace).
  // Runs that end this way are recorded as interrupted, so the next start retries them.
  void BeginShutdown();
  bool Idle() const;  // nothing running or waiting
  bool AnyFailed() const {
    return any_failed_;
  }  // a run failed for good, or was skipped
     // because an upstream did
  SchedulerStatus GetStatus() const;
  const Config& config() const { return *config_; }

 private:
  struct Occurrence;
  struct JobState;

  void CreateDueOccurrences(TimePoint now);
  // A waiting occurrence of config job `job_index` at `t`, bound to the live config.
  std::unique_ptr<Occurrence> NewOccurrence(size_t job_index, Instant t,
                                            const std::string& trigger) const;
  void AddOccurrence(std::unique_ptr<Occurrence> occ);
  void EvaluateWaiting(TimePoint now);
  void StartReady(TimePoint now);
  void EnforceTimeouts(TimePoint now);
  bool StartOne(Occurrence& occ, TimePoint now);
  void Settle(Occurrence& occ, RunStatus status, const std::string& reason);
  void RecordSkip(const std::string& job, Instant scheduled, const std::string& trigger,
                  RunStatus status, const std::string& reason, int attempt = 1);
  void MaybeRetry(Occurrence& occ, TimePoint now);
  void Prune(TimePoint now);
  void PruneSnapshots(TimePoint now);
  void Compact();  // drops settled (null) occurrences; never called mid-iteration
  void NoteBatchResult(const Occurrence& occ, RunStatus status);
  void RecoverInterrupted();
  void CatchUp(TimePoint now);
  bool IsPaused(const JobConfig& job) const;
  std::chrono::seconds RetryDelay(const JobConfig& job, int failed_attempt);

  // Dependency binding (§4): Ready, Wait, or Skip with a reason.
  enum class DepVerdict { kReady, kWait, kSkip };
  DepVerdict CheckUpstreams(const Occurrence& occ, std::string* reason);
  std::optional<Instant> NextInstant(const JobConfig& job, Instant after) const;

  std::shared_ptr<const Config> config_;
  StateStore* store_;
  Executor* executor_;
  const Clock* clock_;
  JobLocks* locks_;
  SchedulerOptions options_;
  std::mt19937_64 rng_;

  std::map<std::string, JobState> jobs_;                  // by job name
  std::vector<std::unique_ptr<Occurrence>> occurrences_;  // waiting or running
  std::set<std::string> paused_;
  int next_batch_ = 1;
  // Batch id → its jobs, with their final status once settled.
  std::map<int, std::map<std::string, std::optional<RunStatus>>> batches_;
  bool shutting_down_ = false;
  bool any_failed_ = false;
  TimePoint last_prune_{};
};

}  // namespace mlcron
