// Dependency binding (DESIGN.md §4) between tiers and jobs, and batches (--run-now, `mlcron
// run`), which honour dependencies only among their own jobs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/scheduler.h"
#include "tests/daemon/scheduler_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::Exited;
using ::mlcron::testing::SchedulerTest;
using ::mlcron::testing::Seeded;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Tier 5 publish at 09:55 after tier 4 agg at 09:50. No timeouts: upstreams run long here.
std::string Pipeline(const std::string& agg_extra = "", const std::string& publish_extra = "") {
  return R"(timezone: Europe/Berlin
defaults: {timeout: 0}
tiers:
  - tier: 4
    name: features
    at: "09:50"
    jobs:
      - {name: agg, argv: [x])" +
         agg_extra + R"(}
  - tier: 5
    name: signals
    at: "09:55"
    after: [features]
    jobs:
      - {name: publish, argv: [x])" +
         publish_extra + R"(}
)";
}

TEST_F(SchedulerTest, DepsDownstreamStartsAtItsInstantAfterUpstreamSucceeded) {
  Make(Pipeline(), "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:51");
  Succeed("agg");
  EXPECT_EQ(NextDeadline(), "2024-03-04T09:55:00.000+01:00");
  AdvanceTo("2024-03-04T09:54:59");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg"));
  AdvanceTo("2024-03-04T09:55");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "publish"));
  EXPECT_EQ(Fmt(*Run(exec_.RunIdOf("publish")).started), "2024-03-04T09:55:00.000+01:00");
}

TEST_F(SchedulerTest, DepsDownstreamWaitsForARunningUpstreamAndStartsWhenItSucceeds) {
  Make(Pipeline(), "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:58");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg"));
  EXPECT_EQ(scheduler_->GetStatus().pending, 1);
  EXPECT_EQ(NextDeadline(), "2024-03-05T09:50:00.000+01:00");
  Succeed("agg");  // OnRunExit + the Pump that follows it
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "publish"));
  EXPECT_EQ(Fmt(*Run(exec_.RunIdOf("publish")).started), "2024-03-04T09:58:00.000+01:00");
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-04T09:55:00+01:00");
}

TEST_F(SchedulerTest, DepsUpstreamRetryingIsNotFailedYetThenFailureSkipsDownstream) {
  Make(Pipeline(", retries: 1, retry_delay: 10m"), "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:51");
  Fail("agg", 4);
  AdvanceTo("2024-03-04T09:58");
  // The first attempt failed but a retry is due: publish waits.
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg"));
  EXPECT_THAT(History("publish"), IsEmpty());
  EXPECT_EQ(scheduler_->GetStatus().pending, 2);
  AdvanceTo("2024-03-04T10:05");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "agg"));
  Fail("agg", 4);
  EXPECT_THAT(History("publish"), ElementsAre("2024-03-04T09:55:00+01:00 skipped #1 schedule: "
                                              "upstream agg failed (exit code 4)"));
  EXPECT_TRUE(scheduler_->AnyFailed());
  EXPECT_TRUE(scheduler_->Idle());
}

TEST_F(SchedulerTest, DepsUpstreamRetrySucceedingReleasesDownstream) {
  Make(Pipeline(", retries: 1, retry_delay: 10m"), "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:51");
  Fail("agg");
  AdvanceTo("2024-03-04T10:05");
  Succeed("agg");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "agg", "publish"));
  EXPECT_FALSE(scheduler_->AnyFailed());
}

TEST_F(SchedulerTest, DepsAllDoneRunsAfterAFailedUpstream) {
  Make(Pipeline("", ", trigger: all_done"), "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:56");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg"));  // all_done still waits for the end
  Fail("agg");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "publish"));
}

