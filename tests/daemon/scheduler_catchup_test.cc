// What the scheduler does with time it did not see: catch-up at start, crash recovery of
// runs a dead daemon left `running`, and wall-clock jumps while it runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/scheduler.h"
#include "tests/daemon/scheduler_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::SchedulerTest;
using ::mlcron::testing::Seeded;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// The last handled occurrence is 03-04 09:50; the daemon comes back on 03-07 at 12:00, so
// 03-05, 03-06 and 03-07 09:50 came due while it was down.
std::string Daily(const std::string& settings) {
  return R"(timezone: Europe/Berlin
tiers:
  - tier: 4
    name: features
    at: "09:50"
    jobs:
      - {name: agg, argv: [x], )" +
         settings + R"(}
)";
}

class SchedulerCatchupTest : public SchedulerTest {
 protected:
  void StartAfterDowntime(const std::string& settings) {
    ASSERT_TRUE(store_->SetLastOccurrence("agg", I("2024-03-04T09:50")).ok());
    Make(Daily(settings), "2024-03-07T12:00");
    scheduler_->Pump();
  }
};

TEST_F(SchedulerCatchupTest, LatestRunsTheNewestMissedOccurrenceOnce) {
  StartAfterDowntime("catchup: latest, catchup_window: 7d");
  ASSERT_EQ(exec_.starts.size(), 1u);
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-07T09:50:00+01:00");
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-05T09:50:00+01:00 missed #1 catchup: mlcrond was down; "
                          "catchup: latest runs only the newest missed occurrence",
                          "2024-03-06T09:50:00+01:00 missed #1 catchup: mlcrond was down; "
                          "catchup: latest runs only the newest missed occurrence",
                          "2024-03-07T09:50:00+01:00 running #1 catchup"));
  EXPECT_EQ(NextDeadline(), "2024-03-07T12:30:00.000+01:00");  // the default 30m timeout
  EXPECT_EQ(Fmt(*store_->LastOccurrence("agg").value()), "2024-03-07T09:50:00+01:00");
}

TEST_F(SchedulerCatchupTest, NoneRecordsEveryOccurrenceMissed) {
  StartAfterDowntime("catchup: none, catchup_window: 7d");
  EXPECT_THAT(exec_.starts, IsEmpty());
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-05T09:50:00+01:00 missed #1 catchup: mlcrond was down; "
                          "catchup: none",
                          "2024-03-06T09:50:00+01:00 missed #1 catchup: mlcrond was down; "
                          "catchup: none",
                          "2024-03-07T09:50:00+01:00 missed #1 catchup: mlcrond was down; "
                          "catchup: none"));
  EXPECT_EQ(NextDeadline(), "2024-03-08T09:50:00.000+01:00");
  EXPECT_TRUE(scheduler_->Idle());
}

TEST_F(SchedulerCatchupTest, AllRunsTheNewestMaxCatchupOldestFirst) {
  StartAfterDowntime("catchup: all, max_catchup: 2, catchup_window: 7d");
  ASSERT_EQ(exec_.starts.size(), 1u);
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-06T09:50:00+01:00");
  AdvanceTo("2024-03-07T12:10");
  Succeed("agg");
  ASSERT_EQ(exec_.starts.size(), 2u);
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-07T09:50:00+01:00");
  Succeed("agg");
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-05T09:50:00+01:00 missed #1 catchup: mlcrond was down; "
                          "beyond max_catchup 2",
                          "2024-03-06T09:50:00+01:00 succeeded #1 catchup",
                          "2024-03-07T09:50:00+01:00 succeeded #1 catchup"));
  EXPECT_TRUE(scheduler_->Idle());
}

TEST_F(SchedulerCatchupTest, OccurrencesOlderThanTheWindowAreMissed) {
  StartAfterDowntime("catchup: all, max_catchup: 10, catchup_window: 1d");
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-05T09:50:00+01:00 missed #1 catchup: mlcrond was down; "
                          "outside catchup_window 1d",
                          "2024-03-06T09:50:00+01:00 missed #1 catchup: mlcrond was down; "
                          "outside catchup_window 1d",
                          "2024-03-07T09:50:00+01:00 running #1 catchup"));
}

