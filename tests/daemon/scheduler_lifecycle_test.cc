// The scheduler at its edges: reload, pause/resume, kill and shutdown.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "daemon/scheduler.h"
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

std::string Pipeline(const std::string& agg_at = "09:50", const std::string& agg_argv = "x",
                     bool with_signals = true) {
  std::string yaml = R"(timezone: Europe/Berlin
defaults: {timeout: 0, kill_grace: 10s}
tiers:
  - tier: 4
    name: features
    at: ")" + agg_at +
                     R"("
    jobs: [{name: agg, argv: [)" +
                     agg_argv + R"(]}]
)";
  if (with_signals) {
    yaml += R"(  - tier: 5
    name: signals
    at: "09:55"
    after: [features]
    jobs: [{name: publish, argv: [x]}]
)";
  }
  return yaml;
}

// --- reload ---

TEST_F(SchedulerTest, ReloadReschedulesChangedJobsAndKeepsTheOthers) {
  Make(Pipeline(), "2024-03-04T09:00");
  EXPECT_EQ(NextDeadline(), "2024-03-04T09:50:00.000+01:00");
  auto next = Load(Pipeline("09:45"));
  EXPECT_THAT(scheduler_->Reload(next),
              ElementsAre("job agg rescheduled: Europe/Berlin at 09:50 -> Europe/Berlin at "
                          "09:45, next 2024-03-04T09:45:00+01:00"));
  EXPECT_EQ(&scheduler_->config(), next.get());
  EXPECT_EQ(NextDeadline(), "2024-03-04T09:45:00.000+01:00");
  scheduler_->Pump();
  EXPECT_THAT(exec_.starts, IsEmpty());
  auto status = scheduler_->GetStatus();
  ASSERT_EQ(status.next.size(), 2u);
  EXPECT_EQ(Fmt(*status.next[0].at), "2024-03-04T09:45:00+01:00");
  EXPECT_EQ(Fmt(*status.next[1].at), "2024-03-04T09:55:00+01:00");  // unchanged
  EXPECT_THAT(scheduler_->Reload(Load(Pipeline("09:45"))), ElementsAre("no schedule changes"));
}

TEST_F(SchedulerTest, ReloadNeverFiresAJob) {
  Make(Pipeline(), "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:51");
  Succeed("agg");
  // 09:51 has passed today when the new schedule arrives: it is tomorrow's, not now.
  EXPECT_THAT(scheduler_->Reload(Load(Pipeline("09:51"))),
              ElementsAre("job agg rescheduled: Europe/Berlin at 09:50 -> Europe/Berlin at "
                          "09:51, next 2024-03-05T09:51:00+01:00"));
  scheduler_->Pump();
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg"));
  EXPECT_EQ(NextDeadline(), "2024-03-04T09:55:00.000+01:00");
}

TEST_F(SchedulerTest, ReloadLeavesRunningRunsOnTheirSnapshot) {
  Make(Pipeline(), "2024-03-04T09:00");
  const auto first = config_;
  AdvanceTo("2024-03-04T09:51");
  auto second = Load(Pipeline("09:50", "y"));
  EXPECT_THAT(scheduler_->Reload(second), ElementsAre("no schedule changes"));
  scheduler_->Pump();
  ASSERT_EQ(exec_.starts.size(), 1u);
  EXPECT_EQ(exec_.starts[0].config, first);
  EXPECT_THAT(exec_.starts[0].job().argv, ElementsAre("x"));
  Succeed("agg");
  EXPECT_EQ(Run(exec_.RunIdOf("agg")).config_sha, first->sha256);
  // The waiting publish moved to the new config and starts with it.
  AdvanceTo("2024-03-04T09:55");
  ASSERT_EQ(exec_.starts.size(), 2u);
  EXPECT_EQ(exec_.starts[1].config, second);
  AdvanceTo("2024-03-05T09:50");
  EXPECT_EQ(exec_.Last().config, second);
  EXPECT_THAT(exec_.Last().job().argv, ElementsAre("y"));
}

