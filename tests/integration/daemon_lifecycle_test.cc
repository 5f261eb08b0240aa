// mlcrond from start to stop as an operator sees it: start-up refusals (bad config, a second
// daemon, damaged or locked state), systemd notifications, the control socket, and how jobs
// are run, timed out and killed (DESIGN.md §4 "Processes", §5, §10).
#include <sqlite3.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "tests/fake_notify_socket.h"
#include "tests/integration/daemon_test_util.h"

namespace mlcron::integration {
namespace {

class DaemonLifecycleTest : public DaemonTest {};

std::string Job(const std::string& argv_yaml, const std::string& more = "") {
  return "        argv: " + argv_yaml + "\n" + more;
}

// ---- processes ----

TEST_F(DaemonLifecycleTest, TimeoutKillsEscapedDescendantsAndLeavesNoZombies) {
  WriteConfig(OneJob(kNever, "escape",
                     Job(R"([/bin/sh, -c, '(setsid sh -c "sleep 300" &) ; sleep 300'])",
                         "        timeout: 2s\n        kill_grace: 1s\n")));
  DaemonProcess* d = StartReady({"--run-now"});
  auto run = WaitForRunning("escape");
  ASSERT_TRUE(run) << d->Log();
  std::vector<pid_t> escaped;
  ASSERT_TRUE(WaitUntil([&] {
    escaped.clear();
    for (pid_t pid : RunProcesses(run->id)) {
      auto stat = ReadProcStat(pid);
      if (stat && stat->session == pid) escaped.push_back(pid);  // setsid: its own session
    }
    return !escaped.empty();
  })) << "the escaped descendant never appeared";

  auto settled = WaitForSettled(run->id, 8s);
  ASSERT_TRUE(settled) << d->Log();
  EXPECT_EQ(settled->status, RunStatus::kTimedOut);
  EXPECT_EQ(settled->reason, "timed out after 2s");
  EXPECT_TRUE(WaitUntil([&] { return RunProcesses(run->id).empty(); }, 3s))
      << "a process of run " << run->id << " survived its timeout";
  for (pid_t pid : escaped) EXPECT_TRUE(ProcessGone(pid)) << pid;
  // The escaped process was reparented to the daemon (a subreaper) and must be reaped by it.
  EXPECT_TRUE(WaitUntil([&] { return ZombieChildrenOf(d->pid()).empty(); }, 3s));
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(DaemonLifecycleTest, JobIgnoringSigtermIsKilledAfterGrace) {
  WriteConfig(OneJob(kNever, "stubborn",
                     Job(R"([/bin/sh, -c, 'trap "" TERM; sleep 300'])",
                         "        timeout: 1s\n        kill_grace: 1s\n")));
  DaemonProcess* d = StartReady({"--run-now"});
  auto run = WaitForRunning("stubborn");
  ASSERT_TRUE(run) << d->Log();
  auto settled = WaitForSettled(run->id, 8s);
  ASSERT_TRUE(settled) << d->Log();
  EXPECT_EQ(settled->status, RunStatus::kTimedOut);
  EXPECT_EQ(settled->signal, SIGKILL);
  ASSERT_TRUE(settled->started && settled->ended);
  // SIGTERM at 1 s was ignored; SIGKILL came after the 1 s grace.
  EXPECT_GE(*settled->ended - *settled->started, 1900ms);
  EXPECT_NE(d->LogLine("still alive after kill_grace; SIGKILL sent"), "") << d->Log();
  EXPECT_TRUE(WaitUntil([&] { return RunProcesses(run->id).empty(); }, 3s));
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(DaemonLifecycleTest, MissingExecutableFailsRetriesAndRunsOnFailureOnce) {
  WriteConfig(
      OneJob(kNever, "missing",
             Job("[/no/such/bin]",
                 "        retries: 1\n        retry_delay: 1s\n"
                 "        on_failure: [/bin/sh, -c, 'echo \"{job} {status}\" >> hook.out']\n")));
  DaemonProcess* d = StartReady({"--run-now"});
  ASSERT_TRUE(WaitUntil([&] { return fs::exists(Path("hook.out")); }, 8s)) << d->Log();
  auto runs = Runs("missing");
  ASSERT_EQ(runs.size(), 2u) << d->Log();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(runs[i].status, RunStatus::kFailed);
    EXPECT_EQ(runs[i].attempt, i + 1);
    EXPECT_EQ(runs[i].reason, R"(cannot start "/no/such/bin": No such file or directory)");
  }
  EXPECT_EQ(runs[1].trigger, "retry");
  // The hook has exited once its line is there; nothing else may start it again.
  ASSERT_TRUE(d->WaitForLog("on_failure hook pid"));
  EXPECT_EQ(d->Stop(), 0);
  EXPECT_EQ(ReadFile(Path("hook.out")), "missing failed\n");
  EXPECT_EQ(Runs("missing").size(), 2u);
}

TEST_F(DaemonLifecycleTest, HugeOutputIsCappedAndDaemonStaysResponsive) {
  WriteConfig(OneJob(
      kNever, "chatty",
      Job("[/bin/sh, -c, 'yes 0123456789abcdef | head -c 52428800']", "        log_max: 1M\n")));
  DaemonProcess* d = StartReady({"--run-now"});
  auto run = WaitForRun([](const RunRecord& r) { return r.job == "chatty"; });
  ASSERT_TRUE(run) << d->Log();
  // The control socket answers while (or just after) the job floods its pipe.
  CliResult status = RunCli({"status", "--config", config_path()});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  auto settled = WaitForSettled(run->id, 30s);
  ASSERT_TRUE(settled) << d->Log();
  EXPECT_EQ(settled->status, RunStatus::kSucceeded) << settled->reason;
  const std::string log = ReadFile(settled->log_path);
  // 1 MiB ends inside a 17-byte line, so the notice starts on a line of its own.
  const std::string notice = "\n[mlcron] output truncated at 1048576 bytes (" +
                             std::to_string(52428800 - 1048576) + " bytes dropped)\n";
  EXPECT_EQ(log.size(), 1048576 + notice.size());
  EXPECT_EQ(log.substr(1048576), notice);
  EXPECT_EQ(log.substr(0, 17), "0123456789abcdef\n");
  status = RunCli({"status", "--json", "--config", config_path()});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(DaemonLifecycleTest, JobEndingInOneStateDirNeverKillsAnotherDaemonsJob) {
  // Two daemons with their own state directories both number their first run 1, and both
  // sweep for leftovers by run id when a job ends.
  WriteConfig(OneJob(kNever, "long", Job("[/bin/sleep, '300']")));
  fs::create_directories(Path("other"));
  const std::string other_config = Path("other/mlcron.yaml");
  const std::string other_db = Path("other/state/mlcron.db");
  WriteFileInPlace(other_config, OneJob(kNever, "quick", Job("[/bin/sh, -c, 'sleep 0.2']")));

  DaemonProcess* a = StartReady({"--run-now"});
  auto run = WaitForRunning("long");
  ASSERT_TRUE(run) << a->Log();
  ASSERT_EQ(run->id, 1);
  DaemonProcess* b = StartReady({"--run-now"}, {}, other_config);
  ASSERT_TRUE(WaitUntil([&] {
    auto runs = Runs("quick", other_db);
    return !runs.empty() && runs[0].status == RunStatus::kSucceeded;
  })) << b->Log();
  EXPECT_EQ(Runs("quick", other_db)[0].id, 1);
  EXPECT_EQ(b->Stop(), 0);

  EXPECT_FALSE(ProcessGone(static_cast<pid_t>(run->pid)));
  EXPECT_EQ(Run(run->id)->status, RunStatus::kRunning) << a->Log();
  EXPECT_EQ(a->Stop(), 0);
}

// ---- control socket ----

TEST_F(DaemonLifecycleTest, ControlSocketIsPrivateAndStatusReportsRunningJob) {
  WriteConfig(OneJob(kNever, "long", Job("[/bin/sleep, '300']")));
  DaemonProcess* d = StartReady({"--run-now"});
  auto run = WaitForRunning("long");
  ASSERT_TRUE(run) << d->Log();

  struct stat st {};
  ASSERT_EQ(::stat((state_dir() + "/control.sock").c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  CliResult status = RunCli({"status", "--json", "--config", config_path()});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto json = nlohmann::json::parse(status.out, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << status.out;
  ASSERT_EQ(json["running"].size(), 1u) << status.out;
  EXPECT_EQ(json["running"][0]["job"], "long");
  EXPECT_EQ(json["running"][0]["run_id"], run->id);
  EXPECT_EQ(json["running"][0]["pid"], run->pid);
  EXPECT_EQ(json["running"][0]["attempt"], 1);
  EXPECT_EQ(d->Stop(), 0);
}

// ---- systemd ----

std::optional<std::string> ReceiveMatching(FakeNotifySocket& socket, const std::string& needle,
                                           Ms timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return std::nullopt;
    auto message = socket.Receive(left);
    if (!message) return std::nullopt;
    if (message->find(needle) != std::string::npos) return message;
  }
}

TEST_F(DaemonLifecycleTest, NotifiesSystemdAndKeepsItsVariablesFromJobs) {
  WriteConfig(OneJob(kNever, "env", Job("[/bin/sh, -c, 'env > env.out']")));
  FakeNotifySocket socket;
  DaemonProcess* d =
      StartDaemon({"--run-now"}, {"NOTIFY_SOCKET=" + socket.path(), "WATCHDOG_USEC=400000"});

  auto first = socket.Receive(15s);
  ASSERT_TRUE(first) << d->Log();
  const bool db_exists_at_ready = fs::exists(db_path());
  EXPECT_NE(first->find("READY=1"), std::string::npos) << *first;
  EXPECT_TRUE(db_exists_at_ready);
  EXPECT_NE(first->find("MAINPID=" + std::to_string(d->pid())), std::string::npos) << *first;

  // WATCHDOG_USEC=400 ms: pings every 200 ms.
  int pings = 0;
  const auto until = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < until) {
    auto message = socket.Receive(
        std::chrono::duration_cast<Ms>(until - std::chrono::steady_clock::now()) + 1ms);
    if (message && message->find("WATCHDOG=1") != std::string::npos) ++pings;
  }
  EXPECT_GE(pings, 2);

  d->Signal(SIGHUP);
  auto reloading = ReceiveMatching(socket, "RELOADING=1", 5s);
  ASSERT_TRUE(reloading) << d->Log();
  EXPECT_NE(reloading->find("MONOTONIC_USEC="), std::string::npos) << *reloading;
  EXPECT_TRUE(ReceiveMatching(socket, "READY=1", 5s)) << d->Log();

  auto run = WaitForRun(
      [](const RunRecord& r) { return r.job == "env" && r.status == RunStatus::kSucceeded; });
  ASSERT_TRUE(run) << d->Log();
  const std::string env = ReadFile(Path("env.out"));
  EXPECT_NE(env.find("MLCRON_RUN_ID="), std::string::npos) << env;
  EXPECT_EQ(env.find("NOTIFY_SOCKET"), std::string::npos) << env;
  EXPECT_EQ(env.find("WATCHDOG_USEC"), std::string::npos) << env;

  d->Signal(SIGTERM);
  EXPECT_TRUE(ReceiveMatching(socket, "STOPPING=1", 5s));
  EXPECT_EQ(d->WaitExit(), 0);
}

// ---- start-up refusals ----

TEST_F(DaemonLifecycleTest, SecondDaemonOnSameStateDirExits1) {
  WriteConfig(OneJob(kNever, "j", Job("[/bin/true]")));
  DaemonProcess* first = StartReady();
  DaemonProcess* second = StartDaemon();
  EXPECT_EQ(second->WaitExit(), 1) << second->Log();
  EXPECT_NE(second->Log().find("another mlcrond"), std::string::npos) << second->Log();
  // The first one is unaffected.
  CliResult status = RunCli({"status", "--config", config_path()});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(first->Stop(), 0);
}

TEST_F(DaemonLifecycleTest, BadConfigExits2WithPositions) {
  WriteConfig(OneJob("every: 1s", "j", Job("[/bin/true]", "        timout: 5s\n")) +
              "bogus_top: 1\n");
  DaemonProcess* d = StartDaemon();
  EXPECT_EQ(d->WaitExit(), 2) << d->Log();
  const std::string log = d->Log();
  const std::regex position(config_path() + R"(:\d+:\d+: )");
  EXPECT_TRUE(std::regex_search(log, position)) << log;
  EXPECT_NE(log.find("timout"), std::string::npos) << log;
  EXPECT_NE(log.find("did you mean"), std::string::npos) << log;
  EXPECT_NE(log.find("bogus_top"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(db_path()));
}

TEST_F(DaemonLifecycleTest, CorruptStateIsRefusedAndLeftUntouched) {
  WriteConfig(OneJob(kNever, "j", Job("[/bin/true]")));
  fs::create_directories(state_dir());
  std::string garbage;
  for (int i = 0; i < 8192; ++i) garbage.push_back(static_cast<char>((i * 7919 + 13) % 256));
  WriteFileInPlace(db_path(), garbage);

  DaemonProcess* d = StartDaemon();
  EXPECT_EQ(d->WaitExit(), 1) << d->Log();
  const std::string log = d->Log();
  EXPECT_NE(log.find(db_path()), std::string::npos) << log;
  EXPECT_NE(log.find("not a SQLite database"), std::string::npos) << log;
  EXPECT_EQ(ReadFile(db_path()), garbage);
  EXPECT_FALSE(fs::exists(db_path() + "-wal"));
  EXPECT_FALSE(fs::exists(db_path() + "-journal"));
}

TEST_F(DaemonLifecycleTest, LockedStateIsRefusedNeverReset) {
  WriteConfig(OneJob(kNever, "j", Job("[/bin/true]")));
  // A real state database with one run, switched to a rollback journal so that an exclusive
  // transaction keeps readers out too (in WAL mode readers would get through).
  DaemonProcess* first = StartReady({"--run-now"});
  ASSERT_TRUE(WaitForRun([](const RunRecord& r) { return r.status == RunStatus::kSucceeded; }));
  ASSERT_EQ(first->Stop(), 0);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA journal_mode = DELETE", nullptr, nullptr, nullptr), SQLITE_OK);
  const std::string before = ReadFile(db_path());
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);

  DaemonProcess* d = StartDaemon();
  const auto exit = d->WaitExit(20s);  // the daemon waits out its 5 s busy_timeout first
  const std::string log = d->Log();
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(exit, 1) << log;
  EXPECT_NE(log.find(db_path()), std::string::npos) << log;
  EXPECT_NE(log.find("lock"), std::string::npos) << log;
  EXPECT_EQ(ReadFile(db_path()), before) << "the locked state database was modified";
  auto runs = Runs();
  EXPECT_EQ(runs.size(), 1u);
}

}  // namespace
}  // namespace mlcron::integration
