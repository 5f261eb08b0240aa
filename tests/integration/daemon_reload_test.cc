// Reload through the real mlcrond (DESIGN.md §4 "Reload"): SIGHUP and config file changes
// (inotify) swap in a valid config and log the changed schedules; an invalid one is logged
// with FILE:LINE:COL and the old schedule keeps running; a reload never fires a job by itself
// and leaves running jobs alone.
#include <gtest/gtest.h>

#include <regex>

#include "tests/integration/daemon_test_util.h"

namespace mlcron::integration {
namespace {

class DaemonReloadTest : public DaemonTest {};

std::string Tick(const std::string& schedule_yaml) {
  return OneJob(schedule_yaml, "tick", "        argv: [/bin/true]\n");
}

int CountSucceeded(const std::vector<RunRecord>& runs, const std::string& job) {
  return static_cast<int>(std::count_if(runs.begin(), runs.end(), [&](const RunRecord& r) {
    return r.job == job && r.status == RunStatus::kSucceeded;
  }));
}

TEST_F(DaemonReloadTest, SighupSwapsInChangedSchedule) {
  // The daemon reads the config through a symlink in a directory whose file never changes,
  // so inotify stays quiet and only SIGHUP can reload it.
  fs::create_directories(Path("real"));
  const std::string real = Path("real/mlcron.yaml");
  WriteFileInPlace(real, Tick("every: 1h"));
  fs::create_symlink(real, config_path());
  DaemonProcess* d = StartReady();

  WriteFileInPlace(real, Tick("every: 2s"));
  d->Signal(SIGHUP);
  ASSERT_TRUE(d->WaitForLog("job tick rescheduled", 5s)) << d->Log();
  auto run = WaitForRun(
      [](const RunRecord& r) { return r.job == "tick" && r.status == RunStatus::kSucceeded; }, 5s);
  ASSERT_TRUE(run) << d->Log();
  EXPECT_EQ(run->trigger, "schedule");
  EXPECT_EQ(run->scheduled.time_since_epoch().count() % 2, 0);
  EXPECT_EQ(d->CountLog("config file changed"), 0) << d->Log();
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(DaemonReloadTest, FileChangeReloadsWithoutSighup) {
  WriteConfig(Tick("every: 1h"));
  DaemonProcess* d = StartReady();

  // An editor's save: a new file renamed over the old one.
  WriteFileByRename(config_path(), Tick("every: 2s"));
  ASSERT_TRUE(d->WaitForLog("job tick rescheduled", 5s)) << d->Log();
  EXPECT_GE(d->CountLog("config file changed"), 1);
  ASSERT_TRUE(WaitForRun(
      [](const RunRecord& r) { return r.job == "tick" && r.status == RunStatus::kSucceeded; }, 5s))
      << d->Log();

  // An edit in place (truncate and write).
  WriteFileInPlace(config_path(), Tick("every: 1h"));
  ASSERT_TRUE(d->WaitForLog("job tick rescheduled", 5s, 2)) << d->Log();
  EXPECT_NE(d->Log().find("-> UTC every 1h"), std::string::npos) << d->Log();
  EXPECT_EQ(d->CountLog("SIGHUP"), 0);
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(DaemonReloadTest, InvalidEditsAreLoggedAndOldScheduleKeepsRunning) {
  WriteConfig(Tick("every: 1s"));
  DaemonProcess* d = StartReady();
  ASSERT_TRUE(WaitForRun([](const RunRecord& r) {
    return r.job == "tick" && r.status == RunStatus::kSucceeded;
  })) << d->Log();
  const std::regex position(config_path() + R"(:\d+:\d+: )");

  // 1. Not YAML at all.
  WriteFileInPlace(config_path(), "tiers: [\n  - {tier: 1, name: t\n  jobs: ]]]\n");
  ASSERT_TRUE(d->WaitForLog("the running config stays in force", 5s)) << d->Log();
  EXPECT_TRUE(std::regex_search(d->Log(), position)) << d->Log();
  int before = CountSucceeded(Runs(), "tick");
  EXPECT_TRUE(WaitUntil([&] { return CountSucceeded(Runs(), "tick") >= before + 2; }, 5s))
      << "the old schedule stopped after an invalid edit\n"
      << d->Log();

  // 2. Valid YAML with an unknown key.
  WriteFileInPlace(config_path(), OneJob("every: 1s", "tick",
                                         "        argv: [/bin/true]\n        timeoutt: 5s\n"));
  ASSERT_TRUE(d->WaitForLog("the running config stays in force", 5s, 2)) << d->Log();
  const std::string line = d->LogLine("timeoutt");
  EXPECT_TRUE(std::regex_search(line, position)) << line;
  EXPECT_NE(line.find("did you mean"), std::string::npos) << line;
  before = CountSucceeded(Runs(), "tick");
  EXPECT_TRUE(WaitUntil([&] { return CountSucceeded(Runs(), "tick") >= before + 2; }, 5s))
      << "the old schedule stopped after an invalid edit\n"
      << d->Log();
  EXPECT_EQ(d->CountLog("rescheduled"), 0);
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(DaemonReloadTest, ReloadNeverFiresJobsAndLeavesRunningOnesAlone) {
  const std::string hold =
      "        argv: [/bin/sh, -c, 'while [ ! -e release ]; do sleep 0.05; done; echo held']\n";
  WriteConfig(OneJob(kNever, "hold", hold));
  DaemonProcess* d = StartReady({"--run-now"});
  auto run = WaitForRunning("hold");
  ASSERT_TRUE(run) << d->Log();

  // `every: 1h` has an instant less than an hour ago, which a reload must not fire. Keep
  // clear of the hour boundary, where the schedule itself would fire during the check.
  const auto into_hour = std::chrono::system_clock::now().time_since_epoch() % 1h;
  if (into_hour > 1h - 5s) std::this_thread::sleep_for(1h - into_hour + 100ms);
  // The new config changes the schedule and the job's argv; the running run keeps its own.
  WriteConfig(OneJob("every: 1h", "hold", "        argv: [/bin/false]\n"));
  d->Signal(SIGHUP);
  ASSERT_TRUE(d->WaitForLog("job hold rescheduled", 5s)) << d->Log();

  EXPECT_FALSE(WaitUntil([&] { return Runs().size() > 1; }, 3s)) << "a reload fired a job\n"
                                                                 << d->Log();
  auto still = Run(run->id);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, RunStatus::kRunning);
  EXPECT_EQ(still->pid, run->pid);
  EXPECT_FALSE(ProcessGone(static_cast<pid_t>(run->pid)));

  WriteFileInPlace(Path("release"), "");
  auto settled = WaitForSettled(run->id);
  ASSERT_TRUE(settled) << d->Log();
  EXPECT_EQ(settled->status, RunStatus::kSucceeded) << settled->reason;
  EXPECT_EQ(settled->pid, run->pid);
  EXPECT_EQ(ReadFile(settled->log_path), "held\n");
  EXPECT_EQ(Runs().size(), 1u);
  EXPECT_EQ(d->Stop(), 0);
}

}  // namespace
}  // namespace mlcron::integration
