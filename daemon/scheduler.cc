// The scheduler's main cycle: create due occurrences, bind dependencies, start what is
// ready within max_parallel, enforce timeouts, settle exits and retries.
#include "daemon/scheduler.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "daemon/duration.h"
#include "daemon/proc.h"
#include "daemon/run_output.h"
#include "daemon/scheduler_types.h"
#include "daemon/time_format.h"

namespace mlcron {
namespace {

using std::chrono::seconds;

Clock::TimePoint ToTimePoint(Instant t) { return Clock::TimePoint(t.time_since_epoch()); }

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace

Scheduler::Scheduler(std::shared_ptr<const Config> config, StateStore* store, Executor* executor,
                     const Clock* clock, JobLocks* locks, SchedulerOptions options)
    : config_(std::move(config)),
      store_(store),
      executor_(executor),
      clock_(clock),
      locks_(locks),
      options_(options),
      rng_(options.jitter_seed) {
  for (const auto& job : config_->jobs) {
    jobs_[job.name].schedule_key = ScheduleKey(*config_, job);
  }
}

Scheduler::~Scheduler() = default;

std::optional<Instant> Scheduler::NextInstant(const JobConfig& job, Instant after) const {
  return config_->TierOf(job).schedule.NextAfter(after, config_->tz);
}

bool Scheduler::IsPaused(const JobConfig& job) const {
  return paused_.count(job.name) || paused_.count(config_->TierOf(job).name);
}

int Scheduler::QueueBatch(const std::vector<size_t>& job_indices, Instant at,
                          const std::string& trigger,
                          const std::map<std::string, std::string>& env) {
  const int batch = next_batch_++;
  for (size_t index : job_indices) batches_[batch][config_->jobs[index].name] = std::nullopt;
  for (size_t index : job_indices) {
    auto occ = NewOccurrence(index, at, trigger);
    occ->batch = batch;
    occ->env = env;
    AddOccurrence(std::move(occ));
  }
  return batch;
}

std::optional<std::int64_t> Scheduler::BatchRunId(int batch, const std::string& job) const {
  for (const auto& occ : occurrences_) {
    if (occ && occ->batch == batch && occ->job == job && occ->running) return occ->run_id;
  }
  return std::nullopt;
}

std::unique_ptr<Scheduler::Occurrence> Scheduler::NewOccurrence(size_t job_index, Instant t,
                                                                const std::string& trigger) const {
  auto occ = std::make_unique<Occurrence>();
  occ->config = config_;
  occ->job_index = job_index;
  occ->job = config_->jobs[job_index].name;
  occ->scheduled = t;
  occ->trigger = trigger;
  return occ;
}

void Scheduler::AddOccurrence(std::unique_ptr<Occurrence> occ) {
  const JobConfig& job = occ->job_config();
  std::vector<Occurrence*> same;
  for (auto& other : occurrences_) {
    // Settled entries are null until the next Compact(); a replace below makes one.
    if (other && other->job == occ->job) same.push_back(other.get());
  }
  if (!same.empty()) {
    const std::string when = FormatInstant(occ->scheduled, config_->tz);
    switch (job.overlap) {
      case Overlap::kSkip: {
        const Occurrence* prev = same.front();
        const std::string why =
            prev->running ? "overlap: skip; run " + std::to_string(prev->run_id) + " still running"
                          : "overlap: skip; the occurrence at " +
                                FormatInstant(prev->scheduled, config_->tz) + " is still waiting";
        RecordSkip(occ->job, occ->scheduled, occ->trigger, RunStatus::kSkipped, why);
        NoteBatchResult(*occ, RunStatus::kSkipped);
        return;
      }
      case Overlap::kQueue: {
        for (Occurrence* other : same) {
          if (!other->running) {
            RecordSkip(occ->job, occ->scheduled, occ->trigger, RunStatus::kSkipped,
                       "overlap: queue holds one; the occurrence at " +
                           FormatInstant(other->scheduled, config_->tz) + " is already waiting");
            NoteBatchResult(*occ, RunStatus::kSkipped);
            return;
          }
        }
        spdlog::info("job {}: occurrence {} queued behind the running one", occ->job, when);
        break;
      }
      case Overlap::kReplace: {
        const auto now = clock_->Now();
        for (Occurrence* other : same) {
          const std::string why = "overlap: replace; replaced by the occurrence at " + when;
          if (other->running) {
            if (!other->forced_status) {
              other->forced_status = RunStatus::kKilled;
              other->forced_reason = why;
              executor_->Signal(other->run_id, SIGTERM);
              other->term_at.reset();  // as Kill(): the timeout must not signal it again
              other->kill_at = now + other->job_config().kill_grace;
              spdlog::info("job {}: run {} replaced; SIGTERM sent", other->job, other->run_id);
            }
          } else {
            Settle(*other, RunStatus::kSkipped, why);
          }
        }
        break;
      }
    }
  }
  occurrences_.push_back(std::move(occ));
}

void Scheduler::CreateDueOccurrences(TimePoint now) {
  if (!options_.scheduled || shutting_down_) return;
  const Instant now_s = FloorSeconds(now);
  for (size_t i = 0; i < config_->jobs.size(); ++i) {
    const JobConfig& job = config_->jobs[i];
    JobState& state = jobs_[job.name];
    if (!state.next_due || *state.next_due > now_s) continue;
    // Normally exactly one instant is due. More mean the loop was held up (suspend, a clock
    // jump forward): the newest runs, the others are recorded as missed.
    std::vector<Instant> due;
    while (state.next_due && *state.next_due <= now_s && due.size() < kMaxMissedRows + 1) {
      due.push_back(*state.next_due);
      state.next_due = NextInstant(job, *state.next_due);
    }
    if (state.next_due && *state.next_due <= now_s) {
      spdlog::warn("job {}: more than {} occurrences overdue; older ones not recorded", job.name,
                   kMaxMissedRows);
      due.push_back(*config_->TierOf(job).schedule.PrevAtOrBefore(now_s, config_->tz));
      state.next_due = NextInstant(job, now_s);
    }
    for (size_t k = 0; k + 1 < due.size(); ++k) {
      RecordSkip(job.name, due[k], "schedule", RunStatus::kMissed,
                 "came due while the loop was held up (suspend or clock jump)");
    }
    const Instant t = due.back();
    if (IsPaused(job)) {
      RecordSkip(job.name, t, "schedule", RunStatus::kSkipped, "paused");
      continue;
    }
    auto occ = NewOccurrence(i, t, "schedule");
    if (state.next_due) occ->deadline = ToTimePoint(*state.next_due);
    AddOccurrence(std::move(occ));
  }
}

void Scheduler::EvaluateWaiting(TimePoint now) {
  // Upstreams come first in config order, so one pass in that order settles chains;
  // repeat while something settles, since a skip can unblock (or skip) a downstream.
  bool changed = true;
  while (changed) {
    changed = false;
    Compact();  // CreateDueOccurrences may have settled some (overlap: replace)
    std::stable_sort(occurrences_.begin(), occurrences_.end(), [](const auto& a, const auto& b) {
      if (a->scheduled != b->scheduled) return a->scheduled < b->scheduled;
      return a->job_index < b->job_index;
    });
    for (auto& occ : occurrences_) {
      if (!occ || occ->running || occ->not_before > now) continue;
      std::string reason;
      const DepVerdict verdict = CheckUpstreams(*occ, &reason);
      if (verdict == DepVerdict::kSkip) {
        any_failed_ = true;
        Settle(*occ, RunStatus::kSkipped, reason);
        changed = true;
      } else if (verdict == DepVerdict::kWait && occ->deadline && now >= *occ->deadline) {
        Settle(*occ, RunStatus::kSkipped, reason);
        changed = true;
      }
    }
    Compact();
  }
}

void Scheduler::StartReady(TimePoint now) {
  if (shutting_down_) return;
  int running = 0;
  for (const auto& occ : occurrences_) running += (occ && occ->running) ? 1 : 0;
  for (auto& occ : occurrences_) {
    if (!occ || occ->running || occ->not_before > now) continue;
    if (running >= config_->max_parallel) break;
    if (occ->lock_retry_at && *occ->lock_retry_at > now) continue;
    bool same_job_running = false;
    for (const auto& other : occurrences_) {
      if (other && other->running && other->job == occ->job) same_job_running = true;
    }
    if (same_job_running) continue;
    std::string reason;
    if (CheckUpstreams(*occ, &reason) != DepVerdict::kReady) continue;
    if (!locks_->TryLock(occ->job)) {
      if (occ->job_config().overlap == Overlap::kSkip && !options_.wait_for_locks) {
        Settle(*occ, RunStatus::kSkipped, "job is running in another process (mlcron run)");
      } else {
        // Nothing wakes us when another process drops its lock: look again in a second.
        occ->lock_retry_at = now + seconds(1);
      }
      continue;
    }
    occ->lock_retry_at.reset();
    if (StartOne(*occ, now)) ++running;
  }
  Compact();
}

bool Scheduler::StartOne(Occurrence& occ, TimePoint now) {
  const JobConfig& job = occ.job_config();
  RunRecord run;
  run.job = occ.job;
  run.scheduled = occ.scheduled;
  run.trigger = occ.trigger;
  run.attempt = occ.attempt;
  run.status = RunStatus::kRunning;
  run.started = now;
  run.config_sha = occ.config->sha256;
  // The running row is committed before the child exists (crash marker, §5).
  auto id = store_->InsertRun(run);
  if (!id.ok()) {
    spdlog::error("job {}: cannot record the run, not starting it: {}", occ.job, id.message());
    locks_->Unlock(occ.job);
    occ.not_before = now + seconds(5);
    return false;
  }
  occ.run_id = *id;
  if (occ.batch == 0) {
    if (Status s = store_->SetLastOccurrence(occ.job, occ.scheduled); !s.ok()) {
      spdlog::error("job {}: {}", occ.job, s.message());
    }
  }
  RunRequest request;
  request.run_id = occ.run_id;
  request.config = occ.config;
  request.job_index = occ.job_index;
  request.scheduled = occ.scheduled;
  request.attempt = occ.attempt;
  request.env = occ.env;
  request.log_path =
      occ.config->log_dir + "/" + occ.job + "/" + std::to_string(occ.run_id) + ".log";
  auto spawned = executor_->Start(request);
  occ.running = true;
  occ.started = now;
  if (!spawned.ok()) {
    spdlog::error("job {} run {}: {}", occ.job, occ.run_id, spawned.message());
    ExitInfo none;
    occ.forced_status = RunStatus::kFailed;
    occ.forced_reason = spawned.message();
    OnRunExit(occ.run_id, none);
    return false;
  }
  occ.pid = spawned->pid;
  if (Status s =
          store_->SetRunProcess(occ.run_id, spawned->pid, spawned->start_ticks, ReadBootId(), now);
      !s.ok()) {
    spdlog::error("job {} run {}: {}", occ.job, occ.run_id, s.message());
  }
  if (job.timeout.count() > 0) occ.term_at = now + job.timeout;
  spdlog::info("job {} run {} started: scheduled {}, attempt {}, trigger {}, pid {}", occ.job,
               occ.run_id, FormatInstant(occ.scheduled, config_->tz), occ.attempt, occ.trigger,
               occ.pid);
  return true;
}

void Scheduler::EnforceTimeouts(TimePoint now) {
  for (auto& occ : occurrences_) {
    if (!occ || !occ->running) continue;
    const JobConfig& job = occ->job_config();
    if (occ->term_at && now >= *occ->term_at && !occ->kill_at) {
      occ->forced_status = RunStatus::kTimedOut;
      occ->forced_reason = "timed out after " + FormatDuration(job.timeout);
      executor_->Signal(occ->run_id, SIGTERM);
      occ->kill_at = now + job.kill_grace;
      occ->term_at.reset();
      spdlog::warn("job {} run {}: {}; SIGTERM sent, SIGKILL in {}", occ->job, occ->run_id,
                   occ->forced_reason, FormatDuration(job.kill_grace));
    } else if (occ->kill_at && now >= *occ->kill_at) {
      executor_->Signal(occ->run_id, SIGKILL);
      occ->kill_at.reset();
      spdlog::warn("job {} run {}: still alive after kill_grace; SIGKILL sent", occ->job,
                   occ->run_id);
    }
  }
}

void Scheduler::OnRunExit(std::int64_t run_id, const ExitInfo& exit) {
  auto it = std::find_if(occurrences_.begin(), occurrences_.end(),
                         [&](const auto& o) { return o && o->running && o->run_id == run_id; });
  if (it == occurrences_.end()) return;
  Occurrence& occ = **it;
  const auto now = clock_->Now();
  locks_->Unlock(occ.job);

  RunRecord run;
  run.id = run_id;
  run.job = occ.job;
  run.scheduled = occ.scheduled;
  run.attempt = occ.attempt;
  run.ended = now;
  run.exit_code = exit.exit_code;
  run.signal = exit.signal;
  run.cpu_user_s = exit.cpu_user_s;
  run.cpu_sys_s = exit.cpu_sys_s;
  run.log_path = occ.config->log_dir + "/" + occ.job + "/" + std::to_string(run_id) + ".log";
  if (occ.forced_status &&
      !(exit.exit_code == 0 && *occ.forced_status == RunStatus::kInterrupted)) {
    run.status = *occ.forced_status;
    run.reason = occ.forced_reason;
  } else if (exit.exit_code == 0) {
    run.status = RunStatus::kSucceeded;
  } else {
    run.status = RunStatus::kFailed;
    run.reason = exit.exit_code ? "exit code " + std::to_string(*exit.exit_code)
                                : "killed by " + SignalName(exit.signal.value_or(0));
  }
  if (Status s = store_->FinishRun(run); !s.ok()) {
    spdlog::error("job {} run {}: {}", occ.job, run_id, s.message());
  }
  const double secs = std::chrono::duration<double>(now - occ.started).count();
  if (run.status == RunStatus::kSucceeded) {
    spdlog::info("job {} run {} succeeded in {:.3f}s (cpu {:.3f}s)", occ.job, run_id, secs,
                 exit.cpu_user_s + exit.cpu_sys_s);
  } else {
    spdlog::warn("job {} run {} {}: {} after {:.3f}s", occ.job, run_id, RunStatusName(run.status),
                 run.reason, secs);
  }
  // Built-in jobs print a few explained lines (decisions, counts); echo them. A command job's
  // output is the operator's and can be anything, so it stays in its log file.
  if (occ.job_config().kind != "command") {
    for (const std::string& line : ReadOutputHead(run.log_path)) {
      spdlog::info("job {} run {}: {}", occ.job, run_id, line);
    }
  }

  const bool failed = run.status == RunStatus::kFailed || run.status == RunStatus::kTimedOut;
  const JobConfig& job = occ.job_config();
  if (failed && occ.attempt <= job.retries && !shutting_down_) {
    // Retry the same occurrence: same scheduled instant, the next attempt.
    occ.running = false;
    occ.run_id = 0;
    occ.pid = 0;
    occ.forced_status.reset();
    occ.forced_reason.clear();
    occ.term_at.reset();
    occ.kill_at.reset();
    const auto delay = RetryDelay(job, occ.attempt);
    occ.attempt += 1;
    occ.trigger = "retry";
    occ.not_before = now + delay;
    spdlog::info("job {}: attempt {} in {}", occ.job, occ.attempt, FormatDuration(delay));
    return;
  }
  NoteBatchResult(occ, run.status);
  if (failed) {
    any_failed_ = true;
    if (!job.on_failure.empty()) {
      RunRequest request;
      request.run_id = run_id;
      request.config = occ.config;
      request.job_index = occ.job_index;
      request.scheduled = occ.scheduled;
      request.attempt = occ.attempt;
      request.log_path = run.log_path;
      executor_->StartHook(request, job.on_failure, std::string(RunStatusName(run.status)));
    }
  }
  it->reset();  // compacted by the next Pump(); we may be inside its loop now
  Prune(now);
}

std::chrono::seconds Scheduler::RetryDelay(const JobConfig& job, int failed_attempt) {
  // retry_delay doubles per attempt, capped at 1 h, plus up to 10% jitter so that jobs
  // failing together do not retry in lockstep.
  const double base = static_cast<double>(job.retry_delay.count()) *
                      std::pow(2.0, std::min(failed_attempt - 1, 20));
  const double capped = std::min(base, 3600.0);
  std::uniform_real_distribution<double> jitter(0.0, 0.1);
  return seconds(static_cast<std::int64_t>(std::llround(capped * (1.0 + jitter(rng_)))));
}

void Scheduler::Settle(Occurrence& occ, RunStatus status, const std::string& reason) {
  RecordSkip(occ.job, occ.scheduled, occ.trigger, status, reason, occ.attempt);
  NoteBatchResult(occ, status);
  for (auto& o : occurrences_) {
    if (o.get() == &occ) o.reset();
  }
}

void Scheduler::RecordSkip(const std::string& job, Instant scheduled, const std::string& trigger,
                           RunStatus status, const std::string& reason, int attempt) {
  RunRecord run;
  run.job = job;
  run.attempt = attempt;
  run.scheduled = scheduled;
  run.trigger = trigger;
  run.status = status;
  run.reason = reason;
  run.ended = clock_->Now();
  run.config_sha = config_->sha256;
  auto id = store_->InsertRun(run);
  if (!id.ok())
    spdlog::error("job {}: cannot record {}: {}", job, RunStatusName(status), id.message());
  if (trigger == "schedule" || trigger == "catchup") {
    if (Status s = store_->SetLastOccurrence(job, scheduled); !s.ok()) {
      spdlog::error("job {}: {}", job, s.message());
    }
  }
  spdlog::info("job {} {} {}: {}", job, FormatInstant(scheduled, config_->tz),
               RunStatusName(status), reason);
}

void Scheduler::Pump() {
  Compact();
  const auto now = clock_->Now();
  // Settle waits whose deadline (the job's next occurrence) has come before that next
  // occurrence is created, so the stale one is skipped, not the new one.
  EvaluateWaiting(now);
  CreateDueOccurrences(now);
  EnforceTimeouts(now);
  EvaluateWaiting(now);
  StartReady(now);
  Compact();
}

void Scheduler::PruneSnapshots(TimePoint now) {
  // Snapshots older than history_keep belong only to pruned runs; the live config's stays.
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::path(config_->state_dir) / "configs";
  const auto cutoff = now - config_->history_keep;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().stem() == config_->sha256) continue;
    std::error_code time_ec;
    const auto mtime = std::chrono::file_clock::to_sys(it->last_write_time(time_ec));
    if (!time_ec && mtime < cutoff) fs::remove(it->path(), time_ec);
  }
}

