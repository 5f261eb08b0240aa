// Helpers shared by the scheduler tests: a FakeExecutor that records starts, signals and
// hooks; a fixture wiring a Scheduler to a FakeClock, MemoryJobLocks and a real SQLite
// store in a scratch directory; AdvanceTo(), which walks the fake clock from deadline to
// deadline as the real loop would (and fails if NextDeadline would make the loop spin);
// and a one-line rendering of run rows for exact comparison.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/clock.h"
#include "daemon/config_loader.h"
#include "daemon/executor.h"
#include "daemon/job_lock.h"
#include "daemon/scheduler.h"
#include "daemon/state_store.h"
#include "daemon/time_format.h"
#include "tests/daemon/state_test_util.h"

namespace mlcron::testing {

class FakeExecutor final : public Executor {
 public:
  struct SignalSent {
    std::int64_t run_id;
    int sig;
    bool operator==(const SignalSent&) const = default;
    friend void PrintTo(const SignalSent& s, std::ostream* os) {
      *os << "{run " << s.run_id << ", signal " << s.sig << "}";
    }
  };
  struct HookStart {
    RunRequest request;
    std::vector<std::string> argv;
    std::string status;
  };

  Result<SpawnedProcess> Start(const RunRequest& request) override {
    starts.push_back(request);
    if (fail_starts) return Status::Error("cannot start \"x\": No such file or directory");
    SpawnedProcess p;
    p.pid = next_pid++;
    p.start_ticks = 4242;
    return p;
  }
  void Signal(std::int64_t run_id, int sig) override { signals.push_back({run_id, sig}); }
  void StartHook(const RunRequest& request, const std::vector<std::string>& argv,
                 const std::string& status) override {
    hooks.push_back({request, argv, status});
  }

  // The job of each start, in order.
  std::vector<std::string> StartedJobs() const {
    std::vector<std::string> out;
    for (const RunRequest& r : starts) out.push_back(r.job().name);
    return out;
  }
  const RunRequest& Last() const { return starts.back(); }
  std::int64_t LastRunId() const { return starts.empty() ? 0 : starts.back().run_id; }
  // The run id of the latest start of `job`; 0 if it never started.
  std::int64_t RunIdOf(std::string_view job) const {
    for (auto it = starts.rbegin(); it != starts.rend(); ++it) {
      if (it->job().name == job) return it->run_id;
    }
    return 0;
  }

  std::vector<RunRequest> starts;
  std::vector<SignalSent> signals;
  std::vector<HookStart> hooks;
  bool fail_starts = false;
  pid_t next_pid = 1000;
};

inline ExitInfo Exited(int code) {
  ExitInfo e;
  e.pid = 1;
  e.exit_code = code;
  return e;
}

inline ExitInfo KilledBy(int sig) {
  ExitInfo e;
  e.pid = 1;
  e.signal = sig;
  return e;
}

inline SchedulerOptions Seeded(std::uint64_t seed = 7) {
  SchedulerOptions o;
  o.jitter_seed = seed;
  return o;
}

class SchedulerTest : public ::testing::Test {
 protected:
  using TimePoint = Clock::TimePoint;

  SchedulerTest() : clock_(TimePoint{}) {
    auto store = StateStore::Open(dir_.File("mlcron.db"));
    if (!store.ok()) ADD_FAILURE() << store.message();
    store_ = std::move(*store);
    auto zone = FindZone("Europe/Berlin");
    if (!zone.ok()) ADD_FAILURE() << zone.message();
    tz_ = *zone;
  }

  static std::shared_ptr<const Config> Load(std::string_view yaml) {
    LoadResult r = LoadConfigText(yaml, "/tmp/x/mlcron.yaml");
    EXPECT_TRUE(r.ok()) << r.ErrorText();
    return r.config;
  }

