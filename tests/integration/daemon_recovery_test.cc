// Crash recovery and shutdown through the real mlcrond (DESIGN.md §4 "Catch-up", "Shutdown",
// §5): runs left `running` by a SIGKILLed daemon are marked interrupted, their leftover
// processes killed, and the occurrence retried exactly once; a finished occurrence never
// starts again; SIGTERM interrupts running jobs within their grace and the next start retries
// them.
#include <gtest/gtest.h>

#include "tests/integration/daemon_test_util.h"

namespace mlcron::integration {
namespace {

class DaemonRecoveryTest : public DaemonTest {};

// The job finishes at once when the file `go` exists; otherwise it starts an escaped
// grandchild (setsid: its own session and group) and waits.
constexpr const char* kBlockingJob =
    "        argv: [/bin/sh, -c, 'if [ -e go ]; then echo quick; exit 0; fi; "
    "setsid sleep 300 & sleep 300']\n";

std::vector<RunRecord> OfOccurrence(const std::vector<RunRecord>& runs, const std::string& job,
                                    Instant scheduled) {
  std::vector<RunRecord> out;
  for (const auto& r : runs) {
    if (r.job == job && r.scheduled == scheduled) out.push_back(r);
  }
  return out;
}

TEST_F(DaemonRecoveryTest, SigkilledDaemonInterruptsKillsLeftoversAndRetriesOnce) {
  BecomeSubreaper();
  WriteConfig(OneJob(kNever, "long", kBlockingJob));

  // 1. Start the job and wait until it and its escaped grandchild run.
  DaemonProcess* first = StartReady({"--run-now"});
  auto run = WaitForRunning("long");
  ASSERT_TRUE(run) << first->Log();
  const pid_t job_pid = static_cast<pid_t>(run->pid);
  std::vector<pid_t> leftovers;
  ASSERT_TRUE(WaitUntil([&] {
    leftovers = RunProcesses(run->id);
    return std::any_of(leftovers.begin(), leftovers.end(), [&](pid_t pid) {
      auto stat = ReadProcStat(pid);
      return stat && stat->session != ReadProcStat(job_pid).value_or(ProcStat{}).session;
    });
  })) << "the escaped grandchild never appeared";
  ASSERT_TRUE(std::count(leftovers.begin(), leftovers.end(), job_pid));

  // 2. Crash: the job's processes outlive the daemon (they are reparented to us).
  first->Kill();
  for (pid_t pid : leftovers) EXPECT_FALSE(ProcessGone(pid)) << pid;
  ASSERT_EQ(Run(run->id)->status, RunStatus::kRunning);

  // 3. Restart: the run is marked interrupted, naming the pid, and every leftover dies.
  WriteFileInPlace(Path("go"), "");
  DaemonProcess* second = StartReady();
  auto interrupted = WaitForSettled(run->id);
  ASSERT_TRUE(interrupted) << second->Log();
  EXPECT_EQ(interrupted->status, RunStatus::kInterrupted);
  EXPECT_NE(interrupted->reason.find("pid " + std::to_string(job_pid)), std::string::npos)
      << interrupted->reason;
  EXPECT_TRUE(WaitUntil(
      [&] {
        ReapStrays();
        return std::all_of(leftovers.begin(), leftovers.end(), ProcessGone);
      },
      5s))
      << "leftover processes of run " << run->id << " survived";
  EXPECT_TRUE(RunProcesses(run->id).empty());

  // 4. The occurrence is retried once, as attempt 2 with trigger "recovery", and succeeds.
  auto retry = WaitForRun([&](const RunRecord& r) {
    return r.id != run->id && r.job == "long" && r.status == RunStatus::kSucceeded;
  });
  ASSERT_TRUE(retry) << second->Log();
  EXPECT_EQ(retry->scheduled, run->scheduled);
  EXPECT_EQ(retry->trigger, "recovery");
  EXPECT_EQ(retry->attempt, 2);
  EXPECT_EQ(OfOccurrence(Runs(), "long", run->scheduled).size(), 2u);
  EXPECT_EQ(second->Stop(), 0) << second->Log();

  // 5. A finished occurrence never starts again, across another restart.
  std::remove(Path("go").c_str());
  DaemonProcess* third = StartReady();
  // Recovery starts its runs in the loop's first pass, before the "ready" line; allow a beat.
  EXPECT_FALSE(
      WaitUntil([&] { return OfOccurrence(Runs(), "long", run->scheduled).size() > 2; }, 500ms))
      << third->Log();
  const auto attempts = OfOccurrence(Runs(), "long", run->scheduled);
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].status, RunStatus::kInterrupted);
  EXPECT_EQ(attempts[1].status, RunStatus::kSucceeded);
  EXPECT_EQ(third->CountLog("retrying the interrupted occurrence"), 0) << third->Log();
  EXPECT_EQ(third->Stop(), 0);

  // The CLI sees the same history.
  CliResult history = RunCli({"history", "--json", "--config", config_path()});
  EXPECT_EQ(history.exit_code, 0) << history.err;
  EXPECT_NE(history.out.find("\"status\": \"interrupted\""), std::string::npos) << history.out;
  EXPECT_NE(history.out.find("\"trigger\": \"recovery\""), std::string::npos) << history.out;
}

TEST_F(DaemonRecoveryTest, SigtermInterruptsRunningJobAndNextStartRetriesIt) {
  WriteConfig(OneJob(kNever, "long", "        kill_grace: 2s\n" + std::string(kBlockingJob)));
  DaemonProcess* first = StartReady({"--run-now"});
  auto run = WaitForRunning("long");
  ASSERT_TRUE(run) << first->Log();
  ASSERT_TRUE(WaitUntil([&] { return RunProcesses(run->id).size() >= 2; }));

  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(first->Stop(5s), 0) << first->Log();
  // kill_grace 2s plus a margin for the loop and a sanitizer build.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3500ms);
  auto settled = Run(run->id);
  ASSERT_TRUE(settled);
  EXPECT_EQ(settled->status, RunStatus::kInterrupted);
  EXPECT_EQ(settled->reason, "mlcrond shut down");
  EXPECT_TRUE(WaitUntil([&] { return TaggedJobProcesses().empty(); }, 3s))
      << "job processes survived the daemon's shutdown";

  // The next start retries the interrupted occurrence once.
  WriteFileInPlace(Path("go"), "");
  DaemonProcess* second = StartReady();
  auto retry = WaitForRun([&](const RunRecord& r) {
    return r.id != run->id && r.job == "long" && r.status == RunStatus::kSucceeded;
  });
  ASSERT_TRUE(retry) << second->Log();
  EXPECT_EQ(retry->trigger, "recovery");
  EXPECT_EQ(retry->attempt, 2);
  EXPECT_EQ(retry->scheduled, run->scheduled);
  EXPECT_EQ(second->Stop(), 0);
  EXPECT_EQ(OfOccurrence(Runs(), "long", run->scheduled).size(), 2u);
}

}  // namespace
}  // namespace mlcron::integration
