// The scheduler's main cycle, driven by a fake clock and a fake executor: firing at the
// instant, exit statuses, retries with jitter, timeouts, overlap policies, max_parallel and
// per-job locks. Times are Europe/Berlin (+01:00 in early March 2024).
#include "daemon/scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/daemon/scheduler_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::Exited;
using ::mlcron::testing::FakeExecutor;
using ::mlcron::testing::KilledBy;
using ::mlcron::testing::SchedulerTest;
using ::mlcron::testing::Seeded;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Sig = FakeExecutor::SignalSent;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kDaily = R"(timezone: Europe/Berlin
tiers:
  - tier: 4
    name: features
    at: "09:50"
    jobs:
      - {name: agg, argv: [/bin/agg, "{date}"]}
)";

TEST_F(SchedulerTest, FiresExactlyAtTheScheduledInstant) {
  Make(kDaily, "2024-03-04T09:00");
  EXPECT_EQ(NextDeadline(), "2024-03-04T09:50:00.000+01:00");

  clock_.Set(T("2024-03-04T09:50") - milliseconds(1));
  scheduler_->Pump();
  EXPECT_THAT(exec_.starts, IsEmpty());
  EXPECT_EQ(NextDeadline(), "2024-03-04T09:50:00.000+01:00");

  AdvanceTo("2024-03-04T09:50");
  ASSERT_EQ(exec_.starts.size(), 1u);
  const auto& req = exec_.starts[0];
  EXPECT_EQ(req.job().name, "agg");
  EXPECT_EQ(req.config, config_);
  EXPECT_EQ(Fmt(req.scheduled), "2024-03-04T09:50:00+01:00");
  EXPECT_EQ(req.attempt, 1);
  EXPECT_EQ(req.log_path, "/tmp/x/state/logs/agg/" + std::to_string(req.run_id) + ".log");

  RunRecord run = Run(req.run_id);
  EXPECT_EQ(run.status, RunStatus::kRunning);
  EXPECT_EQ(Fmt(run.scheduled), "2024-03-04T09:50:00+01:00");
  EXPECT_EQ(Fmt(*run.started), "2024-03-04T09:50:00.000+01:00");
  EXPECT_EQ(run.trigger, "schedule");
  EXPECT_EQ(run.attempt, 1);
  EXPECT_EQ(run.pid, 1000);
  EXPECT_EQ(run.config_sha, config_->sha256);
  EXPECT_FALSE(run.ended.has_value());
  EXPECT_EQ(Fmt(*store_->LastOccurrence("agg").value()), "2024-03-04T09:50:00+01:00");

  AdvanceTo("2024-03-04T09:51:30");
  Exit(req.run_id, Exited(0));
  run = Run(req.run_id);
  EXPECT_EQ(run.status, RunStatus::kSucceeded);
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(Fmt(*run.ended), "2024-03-04T09:51:30.000+01:00");
  EXPECT_EQ(run.log_path, req.log_path);
  EXPECT_EQ(NextDeadline(), "2024-03-05T09:50:00.000+01:00");
  EXPECT_TRUE(scheduler_->Idle());
  EXPECT_FALSE(scheduler_->AnyFailed());
  EXPECT_EQ(exec_.starts.size(), 1u);
}

TEST_F(SchedulerTest, CronScheduleFiresAtEveryMatch) {
  Make(R"(timezone: Europe/Berlin
tiers:
  - {tier: 1, name: poll, schedule: "*/5 * * * *", jobs: [{name: p, argv: [x]}]}
)",
       "2024-03-04T10:02");
  EXPECT_EQ(NextDeadline(), "2024-03-04T10:05:00.000+01:00");
  AdvanceTo("2024-03-04T10:05");
  Succeed("p");
  EXPECT_EQ(NextDeadline(), "2024-03-04T10:10:00.000+01:00");
  AdvanceTo("2024-03-04T10:10");
  EXPECT_EQ(exec_.starts.size(), 2u);
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-04T10:10:00+01:00");
}

// §4: a fixed time skipped by the spring change fires once, at the end of the gap.
TEST_F(SchedulerTest, FixedTimeInTheSpringGapFiresAtTheGapEnd) {
  Make(R"(timezone: Europe/Berlin
tiers:
  - {tier: 1, name: night, at: "02:30", jobs: [{name: n, argv: [x]}]}
)",
       "2024-03-30T12:00");
  EXPECT_EQ(NextDeadline(), "2024-03-31T03:00:00.000+02:00");
  AdvanceTo("2024-03-31T03:00");
  ASSERT_EQ(exec_.starts.size(), 1u);
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-31T03:00:00+02:00");
  Succeed("n");
  EXPECT_EQ(NextDeadline(), "2024-04-01T02:30:00.000+02:00");
}