void Scheduler::Compact() {
  std::erase_if(occurrences_, [](const auto& o) { return o == nullptr; });
}

void Scheduler::NoteBatchResult(const Occurrence& occ, RunStatus status) {
  if (occ.batch != 0) batches_[occ.batch][occ.job] = status;
}

std::optional<Scheduler::TimePoint> Scheduler::NextDeadline() const {
  std::optional<TimePoint> best;
  auto consider = [&](std::optional<TimePoint> t) {
    if (t && (!best || *t < *best)) best = t;
  };
  if (options_.scheduled && !shutting_down_) {
    for (const auto& [name, state] : jobs_) {
      if (state.next_due) consider(ToTimePoint(*state.next_due));
    }
  }
  // A waiting occurrence's times count only while ahead of now. Once passed, it is blocked
  // by max_parallel or a run of its own job, and that run's exit wakes the loop; a passed
  // time would make the loop spin until then.
  const auto now = clock_->Now();
  auto consider_future = [&](std::optional<TimePoint> t) {
    if (t && *t > now) consider(t);
  };
  for (const auto& occ : occurrences_) {
    if (!occ) continue;
    if (occ->running) {
      consider(occ->term_at);
      consider(occ->kill_at);
    } else {
      consider_future(occ->not_before);
      consider_future(occ->deadline);
      consider_future(occ->lock_retry_at);
    }
  }
  return best;
}

void Scheduler::Prune(TimePoint now) {
  // Piggybacks on run completion, at most hourly, so pruning needs no timer of its own.
  if (now - last_prune_ < std::chrono::hours(1)) return;
  last_prune_ = now;
  auto paths = store_->PruneRuns(now - config_->history_keep);
  if (!paths.ok()) {
    spdlog::error("history prune: {}", paths.message());
    return;
  }
  for (const auto& path : *paths) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    std::filesystem::remove(path + ".on_failure", ec);
  }
  PruneSnapshots(now);
  if (!paths->empty()) {
    spdlog::info("history: pruned {} runs older than {}", paths->size(),
                 FormatDuration(config_->history_keep));
  }
}

}  // namespace mlcron
