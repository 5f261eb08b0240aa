#include "daemon/sd_notify.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "tests/fake_notify_socket.h"

namespace mlcron {
namespace {

using std::chrono::milliseconds;

// Sets (or unsets, with nullopt) one environment variable for the scope of a test and
// restores the previous value, so tests do not leak NOTIFY_SOCKET into each other.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

constexpr milliseconds kWait{2000};  // bounded; a datagram to a local socket is immediate

void ExpectAllMessages(FakeNotifySocket& fake) {
  ScopedEnv notify("NOTIFY_SOCKET", fake.path());
  SystemdNotifier notifier;
  ASSERT_TRUE(notifier.enabled());

  ASSERT_TRUE(notifier.Ready("loaded 3 tiers"));
  EXPECT_EQ(fake.Receive(kWait),
            "READY=1\nSTATUS=loaded 3 tiers\nMAINPID=" + std::to_string(getpid()));

  ASSERT_TRUE(notifier.Watchdog());
  EXPECT_EQ(fake.Receive(kWait), "WATCHDOG=1");

  ASSERT_TRUE(notifier.Reloading());
  const std::optional<std::string> reloading = fake.Receive(kWait);
  ASSERT_TRUE(reloading);
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_EQ(reloading->substr(0, prefix.size()), prefix);
  const std::string usec = reloading->substr(prefix.size());
  ASSERT_FALSE(usec.empty());
  EXPECT_EQ(usec.find_first_not_of("0123456789"), std::string::npos) << usec;
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  EXPECT_LE(std::stoull(usec), static_cast<unsigned long long>(now.tv_sec) * 1'000'000ull +
                                   static_cast<unsigned long long>(now.tv_nsec) / 1000ull);

  ASSERT_TRUE(notifier.Stopping());
  EXPECT_EQ(fake.Receive(kWait), "STOPPING=1");

  ASSERT_TRUE(notifier.SetStatus("x"));
  EXPECT_EQ(fake.Receive(kWait), "STATUS=x");

  EXPECT_EQ(fake.Receive(milliseconds(0)), std::nullopt) << "no stray datagrams";
}

TEST(SystemdNotifierTest, SendsEachNotificationToPathSocket) {
  FakeNotifySocket fake(FakeNotifySocket::Kind::kPath);
  ASSERT_EQ(fake.path().front(), '/');
  ExpectAllMessages(fake);
}

TEST(SystemdNotifierTest, SendsEachNotificationToAbstractSocket) {
  FakeNotifySocket fake(FakeNotifySocket::Kind::kAbstract);
  ASSERT_EQ(fake.path().front(), '@');
  ExpectAllMessages(fake);
}

TEST(SystemdNotifierTest, StatusNewlinesCannotForgeFields) {
  FakeNotifySocket fake;
  ScopedEnv notify("NOTIFY_SOCKET", fake.path());
  SystemdNotifier notifier;
  ASSERT_TRUE(notifier.SetStatus("bad\nREADY=1"));
  EXPECT_EQ(fake.Receive(kWait), "STATUS=bad READY=1");
}

TEST(SystemdNotifierTest, DisabledWithoutNotifySocketAndCallsAreNoOps) {
  ScopedEnv notify("NOTIFY_SOCKET", std::nullopt);
  SystemdNotifier notifier;
  EXPECT_FALSE(notifier.enabled());
  EXPECT_FALSE(notifier.Ready("ready"));
  EXPECT_FALSE(notifier.Reloading());
  EXPECT_FALSE(notifier.Stopping());
  EXPECT_FALSE(notifier.Watchdog());
  EXPECT_FALSE(notifier.SetStatus("x"));
}

TEST(SystemdNotifierTest, SendToVanishedSocketReportsFailure) {
  std::string path;
  {
    FakeNotifySocket gone;
    path = gone.path();
  }
  ScopedEnv notify("NOTIFY_SOCKET", path);
  SystemdNotifier notifier;
  EXPECT_TRUE(notifier.enabled());
  EXPECT_FALSE(notifier.Watchdog());
}

TEST(SystemdNotifierTest, WatchdogIntervalFromEnvironment) {
  ScopedEnv usec("WATCHDOG_USEC", "2000000");
  ScopedEnv pid("WATCHDOG_PID", std::to_string(getpid()));
  EXPECT_EQ(SystemdNotifier().WatchdogInterval(), std::chrono::seconds(2));
}

TEST(SystemdNotifierTest, WatchdogIntervalWithoutPidStillApplies) {
  ScopedEnv usec("WATCHDOG_USEC", "500000");
  ScopedEnv pid("WATCHDOG_PID", std::nullopt);
  EXPECT_EQ(SystemdNotifier().WatchdogInterval(), std::chrono::milliseconds(500));
}

TEST(SystemdNotifierTest, WatchdogIntervalAbsent) {
  ScopedEnv usec("WATCHDOG_USEC", std::nullopt);
  ScopedEnv pid("WATCHDOG_PID", std::nullopt);
  EXPECT_EQ(SystemdNotifier().WatchdogInterval(), std::nullopt);
}

TEST(SystemdNotifierTest, WatchdogIntervalMeantForAnotherProcess) {
  // A parent that forgot to scrub the variables: the pings are not ours to send.
  ScopedEnv usec("WATCHDOG_USEC", "2000000");
  ScopedEnv pid("WATCHDOG_PID", std::to_string(getpid() + 1));
  EXPECT_EQ(SystemdNotifier().WatchdogInterval(), std::nullopt);
}

TEST(ScrubNotifyEnvTest, RemovesSystemdVariablesOnly) {
  std::map<std::string, std::string> env = {
      {"NOTIFY_SOCKET", "/run/systemd/notify"},
      {"WATCHDOG_USEC", "30000000"},
      {"WATCHDOG_PID", "42"},
      {"LISTEN_FDS", "1"},
      {"LISTEN_PID", "42"},
      {"LISTEN_FDNAMES", "control"},
      {"PATH", "/usr/bin:/bin"},
      {"MLCRON_RUN_ID", "7"},
      {"INVOCATION_ID", "abc"},
      {"XLISTEN_FDS", "kept: only the prefix LISTEN_ is systemd's"},
  };
  ScrubNotifyEnv(env);
  const std::map<std::string, std::string> expected = {
      {"PATH", "/usr/bin:/bin"},
      {"MLCRON_RUN_ID", "7"},
      {"INVOCATION_ID", "abc"},
      {"XLISTEN_FDS", "kept: only the prefix LISTEN_ is systemd's"},
  };
  EXPECT_EQ(env, expected);
}

}  // namespace
}  // namespace mlcron