// §4: other cron fires at every real instant that matches, both copies of a repeated hour.
TEST_F(SchedulerTest, CronFiresTwiceInTheRepeatedAutumnHour) {
  Make(R"(timezone: Europe/Berlin
tiers:
  - {tier: 1, name: poll, schedule: "*/30 * * * *", jobs: [{name: p, argv: [x]}]}
)",
       "2024-10-27T01:50+02:00");
  while (clock_.Now() < T("2024-10-27T03:00+01:00")) {
    auto next = scheduler_->NextDeadline();
    ASSERT_TRUE(next);
    AdvanceTo(*next);
    Succeed("p");
  }
  std::vector<std::string> scheduled;
  for (const RunRequest& r : exec_.starts) scheduled.push_back(Fmt(r.scheduled));
  EXPECT_THAT(scheduled, ElementsAre("2024-10-27T02:00:00+02:00", "2024-10-27T02:30:00+02:00",
                                     "2024-10-27T02:00:00+01:00", "2024-10-27T02:30:00+01:00",
                                     "2024-10-27T03:00:00+01:00"));
}

TEST_F(SchedulerTest, ExitCodeAndSignalBecomeFailureReasons) {
  Make(kDaily, "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:50");
  Exit(exec_.LastRunId(), Exited(3));
  AdvanceTo("2024-03-05T09:50");
  Exit(exec_.LastRunId(), KilledBy(SIGKILL));
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-04T09:50:00+01:00 failed #1 schedule: exit code 3",
                          "2024-03-05T09:50:00+01:00 failed #1 schedule: killed by SIGKILL"));
  EXPECT_EQ(Run(exec_.LastRunId()).signal, SIGKILL);
  EXPECT_TRUE(scheduler_->AnyFailed());
}

TEST_F(SchedulerTest, ExecutorStartFailureIsAFailedRun) {
  Make(kDaily, "2024-03-04T09:00");
  exec_.fail_starts = true;
  AdvanceTo("2024-03-04T09:50");
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-04T09:50:00+01:00 failed #1 schedule: cannot start \"x\": No "
                          "such file or directory"));
  EXPECT_TRUE(scheduler_->Idle());
  EXPECT_EQ(NextDeadline(), "2024-03-05T09:50:00.000+01:00");
}

constexpr const char* kRetrying = R"(timezone: Europe/Berlin
tiers:
  - tier: 4
    name: features
    at: "09:50"
    jobs:
      - name: agg
        argv: [/bin/agg]
        retries: 2
        retry_delay: 30s
        on_failure: [/bin/alert, "{job}", "{status}"]
)";

TEST_F(SchedulerTest, RetriesWithDoublingJitteredDelayThenHookOnce) {
  Make(kRetrying, "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:50");
  Fail("agg", 2);
  const auto first_retry = scheduler_->NextDeadline();
  ASSERT_TRUE(first_retry);
  EXPECT_GE(*first_retry, T("2024-03-04T09:50:30"));
  EXPECT_LE(*first_retry, T("2024-03-04T09:50:33"));
  EXPECT_FALSE(scheduler_->AnyFailed());  // it will retry: not failed yet

  AdvanceTo(*first_retry - milliseconds(1));
  EXPECT_EQ(exec_.starts.size(), 1u);
  AdvanceTo(*first_retry);
  ASSERT_EQ(exec_.starts.size(), 2u);
  EXPECT_EQ(exec_.Last().attempt, 2);
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-04T09:50:00+01:00");
  EXPECT_EQ(*Run(exec_.LastRunId()).started, *first_retry);
  EXPECT_THAT(exec_.hooks, IsEmpty());

  Fail("agg", 2);
  const auto second_retry = scheduler_->NextDeadline();
  ASSERT_TRUE(second_retry);
  EXPECT_GE(*second_retry, *first_retry + seconds(60));
  EXPECT_LE(*second_retry, *first_retry + seconds(66));
  AdvanceTo(*second_retry);
  ASSERT_EQ(exec_.starts.size(), 3u);
  EXPECT_EQ(exec_.Last().attempt, 3);
  EXPECT_THAT(exec_.hooks, IsEmpty());

  Fail("agg", 2);
  EXPECT_EQ(NextDeadline(), "2024-03-05T09:50:00.000+01:00");
  ASSERT_EQ(exec_.hooks.size(), 1u);
  EXPECT_EQ(exec_.hooks[0].status, "failed");
  EXPECT_THAT(exec_.hooks[0].argv, ElementsAre("/bin/alert", "{job}", "{status}"));
  EXPECT_EQ(exec_.hooks[0].request.run_id, exec_.LastRunId());
  EXPECT_EQ(exec_.hooks[0].request.attempt, 3);
  EXPECT_TRUE(scheduler_->AnyFailed());
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-04T09:50:00+01:00 failed #1 schedule: exit code 2",
                          "2024-03-04T09:50:00+01:00 failed #2 retry: exit code 2",
                          "2024-03-04T09:50:00+01:00 failed #3 retry: exit code 2"));
  AdvanceTo("2024-03-04T12:00");
  EXPECT_EQ(exec_.starts.size(), 3u);
  EXPECT_EQ(exec_.hooks.size(), 1u);
}