TEST_F(SchedulerTest, DepsUpstreamUnfinishedAtTheNextOccurrenceSkipsDownstream) {
  Make(Pipeline(), "2024-03-04T09:00");
  const auto agg = [&] { return exec_.RunIdOf("agg"); };
  AdvanceTo("2024-03-05T09:55");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg"));
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-04T09:50:00+01:00 running #1 schedule",
                          "2024-03-05T09:50:00+01:00 skipped #1 schedule: overlap: skip; run " +
                              std::to_string(agg()) + " still running"));
  EXPECT_THAT(History("publish"),
              ElementsAre("2024-03-04T09:55:00+01:00 skipped #1 schedule: upstream agg did not "
                          "finish",
                          "2024-03-05T09:55:00+01:00 skipped #1 schedule: upstream agg was "
                          "skipped (overlap: skip; run " +
                              std::to_string(agg()) + " still running)"));
  EXPECT_TRUE(scheduler_->AnyFailed());
}

// The downstream occurrence that expires at the next instant must not stand in the way of
// the next one: with agg queueing, its 03-05 occurrence runs and publish's 03-05 follows it.
TEST_F(SchedulerTest, DepsExpiredOccurrenceDoesNotBlockTheNextOne) {
  Make(Pipeline(", overlap: queue"), "2024-03-04T09:00");
  AdvanceTo("2024-03-05T09:56");
  EXPECT_THAT(History("publish"), ElementsAre("2024-03-04T09:55:00+01:00 skipped #1 schedule: "
                                              "upstream agg did not finish"));
  Succeed("agg");  // the 03-04 run; agg 03-05 was queued behind it and starts now
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "agg"));
  Succeed("agg");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "agg", "publish"));
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-05T09:55:00+01:00");
}

TEST_F(SchedulerTest, DepsUpstreamThatNeverRanSkipsDownstream) {
  // First start between the two instants: agg's 09:50 never happened here.
  Make(Pipeline(), "2024-03-04T09:52");
  AdvanceTo("2024-03-04T09:56");
  EXPECT_THAT(exec_.starts, IsEmpty());
  EXPECT_THAT(History("publish"), ElementsAre("2024-03-04T09:55:00+01:00 skipped #1 schedule: "
                                              "upstream agg never ran for "
                                              "2024-03-04T09:50:00+01:00"));
}

TEST_F(SchedulerTest, DepsPausedUpstreamSkipsDownstream) {
  Make(Pipeline(), "2024-03-04T09:00");
  ASSERT_TRUE(scheduler_->Pause("features").ok());
  AdvanceTo("2024-03-04T09:56");
  EXPECT_THAT(exec_.starts, IsEmpty());
  EXPECT_THAT(History("agg"), ElementsAre("2024-03-04T09:50:00+01:00 skipped #1 schedule: paused"));
  EXPECT_THAT(History("publish"), ElementsAre("2024-03-04T09:55:00+01:00 skipped #1 schedule: "
                                              "upstream agg was skipped (paused)"));
}

TEST_F(SchedulerTest, DepsJobLevelAfterWithinATier) {
  // `clean` is written first but runs after `fetch`, at the same instant.
  Make(R"(timezone: Europe/Berlin
tiers:
  - tier: 1
    name: ingest
    at: "06:00"
    jobs:
      - {name: clean, argv: [x], after: [fetch]}
      - {name: fetch, argv: [x]}
)",
       "2024-03-04T05:00");
  AdvanceTo("2024-03-04T06:03");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("fetch"));
  Succeed("fetch");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("fetch", "clean"));
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-04T06:00:00+01:00");
  EXPECT_EQ(Fmt(*Run(exec_.LastRunId()).started), "2024-03-04T06:03:00.000+01:00");
}

// --- batches ---

std::string BatchPipeline() {
  return R"(timezone: Europe/Berlin
max_parallel: 4
tiers:
  - tier: 4
    name: features
    at: "09:50"
    jobs:
      - {name: agg, argv: [x]}
      - {name: clean, argv: [x]}
  - tier: 5
    name: signals
    at: "09:55"
    after: [features]
    jobs:
      - {name: predict, argv: [x]}
      - {name: publish, argv: [x], after: [predict]}
)";
}