TEST_F(SchedulerTest, ReloadSkipsAWaitingOccurrenceOfARemovedJob) {
  Make(Pipeline(), "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:56");  // agg still running, publish waiting for it
  EXPECT_EQ(scheduler_->GetStatus().pending, 1);
  EXPECT_THAT(scheduler_->Reload(Load(Pipeline("09:50", "x", /*with_signals=*/false))),
              ElementsAre("job publish removed"));
  EXPECT_THAT(History("publish"), ElementsAre("2024-03-04T09:55:00+01:00 skipped #1 schedule: job "
                                              "removed from the config before it started"));
  EXPECT_EQ(scheduler_->GetStatus().pending, 0);
  Succeed("agg");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg"));
  EXPECT_TRUE(scheduler_->Idle());
}

TEST_F(SchedulerTest, ReloadAddingAJobStartsItFromNow) {
  Make(Pipeline("09:50", "x", /*with_signals=*/false), "2024-03-04T09:52");
  EXPECT_THAT(scheduler_->Reload(Load(Pipeline())),
              ElementsAre("job publish added: Europe/Berlin at 09:55, next "
                          "2024-03-04T09:55:00+01:00"));
  AdvanceTo("2024-03-04T09:56");
  // agg's 09:50 was before this daemon's time: publish has nothing to bind to.
  EXPECT_THAT(History("publish"), ElementsAre("2024-03-04T09:55:00+01:00 skipped #1 schedule: "
                                              "upstream agg never ran for "
                                              "2024-03-04T09:50:00+01:00"));
}

// --- pause, resume, kill ---

TEST_F(SchedulerTest, PauseAndResumeAJob) {
  Make(Pipeline("09:50", "x", false), "2024-03-04T09:00");
  ASSERT_TRUE(scheduler_->Pause("agg").ok());
  EXPECT_TRUE(scheduler_->GetStatus().next[0].paused);
  AdvanceTo("2024-03-04T10:00");
  EXPECT_THAT(exec_.starts, IsEmpty());
  ASSERT_TRUE(scheduler_->Resume("agg").ok());
  AdvanceTo("2024-03-05T09:50");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg"));
  EXPECT_THAT(History("agg"), ElementsAre("2024-03-04T09:50:00+01:00 skipped #1 schedule: paused",
                                          "2024-03-05T09:50:00+01:00 running #1 schedule"));
}

TEST_F(SchedulerTest, PauseOfATierIsPersistedAcrossRestarts) {
  Make(Pipeline("09:50", "x", false), "2024-03-04T09:00");
  ASSERT_TRUE(scheduler_->Pause("features").ok());
  EXPECT_THAT(store_->PausedNames().value(), ElementsAre("features"));
  // A restart reads the paused set back.
  scheduler_ =
      std::make_unique<Scheduler>(config_, store_.get(), &exec_, &clock_, &locks_, Seeded());
  ASSERT_TRUE(scheduler_->Start(false).ok());
  AdvanceTo("2024-03-04T10:00");
  EXPECT_THAT(History("agg"), ElementsAre("2024-03-04T09:50:00+01:00 skipped #1 schedule: paused"));
  ASSERT_TRUE(scheduler_->Resume("features").ok());
  EXPECT_THAT(store_->PausedNames().value(), IsEmpty());
  AdvanceTo("2024-03-05T09:50");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg"));
}

TEST_F(SchedulerTest, PauseAndResumeErrors) {
  Make(Pipeline(), "2024-03-04T09:00");
  EXPECT_EQ(scheduler_->Pause("nope").message(), "no job or tier named \"nope\"");
  EXPECT_EQ(scheduler_->Resume("agg").message(), "\"agg\" is not paused");
}

