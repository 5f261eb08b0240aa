#include "daemon/proc.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "daemon/process_launcher.h"
#include "daemon/reaper.h"
#include "tests/daemon/process_test_util.h"

namespace mlcron {
namespace {

using namespace mlcron::testing_util;

TEST(Proc, ReadBootIdIsAUuid) {
  std::string id = ReadBootId();
  EXPECT_EQ(id.size(), 36u) << id;
  EXPECT_EQ(id, ReadBootId());
  EXPECT_EQ(id.find('\n'), std::string::npos);
}

TEST(Proc, ReadStartTicksOfSelfAndMissingPid) {
  auto self = ReadStartTicks(::getpid());
  ASSERT_TRUE(self);
  EXPECT_EQ(std::to_string(*self), StatFields(::getpid()).at(22 - 3));
  EXPECT_FALSE(ReadStartTicks(0));
  EXPECT_FALSE(ReadStartTicks(-5));
  // pid_max itself is never handed out.
  int pid_max = std::stoi(ReadFile("/proc/sys/kernel/pid_max"));
  EXPECT_FALSE(ReadStartTicks(pid_max));
}

TEST(Proc, ReadStartTicksSurvivesParenthesesAndSpacesInComm) {
  auto before = ReadStartTicks(::getpid());
  char old_name[17] = {};
  ASSERT_EQ(::prctl(PR_GET_NAME, old_name), 0);
  ASSERT_EQ(::prctl(PR_SET_NAME, "a) b 1 (c) 2"), 0);
  auto after = ReadStartTicks(::getpid());
  ::prctl(PR_SET_NAME, old_name);
  EXPECT_EQ(before, after);
}

TEST(Proc, FindsProcessesByEnvironmentMarker) {
  auto launcher = MakeBoostProcessLauncher();
  const std::int64_t run_id = UniqueRunId(3);
  const std::string marker = std::to_string(run_id);
  RunCleanup cleanup(run_id);

  SpawnSpec spec;
  spec.argv = {"sleep", "30"};
  spec.env = BaseEnv();
  spec.env[kRunIdEnv] = marker;
  auto spawned = launcher->Spawn(spec);
  ASSERT_TRUE(spawned.ok()) << spawned.message();
  cleanup.set_pgid(spawned->pid);

  EXPECT_EQ(FindProcessesWithEnv(kRunIdEnv, marker), std::vector<pid_t>{spawned->pid});
  // A prefix of the value, or of the name, is not a match.
  EXPECT_TRUE(FindProcessesWithEnv(kRunIdEnv, marker.substr(0, marker.size() - 1)).empty());
  EXPECT_TRUE(FindProcessesWithEnv("MLCRON_RUN", marker).empty());

  EXPECT_EQ(KillRunProcesses(spawned->pid, run_id), 1);
  ExitLog exits;
  auto exit = exits.WaitFor(spawned->pid);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->signal, SIGKILL);
  EXPECT_EQ(KillRunProcesses(spawned->pid, run_id), 0);
}

TEST(Proc, KillRunProcessesNeverTargetsOurOwnGroup) {
  // pgid 0 / 1 / our own group would hit ourselves or everyone; they must be ignored.
  EXPECT_EQ(KillRunProcesses(0, UniqueRunId(4)), 0);
  EXPECT_EQ(KillRunProcesses(1, UniqueRunId(4)), 0);
  EXPECT_EQ(KillRunProcesses(::getpgrp(), UniqueRunId(4)), 0);
}

TEST(Reaper, ReportsCpuTimeAndReturnsEmptyWithoutChildren) {
  EXPECT_TRUE(ReapExited().empty());
  auto launcher = MakeBoostProcessLauncher();
  SpawnSpec spec;
  // Busy for roughly 0.1-0.5 s of user time.
  spec.argv = {"sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"};
  spec.env = BaseEnv();
  auto spawned = launcher->Spawn(spec);
  ASSERT_TRUE(spawned.ok()) << spawned.message();
  ExitLog exits;
  auto exit = exits.WaitFor(spawned->pid, nullptr, std::chrono::seconds(30));
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_GT(exit->cpu_user_s + exit->cpu_sys_s, 0.0);
  EXPECT_TRUE(ReapExited().empty());
}

}  // namespace
}  // namespace mlcron