  // Builds the scheduler at `now` (local Berlin time unless it carries an offset) and, in
  // scheduled mode, Start()s it.
  void Make(std::string_view yaml, std::string_view now, SchedulerOptions options = Seeded(),
            bool start = true) {
    config_ = Load(yaml);
    ASSERT_NE(config_, nullptr);
    clock_.Set(T(now));
    scheduler_ =
        std::make_unique<Scheduler>(config_, store_.get(), &exec_, &clock_, &locks_, options);
    if (start) {
      Status s = scheduler_->Start(false);
      ASSERT_TRUE(s.ok()) << s.message();
    }
  }

  Instant I(std::string_view text) const {
    auto t = ParseInstant(text, tz_);
    EXPECT_TRUE(t.ok()) << text << ": " << t.message();
    return t.ok() ? *t : Instant{};
  }
  TimePoint T(std::string_view text) const { return TimePoint(I(text).time_since_epoch()); }
  std::string Fmt(Instant t) const { return FormatInstant(t, tz_); }
  std::string Fmt(TimePoint t) const { return FormatTimePoint(t, tz_); }
  std::string Fmt(std::optional<TimePoint> t) const { return t ? Fmt(*t) : "none"; }
  std::string Now() const { return Fmt(clock_.Now()); }
  std::string NextDeadline() const { return Fmt(scheduler_->NextDeadline()); }

  // Runs the loop contract up to `target`: sleep until min(NextDeadline, target), Pump,
  // repeat. A deadline at or before now after a Pump would make the real loop spin.
  void AdvanceTo(TimePoint target) {
    for (int steps = 0; steps < 100000; ++steps) {
      auto deadline = scheduler_->NextDeadline();
      if (deadline && *deadline <= clock_.Now()) {
        ADD_FAILURE() << "NextDeadline " << Fmt(*deadline) << " is not after now " << Now()
                      << ": the loop would spin";
        clock_.Set(target);
        scheduler_->Pump();
        return;
      }
      const TimePoint step = deadline && *deadline < target ? *deadline : target;
      clock_.Set(step);
      scheduler_->Pump();
      if (step == target) return;
    }
    ADD_FAILURE() << "AdvanceTo did not reach its target";
  }
  void AdvanceTo(std::string_view text) { AdvanceTo(T(text)); }
  void AdvanceBy(std::chrono::system_clock::duration d) { AdvanceTo(clock_.Now() + d); }

  // A run's process exits; the loop then pumps.
  void Exit(std::int64_t run_id, const ExitInfo& exit) {
    ASSERT_NE(run_id, 0) << "no such run";
    scheduler_->OnRunExit(run_id, exit);
    scheduler_->Pump();
  }
  void Succeed(std::string_view job) { Exit(exec_.RunIdOf(job), Exited(0)); }
  void Fail(std::string_view job, int code = 1) { Exit(exec_.RunIdOf(job), Exited(code)); }

  // Every row of a job, oldest first, one line each:
  // "2024-03-04T09:50:00+01:00 succeeded #1 schedule" (+ ": reason").
  std::vector<std::string> History(const std::string& job) {
    RunFilter f;
    f.job = job;
    f.limit = 0;
    auto runs = store_->ListRuns(f);
    EXPECT_TRUE(runs.ok()) << runs.message();
    std::vector<std::string> out;
    if (!runs.ok()) return out;
    std::reverse(runs->begin(), runs->end());
    for (const RunRecord& r : *runs) out.push_back(Line(r));
    return out;
  }
  std::string Line(const RunRecord& r) const {
    std::string s = Fmt(r.scheduled) + " " + std::string(RunStatusName(r.status)) + " #" +
                    std::to_string(r.attempt) + " " + r.trigger;
    if (!r.reason.empty()) s += ": " + r.reason;
    return s;
  }
  RunRecord Run(std::int64_t id) {
    auto r = store_->GetRun(id);
    EXPECT_TRUE(r.ok() && *r) << "run " << id;
    return r.ok() && *r ? **r : RunRecord{};
  }

  ScratchDir dir_;
  std::unique_ptr<StateStore> store_;
  FakeClock clock_;
  FakeExecutor exec_;
  MemoryJobLocks locks_;
  const date::time_zone* tz_ = nullptr;
  std::shared_ptr<const Config> config_;
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace mlcron::testing