TEST_F(SchedulerTest, KillSendsTermThenKillAfterGrace) {
  Make(Pipeline(), "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:51");
  const auto id = exec_.RunIdOf("agg");
  ASSERT_TRUE(scheduler_->Kill(id).ok());
  scheduler_->Pump();
  EXPECT_THAT(exec_.signals, ElementsAre(Sig{id, SIGTERM}));
  EXPECT_EQ(NextDeadline(), "2024-03-04T09:51:10.000+01:00");
  AdvanceTo("2024-03-04T09:51:10");
  EXPECT_THAT(exec_.signals, ElementsAre(Sig{id, SIGTERM}, Sig{id, SIGKILL}));
  Exit(id, KilledBy(SIGKILL));
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-04T09:50:00+01:00 killed #1 schedule: killed by mlcron kill"));
  // A killed upstream is not a success: the downstream is skipped.
  AdvanceTo("2024-03-04T09:55");
  EXPECT_THAT(History("publish"), ElementsAre("2024-03-04T09:55:00+01:00 skipped #1 schedule: "
                                              "upstream agg killed (killed by mlcron kill)"));
}

TEST_F(SchedulerTest, KillOfAnUnknownRunIsAnError) {
  Make(Pipeline(), "2024-03-04T09:00");
  EXPECT_EQ(scheduler_->Kill(999).message(), "run 999 is not running");
  EXPECT_THAT(exec_.signals, IsEmpty());
}

// --- shutdown ---

TEST_F(SchedulerTest, ShutdownTermsRunsDropsWaitingAndRecordsInterrupted) {
  Make(Pipeline(), "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:56");  // agg running, publish waiting
  const auto id = exec_.RunIdOf("agg");
  scheduler_->BeginShutdown();
  scheduler_->Pump();
  EXPECT_THAT(exec_.signals, ElementsAre(Sig{id, SIGTERM}));
  EXPECT_FALSE(scheduler_->Idle());
  EXPECT_EQ(scheduler_->GetStatus().pending, 0);
  EXPECT_EQ(NextDeadline(), "2024-03-04T09:56:10.000+01:00");  // only the SIGKILL
  AdvanceTo("2024-03-04T09:56:03");
  Exit(id, KilledBy(SIGTERM));
  EXPECT_TRUE(scheduler_->Idle());
  EXPECT_EQ(NextDeadline(), "none");
  EXPECT_THAT(History("agg"), ElementsAre("2024-03-04T09:50:00+01:00 interrupted #1 schedule: "
                                          "mlcrond shut down"));
  EXPECT_THAT(History("publish"), IsEmpty());  // left for the next start's catch-up
  AdvanceTo("2024-03-05T10:00");
  EXPECT_THAT(exec_.StartedJobs(), ElementsAre("agg"));
}

TEST_F(SchedulerTest, ShutdownKillsARunThatIgnoresTerm) {
  Make(Pipeline(), "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:51");
  const auto id = exec_.RunIdOf("agg");
  scheduler_->BeginShutdown();
  AdvanceTo("2024-03-04T09:51:10");
  EXPECT_THAT(exec_.signals, ElementsAre(Sig{id, SIGTERM}, Sig{id, SIGKILL}));
  Exit(id, KilledBy(SIGKILL));
  EXPECT_TRUE(scheduler_->Idle());
  EXPECT_EQ(Run(id).status, RunStatus::kInterrupted);
}

// A run the operator killed is finished even if the daemon shuts down before it exits: it
// must stay `killed`, not become `interrupted` and be retried at the next start.
TEST_F(SchedulerTest, ShutdownKeepsAKillInProgress) {
  Make(Pipeline(), "2024-03-04T09:00");
  AdvanceTo("2024-03-04T09:51");
  const auto id = exec_.RunIdOf("agg");
  ASSERT_TRUE(scheduler_->Kill(id).ok());
  scheduler_->BeginShutdown();
  AdvanceTo("2024-03-04T09:51:02");
  Exit(id, KilledBy(SIGTERM));
  EXPECT_THAT(History("agg"),
              ElementsAre("2024-03-04T09:50:00+01:00 killed #1 schedule: killed by mlcron kill"));
  // The next start has nothing to recover.
  exec_.starts.clear();
  scheduler_ =
      std::make_unique<Scheduler>(config_, store_.get(), &exec_, &clock_, &locks_, Seeded());
  ASSERT_TRUE(scheduler_->Start(false).ok());
  scheduler_->Pump();
  EXPECT_THAT(exec_.starts, IsEmpty());
}

}  // namespace
}  // namespace mlcron