TEST_F(SchedulerTest, RetrySucceedingRunsNoHook) {
  Make(kRetrying, "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:50");
  Fail("agg");
  AdvanceTo("2024-03-04T09:51");
  Succeed("agg");
  EXPECT_THAT(exec_.hooks, IsEmpty());
  EXPECT_FALSE(scheduler_->AnyFailed());
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-04T09:50:00+01:00 failed #1 schedule: exit code 1",
                          "2024-03-04T09:50:00+01:00 succeeded #2 retry"));
}

// The delays one seed gives to a job retrying `retries` times with `delay`.
std::vector<seconds> RetryDelays(std::uint64_t seed, const std::string& delay, int retries) {
  mlcron::testing::ScratchDir dir;
  auto store = StateStore::Open(dir.File("mlcron.db"));
  EXPECT_TRUE(store.ok());
  auto loaded = LoadConfigText(R"(timezone: UTC
tiers:
  - {tier: 1, name: t, at: "09:50", jobs: [{name: j, argv: [x], retries: )" +
                                   std::to_string(retries) + ", retry_delay: " + delay + "}]}\n",
                               "/tmp/x/mlcron.yaml");
  EXPECT_TRUE(loaded.ok()) << loaded.ErrorText();
  FakeClock clock(Clock::TimePoint(seconds(1709545740)));  // 2024-03-04T09:49:00Z
  FakeExecutor exec;
  MemoryJobLocks locks;
  SchedulerOptions options;
  options.jitter_seed = seed;
  Scheduler s(loaded.config, store->get(), &exec, &clock, &locks, options);
  EXPECT_TRUE(s.Start(false).ok());
  clock.Advance(seconds(60));
  std::vector<seconds> delays;
  for (int attempt = 0; attempt <= retries; ++attempt) {
    s.Pump();
    EXPECT_EQ(exec.starts.size(), static_cast<size_t>(attempt + 1));
    if (exec.starts.size() != static_cast<size_t>(attempt + 1)) break;
    s.OnRunExit(exec.LastRunId(), Exited(1));
    s.Pump();
    if (attempt == retries) break;
    auto next = s.NextDeadline();
    delays.push_back(std::chrono::duration_cast<seconds>(*next - clock.Now()));
    clock.Set(*next);
  }
  return delays;
}

TEST(SchedulerRetry, JitterIsDeterministicForASeedAndWithinTenPercent) {
  const auto a = RetryDelays(7, "30s", 4);
  EXPECT_EQ(a, RetryDelays(7, "30s", 4));
  ASSERT_EQ(a.size(), 4u);
  const int base[] = {30, 60, 120, 240};
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_GE(a[i].count(), base[i]) << i;
    EXPECT_LE(a[i].count(), base[i] * 11 / 10) << i;
  }
  // Different seeds give different jitter somewhere.
  bool differs = false;
  for (std::uint64_t seed = 8; seed < 16 && !differs; ++seed)
    differs = RetryDelays(seed, "30s", 4) != a;
  EXPECT_TRUE(differs);
}

TEST(SchedulerRetry, DoublingIsCappedAtOneHour) {
  const auto d = RetryDelays(3, "40m", 3);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_GE(d[0].count(), 2400);
  EXPECT_LE(d[0].count(), 2640);
  // 80 m and 160 m are capped to 1 h; the jitter comes on top of the cap.
  for (int i : {1, 2}) {
    EXPECT_GE(d[i].count(), 3600) << i;
    EXPECT_LE(d[i].count(), 3960) << i;
  }
}

constexpr const char* kTimeout = R"(timezone: Europe/Berlin
tiers:
  - tier: 4
    name: features
    at: "09:50"
    jobs:
      - {name: agg, argv: [x], timeout: 1m, kill_grace: 10s, on_failure: [/bin/alert]}
)";