TEST_F(SchedulerCatchupTest, JobWithoutALastOccurrenceDoesNotCatchUp) {
  Make(Daily("catchup: all, catchup_window: 7d"), "2024-03-07T12:00");
  scheduler_->Pump();
  EXPECT_THAT(exec_.starts, IsEmpty());
  EXPECT_THAT(History("agg"), IsEmpty());
  EXPECT_EQ(Fmt(*store_->LastOccurrence("agg").value()), "2024-03-07T12:00:00+01:00");
  EXPECT_EQ(NextDeadline(), "2024-03-08T09:50:00.000+01:00");
}

TEST_F(SchedulerCatchupTest, PausedJobCatchUpIsSkipped) {
  ASSERT_TRUE(store_->SetPaused("agg", true).ok());
  StartAfterDowntime("catchup: latest, catchup_window: 7d");
  EXPECT_THAT(exec_.starts, IsEmpty());
  EXPECT_EQ(History("agg").back(), "2024-03-07T09:50:00+01:00 skipped #1 catchup: paused");
}

TEST_F(SchedulerCatchupTest, CatchUpOccurrencesHaveNoDependencyDeadline) {
  ASSERT_TRUE(store_->SetLastOccurrence("agg", I("2024-03-06T09:50")).ok());
  ASSERT_TRUE(store_->SetLastOccurrence("publish", I("2024-03-06T09:55")).ok());
  Make(R"(timezone: Europe/Berlin
defaults: {timeout: 0}
tiers:
  - tier: 4
    name: features
    at: "09:50"
    jobs: [{name: agg, argv: [x]}]
  - tier: 5
    name: signals
    at: "09:55"
    after: [features]
    jobs: [{name: publish, argv: [x]}]
)",
       "2024-03-07T12:00");
  scheduler_->Pump();
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg"));
  // Past publish's next instant (03-08 09:55) the caught-up 03-07 occurrence still waits.
  AdvanceTo("2024-03-08T10:00");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg"));
  Succeed("agg");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "publish"));
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-07T09:55:00+01:00");
  EXPECT_EQ(History("publish").back(), "2024-03-07T09:55:00+01:00 running #1 catchup");
}

// --- crash recovery ---

// A row left `running` by a daemon that died. The pid is one no process has and the boot id
// is another boot's, so recovery never signals anything on this machine (with pid 0 or this
// boot's id it would scan /proc for MLCRON_RUN_ID=<id>, which other mlcron instances use).
RunRecord LeftRunning(Instant scheduled, const std::string& trigger = "schedule", int attempt = 1) {
  RunRecord run;
  run.job = "agg";
  run.scheduled = scheduled;
  run.trigger = trigger;
  run.attempt = attempt;
  run.status = RunStatus::kRunning;
  run.started = Clock::TimePoint(scheduled.time_since_epoch());
  run.pid = 99999999;
  run.pid_start_ticks = 1;
  run.boot_id = "00000000-0000-0000-0000-000000000000";
  return run;
}

TEST_F(SchedulerCatchupTest, RunLeftRunningIsInterruptedAndRetriedOnce) {
  ASSERT_TRUE(store_->SetLastOccurrence("agg", I("2024-03-04T09:50")).ok());
  auto id = store_->InsertRun(LeftRunning(I("2024-03-04T09:50")));
  ASSERT_TRUE(id.ok());
  Make(Daily("retries: 0"), "2024-03-04T10:30");
  scheduler_->Pump();

  RunRecord old = Run(*id);
  EXPECT_EQ(old.status, RunStatus::kInterrupted);
  EXPECT_EQ(old.reason, "mlcrond stopped while it ran (pid 99999999)");
  EXPECT_EQ(Fmt(*old.ended), "2024-03-04T10:30:00.000+01:00");
  ASSERT_EQ(exec_.starts.size(), 1u);
  EXPECT_EQ(exec_.Last().attempt, 2);
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-04T09:50:00+01:00");
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-04T09:50:00+01:00 interrupted #1 schedule: mlcrond stopped "
                          "while it ran (pid 99999999)",
                          "2024-03-04T09:50:00+01:00 running #2 recovery"));

  // The daemon dies again while the recovery run runs: that one is not retried.
  const auto recovery_id = exec_.LastRunId();
  ASSERT_TRUE(store_
                  ->SetRunProcess(recovery_id, 99999998, 1, "00000000-0000-0000-0000-000000000000",
                                  T("2024-03-04T10:30"))
                  .ok());
  scheduler_.reset();
  locks_ = MemoryJobLocks();  // the dead daemon's flocks died with it
  exec_.starts.clear();
  clock_.Set(T("2024-03-04T11:00"));
  scheduler_ =
      std::make_unique<Scheduler>(config_, store_.get(), &exec_, &clock_, &locks_, Seeded());
  ASSERT_TRUE(scheduler_->Start(false).ok());
  scheduler_->Pump();
  EXPECT_THAT(exec_.starts, IsEmpty());
  EXPECT_EQ(Run(recovery_id).status, RunStatus::kInterrupted);
  EXPECT_TRUE(scheduler_->Idle());
  EXPECT_EQ(NextDeadline(), "2024-03-05T09:50:00.000+01:00");
}

