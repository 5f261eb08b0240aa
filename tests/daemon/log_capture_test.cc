#include "daemon/log_capture.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>

#include "daemon/proc.h"
#include "daemon/process_launcher.h"
#include "daemon/reaper.h"
#include "tests/daemon/process_test_util.h"

namespace mlcron {
namespace {

using namespace mlcron::testing_util;

TEST(LogCapture, CapsTheFileWithoutBlockingTheChild) {
  boost::asio::io_context io;
  TempDir dir;
  const std::string log = dir.path() + "/job/42.log";  // parent folder does not exist yet
  constexpr std::uint64_t kCap = 64 * 1024;
  constexpr std::uint64_t kTotal = 5 * 1024 * 1024;
  const std::string line = std::string(63, 'x');  // yes adds '\n': 64-byte lines

  auto capture = LogCapture::Open(io, log, kCap);
  ASSERT_TRUE(capture.ok()) << capture.message();
  auto launcher = MakeBoostProcessLauncher();
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "yes " + line + " | head -c " + std::to_string(kTotal)};
  spec.env = BaseEnv();
  spec.output_fd = (*capture)->write_fd();
  auto spawned = launcher->Spawn(spec);
  (*capture)->CloseWriteEnd();
  ASSERT_TRUE(spawned.ok()) << spawned.message();
  (*capture)->Start();

  ExitLog exits;
  auto exit = exits.WaitFor(spawned->pid, &io);
  ASSERT_TRUE(exit) << "the child blocked on a full pipe";
  EXPECT_EQ(exit->exit_code, 0);
  (*capture)->Finish();
  EXPECT_EQ((*capture)->bytes_written(), kCap);

  std::string expected;
  while (expected.size() < kCap) expected += line + "\n";
  expected += "[mlcron] output truncated at 65536 bytes (" + std::to_string(kTotal - kCap) +
              " bytes dropped)\n";
  std::string got = ReadFile(log);
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << got.substr(kCap);
  (void)ReapExited();  // the pipeline's own children were reaped by sh
}

TEST(LogCapture, AppendsNewlineBeforeNoticeAndKeepsSmallOutputWhole) {
  boost::asio::io_context io;
  TempDir dir;
  auto launcher = MakeBoostProcessLauncher();

  for (auto [script, cap, expected] : std::vector<std::tuple<std::string, int, std::string>>{
           {"printf abcdef", 4, "abcd\n[mlcron] output truncated at 4 bytes (2 bytes dropped)\n"},
           {"printf 'ok\\n'; echo err >&2", 100, "ok\nerr\n"},
       }) {
    const std::string log = dir.path() + "/" + std::to_string(cap) + ".log";
    auto capture = LogCapture::Open(io, log, cap);
    ASSERT_TRUE(capture.ok()) << capture.message();
    SpawnSpec spec;
    spec.argv = {"sh", "-c", script};
    spec.env = BaseEnv();
    spec.output_fd = (*capture)->write_fd();
    auto spawned = launcher->Spawn(spec);
    (*capture)->CloseWriteEnd();
    ASSERT_TRUE(spawned.ok()) << spawned.message();
    (*capture)->Start();
    ExitLog exits;
    ASSERT_TRUE(exits.WaitFor(spawned->pid, &io));
    (*capture)->Finish();
    EXPECT_EQ(ReadFile(log), expected) << script;
  }
}

TEST(LogCapture, FinishDoesNotWaitForAnEscapedGrandchildHoldingThePipe) {
  ASSERT_TRUE(BecomeChildSubreaper().ok());
  boost::asio::io_context io;
  TempDir dir;
  const std::string log = dir.path() + "/escape.log";
  const std::int64_t run_id = UniqueRunId(2);
  RunCleanup cleanup(run_id);

  auto capture = LogCapture::Open(io, log, 1 << 20);
  ASSERT_TRUE(capture.ok()) << capture.message();
  auto launcher = MakeBoostProcessLauncher();
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "echo hi; (setsid sleep 300 &)"};
  spec.env = BaseEnv();
  spec.env[kRunIdEnv] = std::to_string(run_id);
  spec.output_fd = (*capture)->write_fd();
  auto spawned = launcher->Spawn(spec);
  (*capture)->CloseWriteEnd();
  ASSERT_TRUE(spawned.ok()) << spawned.message();
  cleanup.set_pgid(spawned->pid);
  (*capture)->Start();

  ExitLog exits;
  auto exit = exits.WaitFor(spawned->pid, &io);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code, 0);
  // The escapee still holds the write end, so the pipe never reaches EOF.
  ASSERT_TRUE(
      PollUntil([&] { return !FindProcessesWithEnv(kRunIdEnv, std::to_string(run_id)).empty(); }));

  auto start = std::chrono::steady_clock::now();
  (*capture)->Finish();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(ReadFile(log), "hi\n");

  EXPECT_GE(KillRunProcesses(spawned->pid, run_id), 1);
  EXPECT_TRUE(PollUntil([&] {
    exits.Sweep();
    return FindProcessesWithEnv(kRunIdEnv, std::to_string(run_id)).empty() &&
           ZombieChildren().empty();
  }));
}

// Finish() and destruction while an asynchronous wait is still queued must not leave the
// handler touching freed memory (run under ASan).
TEST(LogCapture, FinishAndDestroyWithAPendingHandlerIsSafe) {
  boost::asio::io_context io;
  TempDir dir;
  const std::string log = dir.path() + "/pending.log";
  auto capture = LogCapture::Open(io, log, 1024);
  ASSERT_TRUE(capture.ok()) << capture.message();
  ASSERT_EQ(::write((*capture)->write_fd(), "abc", 3), 3);
  (*capture)->Start();  // the handler is queued but has not run
  (*capture)->Finish();
  EXPECT_EQ(ReadFile(log), "abc");  // Finish drained what was buffered
  (*capture)->Finish();             // idempotent
  capture = Status::Error("dropped");
  io.restart();
  io.poll();  // the cancelled handler runs after its LogCapture is gone

  auto second = LogCapture::Open(io, dir.path() + "/destroyed.log", 1024);
  ASSERT_TRUE(second.ok());
  (*second)->Start();
  second = Status::Error("dropped without Finish");
  io.restart();
  io.poll();
}

TEST(LogCapture, OpenReportsAnUnusablePath) {
  boost::asio::io_context io;
  auto capture = LogCapture::Open(io, "/dev/null/sub/x.log", 10);
  ASSERT_FALSE(capture.ok());
  EXPECT_NE(capture.message().find("/dev/null/sub"), std::string::npos) << capture.message();
}

}  // namespace
}  // namespace mlcron
