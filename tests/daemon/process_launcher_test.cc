#include "daemon/process_launcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "daemon/log_capture.h"
#include "daemon/proc.h"
#include "daemon/reaper.h"
#include "tests/daemon/process_test_util.h"

namespace mlcron {
namespace {

using namespace mlcron::testing_util;

// Runs spec with its output captured to `log`, waits for it, and returns its exit.
std::optional<ExitInfo> RunCaptured(ProcessLauncher& launcher, SpawnSpec spec,
                                    const std::string& log, pid_t* pid_out = nullptr) {
  boost::asio::io_context io;
  auto capture = LogCapture::Open(io, log, 1 << 20);
  EXPECT_TRUE(capture.ok()) << capture.message();
  if (!capture.ok()) return std::nullopt;
  spec.output_fd = (*capture)->write_fd();
  auto spawned = launcher.Spawn(spec);
  (*capture)->CloseWriteEnd();
  EXPECT_TRUE(spawned.ok()) << spawned.message();
  if (!spawned.ok()) return std::nullopt;
  if (pid_out) *pid_out = spawned->pid;
  (*capture)->Start();
  ExitLog exits;
  auto exit = exits.WaitFor(spawned->pid, &io);
  (*capture)->Finish();
  return exit;
}

TEST(BoostProcessLauncher, RunsArgvWithExactEnvAndCwd) {
  auto launcher = MakeBoostProcessLauncher();
  TempDir dir;

  SpawnSpec echo;
  echo.argv = {"/bin/echo", "hello", "two words"};
  echo.env = BaseEnv();
  auto exit = RunCaptured(*launcher, echo, dir.path() + "/echo.log");
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_FALSE(exit->signal);
  EXPECT_EQ(ReadFile(dir.path() + "/echo.log"), "hello two words\n");

  // argv[0] without '/' is found through the child's PATH; the environment is exactly ours.
  SpawnSpec env;
  env.argv = {"env"};
  env.env = {{"PATH", "/usr/bin:/bin"}, {"FOO", "bar baz"}, {kRunIdEnv, "7"}};
  exit = RunCaptured(*launcher, env, dir.path() + "/env.log");
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_EQ(ReadFile(dir.path() + "/env.log"),
            "FOO=bar baz\nMLCRON_RUN_ID=7\nPATH=/usr/bin:/bin\n");

  std::filesystem::create_directory(dir.path() + "/work");
  SpawnSpec pwd;
  pwd.argv = {"pwd", "-P"};
  pwd.env = BaseEnv();
  pwd.cwd = dir.path() + "/work";
  exit = RunCaptured(*launcher, pwd, dir.path() + "/pwd.log");
  ASSERT_TRUE(exit);
  EXPECT_EQ(ReadFile(dir.path() + "/pwd.log"), std::filesystem::canonical(pwd.cwd).string() + "\n");

  // argv[0] is passed as written, not replaced by the resolved path.
  SpawnSpec argv0;
  argv0.argv = {"sh", "-c", "echo $0"};
  argv0.env = BaseEnv();
  exit = RunCaptured(*launcher, argv0, dir.path() + "/argv0.log");
  ASSERT_TRUE(exit);
  EXPECT_EQ(ReadFile(dir.path() + "/argv0.log"), "sh\n");
}

TEST(BoostProcessLauncher, DistinguishesExitCodeFromSignal) {
  auto launcher = MakeBoostProcessLauncher();
  ExitLog exits;

  SpawnSpec three;
  three.argv = {"/bin/sh", "-c", "exit 3"};
  three.env = BaseEnv();
  auto a = launcher->Spawn(three);
  ASSERT_TRUE(a.ok()) << a.message();

  SpawnSpec killed;
  killed.argv = {"/bin/sh", "-c", "kill -TERM $$"};
  killed.env = BaseEnv();
  auto b = launcher->Spawn(killed);
  ASSERT_TRUE(b.ok()) << b.message();

  auto exit_a = exits.WaitFor(a->pid);
  auto exit_b = exits.WaitFor(b->pid);
  ASSERT_TRUE(exit_a && exit_b);
  EXPECT_EQ(exit_a->exit_code, 3);
  EXPECT_FALSE(exit_a->signal);
  EXPECT_FALSE(exit_b->exit_code);
  EXPECT_EQ(exit_b->signal, SIGTERM);
}

TEST(BoostProcessLauncher, MissingExecutableIsAnErrorAndLeavesNothingToReap) {
  auto launcher = MakeBoostProcessLauncher();
  SpawnSpec spec;
  spec.argv = {"/no/such/bin", "x"};
  spec.env = BaseEnv();
  auto spawned = launcher->Spawn(spec);
  ASSERT_FALSE(spawned.ok());
  EXPECT_EQ(spawned.message(), "cannot start \"/no/such/bin\": No such file or directory");
  EXPECT_TRUE(ReapExited().empty());
  EXPECT_TRUE(ZombieChildren().empty());

  spec.argv = {"no-such-command-mlcron"};
  spawned = launcher->Spawn(spec);
  ASSERT_FALSE(spawned.ok());
  EXPECT_EQ(spawned.message(),
            "cannot start \"no-such-command-mlcron\": No such file or directory");

  spec.argv = {"/bin/true"};
  spec.cwd = "/no/such/dir";
  spawned = launcher->Spawn(spec);
  ASSERT_FALSE(spawned.ok());
  EXPECT_EQ(spawned.message(),
            "cannot start \"/bin/true\": working directory \"/no/such/dir\": No such file or "
            "directory");

  // A failure inside the forked child (before exec) travels back through Boost's error
  // pipe; that child, too, is reaped by Spawn itself.
  spec.cwd.clear();
  spec.output_fd = 1000;  // not open
  spawned = launcher->Spawn(spec);
  ASSERT_FALSE(spawned.ok());
  EXPECT_EQ(spawned.message(), "cannot start \"/bin/true\": Bad file descriptor");
  EXPECT_TRUE(ReapExited().empty());
  EXPECT_TRUE(ZombieChildren().empty());
}

TEST(BoostProcessLauncher, ChildGetsGroupCleanSignalsClosedFdsAndLimits) {
  auto launcher = MakeBoostProcessLauncher();

  // Make the parent as hostile as a daemon can be: SIGPIPE ignored, SIGUSR1 blocked, and
  // an inheritable (non-CLOEXEC) fd open.
  struct sigaction ignore {
  }, old_pipe{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &old_pipe), 0);
  sigset_t usr1, old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, &old_mask), 0);
  int leaked = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 3);

  const int nice_now = ::getpriority(PRIO_PROCESS, 0);
  const int nice_target = std::min(nice_now + 3, 19);
  SpawnSpec spec;
  spec.argv = {"sleep", "5"};
  spec.env = BaseEnv();
  spec.nice = nice_target;
  spec.memory_max_bytes = 1ULL << 30;
  auto spawned = launcher->Spawn(spec);

  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::close(leaked);
  ASSERT_TRUE(spawned.ok()) << spawned.message();
  const pid_t pid = spawned->pid;

  EXPECT_EQ(::getpgid(pid), pid);
  EXPECT_EQ(spawned->start_ticks, ReadStartTicks(pid).value_or(0));
  EXPECT_NE(spawned->start_ticks, 0u);
  EXPECT_EQ(StatusField(pid, "SigBlk"), "0000000000000000");
  EXPECT_EQ(StatusField(pid, "SigIgn"), "0000000000000000");

  // `sleep` itself briefly opens files while it starts (setlocale reads the locale archive),
  // so the listing is retried until it settles; an inherited fd would never go away.
  std::vector<std::string> fds;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  do {
    fds.clear();
    for (const auto& e :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
      fds.push_back(e.path().filename().string());
    }
    std::sort(fds.begin(), fds.end());
    if (fds.size() == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(fds, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/fd/0"), "/dev/null");
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/fd/1"), "/dev/null");

  auto stat = StatFields(pid);
  ASSERT_GT(stat.size(), 16u);
  EXPECT_EQ(stat[19 - 3], std::to_string(nice_target));  // field 19: nice

  std::string limits = ReadFile("/proc/" + std::to_string(pid) + "/limits");
  EXPECT_NE(limits.find("Max address space         1073741824           1073741824"),
            std::string::npos)
      << limits;

  launcher->SignalGroup(pid, SIGKILL);
  ExitLog exits;
  auto exit = exits.WaitFor(pid);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->signal, SIGKILL);
  launcher->SignalGroup(pid, SIGKILL);  // the group is gone: ESRCH is silently fine
}

// The daemon's core guarantee: a job that double-forks a setsid'd grandchild (escaping
// its process group) still leaves nothing behind once the run is killed and reaped.
TEST(BoostProcessLauncher, KillsAndReapsEscapedGrandchildrenAsSubreaper) {
  ASSERT_TRUE(BecomeChildSubreaper().ok());
  auto launcher = MakeBoostProcessLauncher();
  const std::int64_t run_id = UniqueRunId(1);
  const std::string marker = std::to_string(run_id);
  RunCleanup cleanup(run_id);

  SpawnSpec spec;
  spec.argv = {"sh", "-c", "(setsid sleep 300 &) ; sleep 300"};
  spec.env = BaseEnv();
  spec.env[kRunIdEnv] = marker;
  auto spawned = launcher->Spawn(spec);
  ASSERT_TRUE(spawned.ok()) << spawned.message();
  const pid_t pid = spawned->pid;
  cleanup.set_pgid(pid);

  // Wait for the escapee (its own group leader, in a new session) and the group's sleep.
  pid_t escaped = 0;
  ASSERT_TRUE(PollUntil([&] {
    int in_group = 0;
    for (pid_t p : FindProcessesWithEnv(kRunIdEnv, marker)) {
      if (p != pid && ::getpgid(p) == pid) ++in_group;
      if (p != pid && ::getpgid(p) == p && ::getsid(p) == p) escaped = p;
    }
    return escaped != 0 && in_group >= 1;
  }));

  ExitLog exits;
  launcher->SignalGroup(pid, SIGTERM);
  auto exit = exits.WaitFor(pid);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->signal, SIGTERM);
  // The group signal did not reach the escapee.
  EXPECT_EQ(::kill(escaped, 0), 0);
  EXPECT_NE(StatFields(escaped).at(0), "Z");
  // The group's own sleep dies from the same SIGTERM; only the escapee carries on.
  EXPECT_TRUE(PollUntil([&] {
    exits.Sweep();
    return FindProcessesWithEnv(kRunIdEnv, marker) == std::vector<pid_t>{escaped};
  }));

  EXPECT_GE(KillRunProcesses(pid, run_id), 1);
  // Wait for our own reap of the escapee: a dying process loses its environ before it
  // becomes a zombie, so "no marker and no zombie" alone can hold for an instant too early.
  EXPECT_TRUE(PollUntil([&] {
    exits.Sweep();
    return exits.Get(escaped).has_value() && FindProcessesWithEnv(kRunIdEnv, marker).empty() &&
           ZombieChildren().empty();
  }));
  // As subreaper we inherited the escapee and reaped it ourselves.
  auto escaped_exit = exits.Get(escaped);
  ASSERT_TRUE(escaped_exit);
  EXPECT_EQ(escaped_exit->signal, SIGKILL);
  EXPECT_TRUE(ZombieChildren().empty());
}

}  // namespace
}  // namespace mlcron