TEST_F(SchedulerTest, TimeoutSendsTermThenKill) {
  Make(kTimeout, "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:50");
  const auto id = exec_.LastRunId();
  EXPECT_EQ(NextDeadline(), "2024-03-04T09:51:00.000+01:00");
  AdvanceTo(T("2024-03-04T09:51") - milliseconds(1));
  EXPECT_THAT(exec_.signals, IsEmpty());
  AdvanceTo("2024-03-04T09:51");
  EXPECT_THAT(exec_.signals, ElementsAre(Sig{id, SIGTERM}));
  EXPECT_EQ(NextDeadline(), "2024-03-04T09:51:10.000+01:00");
  AdvanceTo("2024-03-04T09:51:10");
  EXPECT_THAT(exec_.signals, ElementsAre(Sig{id, SIGTERM}, Sig{id, SIGKILL}));
  EXPECT_EQ(NextDeadline(), "2024-03-05T09:50:00.000+01:00");
  Exit(id, KilledBy(SIGKILL));
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-04T09:50:00+01:00 timed_out #1 schedule: timed out after 1m"));
  ASSERT_EQ(exec_.hooks.size(), 1u);
  EXPECT_EQ(exec_.hooks[0].status, "timed_out");
}

TEST_F(SchedulerTest, TimedOutRunExitingWithinGraceGetsNoKill) {
  Make(kTimeout, "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:51:05");
  const auto id = exec_.LastRunId();
  Exit(id, KilledBy(SIGTERM));
  AdvanceTo("2024-03-04T10:00");
  EXPECT_THAT(exec_.signals, ElementsAre(Sig{id, SIGTERM}));
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-04T09:50:00+01:00 timed_out #1 schedule: timed out after 1m"));
}

constexpr const char* kEveryMinute = R"(timezone: Europe/Berlin
tiers:
  - tier: 1
    name: poll
    every: 1m
    jobs:
      - {name: p, argv: [x], overlap: OVERLAP, kill_grace: 10s}
)";

std::string WithOverlap(const std::string& overlap) {
  std::string yaml = kEveryMinute;
  yaml.replace(yaml.find("OVERLAP"), 7, overlap);
  return yaml;
}

TEST_F(SchedulerTest, OverlapSkipRecordsTheRunningRun) {
  Make(WithOverlap("skip"), "2024-03-04T09:59:30");
  AdvanceTo("2024-03-04T10:01:30");
  const auto first = exec_.RunIdOf("p");
  ASSERT_EQ(exec_.starts.size(), 1u);
  Exit(first, Exited(0));
  AdvanceTo("2024-03-04T10:02");
  EXPECT_EQ(exec_.starts.size(), 2u);
  EXPECT_THAT(History("p"),
              ElementsAre("2024-03-04T10:00:00+01:00 succeeded #1 schedule",
                          "2024-03-04T10:01:00+01:00 skipped #1 schedule: overlap: skip; run " +
                              std::to_string(first) + " still running",
                          "2024-03-04T10:02:00+01:00 running #1 schedule"));
}

TEST_F(SchedulerTest, OverlapQueueHoldsOneAndSkipsTheThird) {
  Make(WithOverlap("queue"), "2024-03-04T09:59:30");
  AdvanceTo("2024-03-04T10:02:30");
  ASSERT_EQ(exec_.starts.size(), 1u);
  Exit(exec_.RunIdOf("p"), Exited(0));
  // The queued 10:01 occurrence starts at once, in the same Pump.
  ASSERT_EQ(exec_.starts.size(), 2u);
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-04T10:01:00+01:00");
  EXPECT_EQ(Fmt(*Run(exec_.LastRunId()).started), "2024-03-04T10:02:30.000+01:00");
  EXPECT_THAT(History("p"),
              ElementsAre("2024-03-04T10:00:00+01:00 succeeded #1 schedule",
                          "2024-03-04T10:02:00+01:00 skipped #1 schedule: overlap: queue holds "
                          "one; the occurrence at 2024-03-04T10:01:00+01:00 is already waiting",
                          "2024-03-04T10:01:00+01:00 running #1 schedule"));
}

