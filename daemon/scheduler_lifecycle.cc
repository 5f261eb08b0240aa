// The scheduler at its edges: start-up (crash recovery, catch-up, --run-now), reload,
// operator control (pause, resume, kill) and shutdown.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "daemon/duration.h"
#include "daemon/proc.h"
#include "daemon/scheduler.h"
#include "daemon/scheduler_types.h"
#include "daemon/time_format.h"

namespace mlcron {
namespace {

using std::chrono::seconds;

}  // namespace

Status Scheduler::Start(bool run_now) {
  auto paused = store_->PausedNames();
  if (!paused.ok()) return paused.status();
  paused_.insert(paused->begin(), paused->end());
  for (const auto& name : paused_) spdlog::info("{} is paused", name);

  RecoverInterrupted();
  if (options_.scheduled) CatchUp(clock_->Now());
  if (run_now) {
    std::vector<size_t> all(config_->jobs.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    spdlog::info("--run-now: running all {} jobs once, in dependency order", all.size());
    QueueBatch(all, FloorSeconds(clock_->Now()), "run-now");
  }
  return Status::Ok();
}

void Scheduler::RecoverInterrupted() {
  RunFilter filter;
  filter.status = RunStatus::kRunning;
  filter.limit = 0;
  auto left = store_->ListRuns(filter);
  if (!left.ok()) {
    spdlog::error("crash recovery: {}", left.message());
    return;
  }
  const std::string boot_id = ReadBootId();
  for (RunRecord run : *left) {
    // A `mlcron run` in another process holds the job's lock while its run is live: that
    // row is not a crash leftover.
    if (!locks_->TryLock(run.job)) {
      spdlog::info("job {} run {} is live in another process (its lock is held); left alone",
                   run.job, run.id);
      continue;
    }
    locks_->Unlock(run.job);
    // Only touch the recorded process if it is provably the same one: same boot, same pid
    // start time. A reused pid belongs to someone else.
    int killed = 0;
    if (run.pid > 0 && run.boot_id == boot_id &&
        ReadStartTicks(static_cast<pid_t>(run.pid)) == run.pid_start_ticks) {
      killed = KillRunProcesses(static_cast<pid_t>(run.pid), run.id, config_->state_dir);
    } else if (run.boot_id == boot_id || run.pid == 0) {
      // The main process is gone (or never recorded): only the marked descendants remain.
      killed = KillRunProcesses(0, run.id, config_->state_dir);
    }
    run.status = RunStatus::kInterrupted;
    run.reason = "mlcrond stopped while it ran (pid " + std::to_string(run.pid) + ")";
    if (killed > 0) run.reason += "; killed " + std::to_string(killed) + " leftover processes";
    run.ended = clock_->Now();
    if (run.log_path.empty()) {
      run.log_path = config_->log_dir + "/" + run.job + "/" + std::to_string(run.id) + ".log";
    }
    if (Status s = store_->FinishRun(run); !s.ok())
      spdlog::error("crash recovery: {}", s.message());
    spdlog::warn("job {} run {}: {}", run.job, run.id, run.reason);
  }

  // Every interrupted occurrence is retried once: its latest attempt is the interrupted
  // one, and it was not itself a recovery attempt.
  RunFilter interrupted;
  interrupted.status = RunStatus::kInterrupted;
  interrupted.limit = 1000;
  auto runs = store_->ListRuns(interrupted);
  if (!runs.ok()) return;
  std::reverse(runs->begin(), runs->end());  // oldest first
  for (const RunRecord& run : *runs) {
    auto index = config_->JobIndex(run.job);
    if (!index || run.trigger == "recovery") continue;
    auto attempts = store_->OccurrenceRuns(run.job, run.scheduled);
    if (!attempts.ok() || attempts->empty() || attempts->back().id != run.id) continue;
    const bool finished = std::any_of(attempts->begin(), attempts->end(), [](const auto& r) {
      return r.status == RunStatus::kSucceeded;
    });
    if (finished) continue;  // a finished occurrence never starts again
    auto occ = NewOccurrence(*index, run.scheduled, "recovery");
    occ->attempt = run.attempt + 1;
    spdlog::info("job {}: retrying the interrupted occurrence {} once", run.job,
                 FormatInstant(run.scheduled, config_->tz));
    AddOccurrence(std::move(occ));
  }
}

void Scheduler::CatchUp(TimePoint now) {
  const Instant now_s = FloorSeconds(now);
  for (size_t i = 0; i < config_->jobs.size(); ++i) {
    const JobConfig& job = config_->jobs[i];
    const Schedule& schedule = config_->TierOf(job).schedule;
    JobState& state = jobs_[job.name];
    state.next_due = schedule.NextAfter(now_s, config_->tz);

    auto last = store_->LastOccurrence(job.name);
    if (!last.ok()) {
      spdlog::error("job {}: {}", job.name, last.message());
      continue;
    }
    if (!*last) {
      // A job new to this state directory starts from now; record that, so an occurrence
      // missed before its first run is still caught up after a restart.
      (void)store_->SetLastOccurrence(job.name, now_s);
      continue;
    }
    // Walk back from the newest due instant to the last handled one.
    std::vector<Instant> missed;  // newest first
    bool more = false;
    for (auto t = schedule.PrevAtOrBefore(now_s, config_->tz); t && *t > **last;
         t = schedule.PrevAtOrBefore(*t - seconds(1), config_->tz)) {
      if (missed.size() == static_cast<size_t>(kMaxCatchupScan)) {
        more = true;
        break;
      }
      missed.push_back(*t);
    }
    if (missed.empty()) continue;
    const Instant window_start = now_s - job.catchup_window;
    size_t runs = 0;
    switch (job.catchup) {
      case Catchup::kNone:
        runs = 0;
        break;
      case Catchup::kLatest:
        runs = 1;
        break;
      case Catchup::kAll:
        runs = static_cast<size_t>(job.max_catchup);
        break;
    }
    std::vector<Instant> to_run;
    for (size_t k = missed.size(); k-- > 0;) {  // oldest first
      const Instant t = missed[k];
      std::string why;
      if (t <= window_start) {
        why = "outside catchup_window " + FormatDuration(job.catchup_window);
      } else if (k >= runs) {
        why = job.catchup == Catchup::kNone ? "catchup: none"
              : job.catchup == Catchup::kLatest
                  ? "catchup: latest runs only the newest missed occurrence"
                  : "beyond max_catchup " + std::to_string(job.max_catchup);
      }
      if (why.empty()) {
        to_run.push_back(t);
      } else {
        RecordSkip(job.name, t, "catchup", RunStatus::kMissed, "mlcrond was down; " + why);
      }
    }
    if (more) {
      spdlog::warn("job {}: more than {} occurrences missed; older ones not recorded", job.name,
                   kMaxCatchupScan);
    }
    for (Instant t : to_run) {
      if (IsPaused(job)) {
        RecordSkip(job.name, t, "catchup", RunStatus::kSkipped, "paused");
        continue;
      }
      spdlog::info("job {}: catching up the occurrence {}", job.name,
                   FormatInstant(t, config_->tz));
      auto occ = NewOccurrence(i, t, "catchup");
      // Not AddOccurrence(): its overlap policy would skip every catch-up occurrence but the
      // first as "still waiting". They run one at a time, oldest first, as StartReady never
      // starts a job twice at once.
      occurrences_.push_back(std::move(occ));
    }
  }
}

std::vector<std::string> Scheduler::Reload(std::shared_ptr<const Config> config) {
  std::vector<std::string> changes;
  const auto old = config_;
  config_ = std::move(config);
  const Instant now_s = FloorSeconds(clock_->Now());

  std::map<std::string, JobState> next_jobs;
  for (const auto& job : config_->jobs) {
    JobState state;
    state.schedule_key = ScheduleKey(*config_, job);
    auto it = jobs_.find(job.name);
    if (it != jobs_.end() && it->second.schedule_key == state.schedule_key) {
      state.next_due = it->second.next_due;
    } else {
      state.next_due = config_->TierOf(job).schedule.NextAfter(now_s, config_->tz);
      const std::string next =
          state.next_due ? FormatInstant(*state.next_due, config_->tz) : "never";
      if (it == jobs_.end()) {
        changes.push_back("job " + job.name + " added: " + state.schedule_key + ", next " + next);
        (void)store_->SetLastOccurrence(job.name, now_s);
      } else {
        changes.push_back("job " + job.name + " rescheduled: " + it->second.schedule_key + " -> " +
                          state.schedule_key + ", next " + next);
      }
    }
    next_jobs.emplace(job.name, std::move(state));
  }
  for (const auto& [name, state] : jobs_) {
    if (!next_jobs.count(name)) changes.push_back("job " + name + " removed");
  }
  jobs_ = std::move(next_jobs);

  // Waiting occurrences follow the new config; running ones keep the snapshot they started
  // with.
  for (auto& occ : occurrences_) {
    if (!occ || occ->running) continue;
    auto index = config_->JobIndex(occ->job);
    if (!index) {
      Settle(*occ, RunStatus::kSkipped, "job removed from the config before it started");
      continue;
    }
    occ->config = config_;
    occ->job_index = *index;
  }
  Compact();
  if (changes.empty()) changes.push_back("no schedule changes");
  return changes;
}

Status Scheduler::Pause(const std::string& name) {
  if (!config_->FindJob(name) && !config_->FindTier(name)) {
    return Status::Error("no job or tier named \"" + name + "\"");
  }
  if (Status s = store_->SetPaused(name, true); !s.ok()) return s;
  paused_.insert(name);
  spdlog::info("{} paused", name);
  return Status::Ok();
}

Status Scheduler::Resume(const std::string& name) {
  if (!paused_.count(name)) return Status::Error("\"" + name + "\" is not paused");
  if (Status s = store_->SetPaused(name, false); !s.ok()) return s;
  paused_.erase(name);
  spdlog::info("{} resumed", name);
  return Status::Ok();
}

Status Scheduler::Kill(std::int64_t run_id) {
  for (auto& occ : occurrences_) {
    if (!occ || !occ->running || occ->run_id != run_id) continue;
    if (!occ->forced_status) {
      occ->forced_status = RunStatus::kKilled;
      occ->forced_reason = "killed by mlcron kill";
    }
    executor_->Signal(run_id, SIGTERM);
    occ->term_at.reset();
    occ->kill_at = clock_->Now() + occ->job_config().kill_grace;
    spdlog::info("job {} run {}: kill requested; SIGTERM sent", occ->job, run_id);
    return Status::Ok();
  }
  return Status::Error("run " + std::to_string(run_id) + " is not running");
}

void Scheduler::BeginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  const auto now = clock_->Now();
  for (auto& occ : occurrences_) {
    if (!occ) continue;
    if (!occ->running) {
      if (occ->attempt > 1) {
        // A retry waiting out its delay: its earlier attempt is recorded as failed, so
        // record this one as interrupted for the next start to retry once.
        RecordSkip(occ->job, occ->scheduled, occ->trigger, RunStatus::kInterrupted,
                   "mlcrond shut down before this retry started", occ->attempt);
      }
      // Otherwise not started and not recorded: the next start's catch-up still sees it.
      occ.reset();
      continue;
    }
    // A run already being killed (mlcron kill, overlap: replace) is finished by a person's
    // or the policy's decision; recorded as interrupted, the next start would retry it.
    if (occ->forced_status != RunStatus::kKilled) {
      occ->forced_status = RunStatus::kInterrupted;
      occ->forced_reason = "mlcrond shut down";
    }
    executor_->Signal(occ->run_id, SIGTERM);
    occ->term_at.reset();
    occ->kill_at = now + occ->job_config().kill_grace;
  }
  Compact();
}

bool Scheduler::Idle() const {
  return std::none_of(occurrences_.begin(), occurrences_.end(),
                      [](const auto& o) { return o != nullptr; });
}

SchedulerStatus Scheduler::GetStatus() const {
  SchedulerStatus status;
  for (const auto& occ : occurrences_) {
    if (!occ) continue;
    if (occ->running) {
      status.running.push_back(
          {occ->run_id, occ->job, occ->scheduled, occ->attempt, occ->pid, occ->started});
    } else {
      ++status.pending;
    }
  }
  for (const auto& job : config_->jobs) {
    auto it = jobs_.find(job.name);
    status.next.push_back(
        {job.name, it == jobs_.end() ? std::nullopt : it->second.next_due, IsPaused(job)});
  }
  return status;
}

}  // namespace mlcron