// A `mlcron run` in another process holds its job's lock while its row says running: that
// row is live, not a crash leftover, and recovery must neither mark nor retry it.
TEST_F(SchedulerCatchupTest, RunningRowOfALiveManualRunIsLeftAlone) {
  auto id = store_->InsertRun(LeftRunning(I("2024-03-04T09:50")));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(locks_.TryLock("agg"));  // held by the other process
  Make(Daily("retries: 0"), "2024-03-04T10:30");
  scheduler_->Pump();
  EXPECT_EQ(Run(*id).status, RunStatus::kRunning);
  EXPECT_THAT(exec_.starts, IsEmpty());
}

TEST_F(SchedulerCatchupTest, SucceededOccurrenceIsNeverStartedAgain) {
  ASSERT_TRUE(store_->SetLastOccurrence("agg", I("2024-03-04T09:50")).ok());
  RunRecord done = LeftRunning(I("2024-03-04T09:50"));
  done.status = RunStatus::kSucceeded;
  done.exit_code = 0;
  done.ended = T("2024-03-04T09:52");
  ASSERT_TRUE(store_->InsertRun(done).ok());
  // A person's `mlcron run agg --at 09:50` was running when the daemon died.
  ASSERT_TRUE(store_->InsertRun(LeftRunning(I("2024-03-04T09:50"), "manual", 1)).ok());
  Make(Daily("retries: 0"), "2024-03-04T10:30");
  scheduler_->Pump();
  EXPECT_THAT(exec_.starts, IsEmpty());
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-04T09:50:00+01:00 succeeded #1 schedule",
                          "2024-03-04T09:50:00+01:00 interrupted #1 manual: mlcrond stopped "
                          "while it ran (pid 99999999)"));
}

// --- wall-clock jumps ---

TEST_F(SchedulerCatchupTest, ClockJumpForwardRunsTheNewestAndRecordsTheRestMissed) {
  Make(Daily("retries: 0"), "2024-03-04T09:00");
  clock_.Set(T("2024-03-07T12:00"));  // one step: suspend, or the clock was set
  scheduler_->Pump();
  ASSERT_EQ(exec_.starts.size(), 1u);
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-07T09:50:00+01:00");
  const std::string why =
      " missed #1 schedule: came due while the loop was held up (suspend or "
      "clock jump)";
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-04T09:50:00+01:00" + why, "2024-03-05T09:50:00+01:00" + why,
                          "2024-03-06T09:50:00+01:00" + why,
                          "2024-03-07T09:50:00+01:00 running #1 schedule"));
  EXPECT_EQ(NextDeadline(), "2024-03-07T12:30:00.000+01:00");  // the default 30m timeout
}

TEST_F(SchedulerCatchupTest, ClockJumpBackwardDoesNotRepeatAnOccurrence) {
  Make(Daily("retries: 0"), "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:51");
  Succeed("agg");
  clock_.Set(T("2024-03-04T08:00"));  // the clock is stepped back before 09:50
  scheduler_->Pump();
  EXPECT_EQ(NextDeadline(), "2024-03-05T09:50:00.000+01:00");
  AdvanceTo("2024-03-05T09:50");
  EXPECT_EQ(exec_.starts.size(), 2u);
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-05T09:50:00+01:00");
}

}  // namespace
}  // namespace mlcron