SchedulerOptions Manual() {
  SchedulerOptions o;
  o.scheduled = false;
  o.jitter_seed = 1;
  return o;
}

TEST_F(SchedulerTest, BatchRunsAllJobsInDependencyOrder) {
  Make(BatchPipeline(), "2024-03-04T14:00", Manual(), /*start=*/false);
  scheduler_->QueueBatch({0, 1, 2, 3}, I("2024-03-04T14:00"), "manual");
  scheduler_->Pump();
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "clean"));
  // Manual mode schedules nothing: the only deadline is the default 30m timeout.
  EXPECT_EQ(NextDeadline(), "2024-03-04T14:30:00.000+01:00");
  AdvanceTo("2024-03-04T14:01");
  Succeed("clean");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "clean"));
  Succeed("agg");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "clean", "predict"));
  Succeed("predict");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "clean", "predict", "publish"));
  EXPECT_FALSE(scheduler_->Idle());
  Succeed("publish");
  EXPECT_TRUE(scheduler_->Idle());
  EXPECT_FALSE(scheduler_->AnyFailed());
  EXPECT_THAT(History("publish"), ElementsAre("2024-03-04T14:00:00+01:00 succeeded #1 manual"));
  // Batches do not move the catch-up mark.
  EXPECT_FALSE(store_->LastOccurrence("publish").value().has_value());
}

TEST_F(SchedulerTest, BatchFailingUpstreamSkipsItsDownstream) {
  Make(BatchPipeline(), "2024-03-04T14:00", Manual(), /*start=*/false);
  scheduler_->QueueBatch({0, 1, 2, 3}, I("2024-03-04T14:00"), "manual");
  scheduler_->Pump();
  Succeed("clean");
  Fail("agg", 5);
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "clean"));
  EXPECT_THAT(History("predict"),
              ElementsAre("2024-03-04T14:00:00+01:00 skipped #1 manual: upstream agg failed"));
  EXPECT_THAT(History("publish"),
              ElementsAre("2024-03-04T14:00:00+01:00 skipped #1 manual: upstream agg failed"));
  EXPECT_TRUE(scheduler_->Idle());
  EXPECT_TRUE(scheduler_->AnyFailed());
}

TEST_F(SchedulerTest, BatchIgnoresUpstreamsOutsideTheBatch) {
  Make(BatchPipeline(), "2024-03-04T14:00", Manual(), /*start=*/false);
  // `mlcron run publish --at ...`: predict never ran for that instant, and does not matter.
  scheduler_->QueueBatch({3}, I("2024-03-03T09:55"), "manual");
  scheduler_->Pump();
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("publish"));
  EXPECT_EQ(Fmt(exec_.Last().scheduled), "2024-03-03T09:55:00+01:00");
  Succeed("publish");
  EXPECT_TRUE(scheduler_->Idle());
}

TEST_F(SchedulerTest, BatchRunNowAtStartRunsEveryJobOnce) {
  config_ = Load(BatchPipeline());
  clock_.Set(T("2024-03-04T14:00:00") + std::chrono::milliseconds(250));
  scheduler_ =
      std::make_unique<Scheduler>(config_, store_.get(), &exec_, &clock_, &locks_, Seeded());
  ASSERT_TRUE(scheduler_->Start(/*run_now=*/true).ok());
  scheduler_->Pump();
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "clean"));
  Succeed("agg");
  Succeed("clean");
  Succeed("predict");
  Succeed("publish");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg", "clean", "predict", "publish"));
  EXPECT_THAT(History("publish"), ElementsAre("2024-03-04T14:00:00+01:00 succeeded #1 run-now"));
  EXPECT_TRUE(scheduler_->Idle());
  EXPECT_EQ(NextDeadline(), "2024-03-05T09:50:00.000+01:00");
}

}  // namespace
}  // namespace mlcron