TEST_F(SchedulerTest, OverlapReplaceKillsTheOldRunThenStartsTheNew) {
  Make(WithOverlap("replace"), "2024-03-04T09:59:30");
  AdvanceTo("2024-03-04T10:01");
  const auto old_id = exec_.RunIdOf("p");
  EXPECT_THAT(exec_.signals, ElementsAre(Sig{old_id, SIGTERM}));
  EXPECT_EQ(exec_.starts.size(), 1u);  // the new one waits for the old to exit
  EXPECT_EQ(NextDeadline(), "2024-03-04T10:01:10.000+01:00");
  AdvanceTo("2024-03-04T10:01:02");
  Exit(old_id, KilledBy(SIGTERM));
  ASSERT_EQ(exec_.starts.size(), 2u);
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-04T10:01:00+01:00");
  EXPECT_THAT(History("p"), ElementsAre("2024-03-04T10:00:00+01:00 killed #1 schedule: overlap: "
                                        "replace; replaced by the occurrence at "
                                        "2024-03-04T10:01:00+01:00",
                                        "2024-03-04T10:01:00+01:00 running #1 schedule"));
  EXPECT_FALSE(scheduler_->AnyFailed());
}

TEST_F(SchedulerTest, OverlapReplaceStillKillsAfterGrace) {
  Make(WithOverlap("replace"), "2024-03-04T09:59:30");
  AdvanceTo("2024-03-04T10:01:10");
  const auto old_id = exec_.RunIdOf("p");
  EXPECT_THAT(exec_.signals, ElementsAre(Sig{old_id, SIGTERM}, Sig{old_id, SIGKILL}));
  Exit(old_id, KilledBy(SIGKILL));
  EXPECT_EQ(exec_.starts.size(), 2u);
}

// A run replaced at the very instant its timeout falls due: the timeout must not stay
// armed in the past (NextDeadline would spin) nor re-signal after the SIGKILL.
TEST_F(SchedulerTest, OverlapReplaceAtTheTimeoutInstantDoesNotSpin) {
  Make(R"(timezone: Europe/Berlin
tiers:
  - tier: 1
    name: poll
    every: 1m
    jobs:
      - {name: p, argv: [x], overlap: replace, timeout: 1m, kill_grace: 10s}
)",
       "2024-03-04T09:59:30");
  AdvanceTo("2024-03-04T10:00:30");
  const auto old_id = exec_.RunIdOf("p");
  AdvanceTo("2024-03-04T10:01:20");
  EXPECT_THAT(exec_.signals, ElementsAre(Sig{old_id, SIGTERM}, Sig{old_id, SIGKILL}));
  Exit(old_id, KilledBy(SIGKILL));
  EXPECT_EQ(Run(old_id).status, RunStatus::kKilled);
}

// A replaced run that outlives its SIGKILL (stuck in D state) until its timeout: the timeout
// must not signal it again nor turn "killed" into "timed_out".
TEST_F(SchedulerTest, OverlapReplacedRunIsNotTimedOutLater) {
  Make(R"(timezone: Europe/Berlin
tiers:
  - tier: 1
    name: poll
    every: 1m
    jobs:
      - {name: p, argv: [x], overlap: replace, timeout: 2m, kill_grace: 10s}
)",
       "2024-03-04T09:59:30");
  AdvanceTo("2024-03-04T10:02:30");
  const auto old_id = exec_.starts.front().run_id;
  EXPECT_THAT(exec_.signals, ElementsAre(Sig{old_id, SIGTERM}, Sig{old_id, SIGKILL}));
  Exit(old_id, KilledBy(SIGKILL));
  EXPECT_THAT(History("p").front(), ::testing::StartsWith("2024-03-04T10:00:00+01:00 killed #1"));
}

constexpr const char* kThreeJobs = R"(timezone: Europe/Berlin
max_parallel: 2
tiers:
  - tier: 4
    name: features
    at: "09:50"
    jobs:
      - {name: zeta, argv: [x]}
      - {name: yank, argv: [x]}
      - {name: xray, argv: [x]}
)";

TEST_F(SchedulerTest, MaxParallelStartsInConfigOrder) {
  Make(kThreeJobs, "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:50");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("zeta", "yank"));
  EXPECT_EQ(scheduler_->GetStatus().pending, 1);
  AdvanceTo("2024-03-04T09:52");
  Succeed("yank");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("zeta", "yank", "xray"));
  EXPECT_EQ(Fmt(*Run(exec_.RunIdOf("xray")).started), "2024-03-04T09:52:00.000+01:00");
}

// An occurrence that waits for a free slot past its job's next instant keeps waiting; its
// expired upstream deadline must not become a deadline in the past (a busy loop).
TEST_F(SchedulerTest, OccurrenceWaitingForASlotPastItsNextInstantDoesNotSpin) {
  Make(R"(timezone: Europe/Berlin
max_parallel: 1
tiers:
  - tier: 1
    name: poll
    every: 1m
    jobs:
      - {name: a, argv: [x]}
      - {name: b, argv: [x]}
)",
       "2024-03-04T09:59:30");
  AdvanceTo("2024-03-04T10:01:30");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("a"));
  EXPECT_EQ(NextDeadline(), "2024-03-04T10:02:00.000+01:00");
  Succeed("a");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("a", "b"));
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-04T10:00:00+01:00");
}

// overlap: replace settling a waiting occurrence while other jobs fall due in the same Pump.
TEST_F(SchedulerTest, ReplaceOfAWaitingOccurrenceAmongOtherDueJobs) {
  Make(R"(timezone: Europe/Berlin
max_parallel: 1
tiers:
  - tier: 1
    name: poll
    every: 1m
    jobs:
      - {name: b, argv: [x]}
      - {name: a, argv: [x], overlap: replace}
      - {name: c, argv: [x]}
)",
       "2024-03-04T09:59:30");
  AdvanceTo("2024-03-04T10:01");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("b"));
  EXPECT_THAT(History("a"), ElementsAre("2024-03-04T10:00:00+01:00 skipped #1 schedule: overlap: "
                                        "replace; replaced by the occurrence at "
                                        "2024-03-04T10:01:00+01:00"));
  Succeed("b");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("b", "c"));  // c@10:00 is older than a@10:01
  Succeed("c");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("b", "c", "a"));
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-04T10:01:00+01:00");
}

TEST_F(SchedulerTest, LockHeldElsewhereSkipsTheOccurrence) {
  Make(kDaily, "2024-03-04T09:00");
  ASSERT_TRUE(locks_.TryLock("agg"));  // `mlcron run agg` in another process
  AdvanceTo("2024-03-04T09:55");
  EXPECT_THAT(exec_.starts, IsEmpty());
  EXPECT_THAT(History("agg"), ElementsAre("2024-03-04T09:50:00+01:00 skipped #1 schedule: job is "
                                          "running in another process (mlcron run)"));
  EXPECT_EQ(NextDeadline(), "2024-03-05T09:50:00.000+01:00");
}

TEST_F(SchedulerTest, WaitForLocksStartsWhenTheLockIsReleased) {
  SchedulerOptions options = Seeded();
  options.wait_for_locks = true;
  Make(kDaily, "2024-03-04T09:00", options);
  ASSERT_TRUE(locks_.TryLock("agg"));
  AdvanceTo("2024-03-04T09:50");
  EXPECT_THAT(exec_.starts, IsEmpty());
  EXPECT_EQ(NextDeadline(), "2024-03-04T09:50:01.000+01:00");
  AdvanceTo(T("2024-03-04T09:50:05") + milliseconds(500));
  EXPECT_THAT(exec_.starts, IsEmpty());
  locks_.Unlock("agg");
  AdvanceTo("2024-03-04T09:50:08");
  ASSERT_EQ(exec_.starts.size(), 1u);
  EXPECT_EQ(Fmt(*Run(exec_.LastRunId()).started), "2024-03-04T09:50:06.000+01:00");
  // The scheduler holds the lock while the run lives and drops it at exit.
  EXPECT_FALSE(locks_.TryLock("agg"));
  Succeed("agg");
  EXPECT_TRUE(locks_.TryLock("agg"));
}

// Waiting for a lock while max_parallel is full: the lock re-check must not stay due in the
// past.
TEST_F(SchedulerTest, WaitForLocksBehindAFullSlotDoesNotSpin) {
  SchedulerOptions options = Seeded();
  options.wait_for_locks = true;
  Make(R"(timezone: Europe/Berlin
max_parallel: 1
tiers:
  - tier: 4
    name: features
    at: "09:50"
    jobs:
      - {name: b, argv: [x]}
      - {name: a, argv: [x]}
)",
       "2024-03-04T09:00", options);
  ASSERT_TRUE(locks_.TryLock("b"));
  AdvanceTo("2024-03-04T09:50:03");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("a"));
  locks_.Unlock("b");
  Succeed("a");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("a", "b"));
}

}  // namespace
}  // namespace mlcron
