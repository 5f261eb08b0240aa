// SwitchToStateOwner: the cases that leave the test process as it is. The switch itself
// (root to the mlcron user) is checked by tests/package/run, where mlcrond and mlcron run
// as root in a chroot with the packaged user.
#include "daemon/state_owner.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace mlcron {
namespace {

namespace fs = std::filesystem;

class StateOwnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/mlcron-owner-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path dir_;
};

TEST_F(StateOwnerTest, MissingStateDirChangesNothing) {
  const uid_t before = ::geteuid();
  EXPECT_TRUE(SwitchToStateOwner((dir_ / "absent").string()).ok());
  EXPECT_EQ(::geteuid(), before);
}

TEST_F(StateOwnerTest, StateDirOfOwnUserChangesNothing) {
  // Owned by whoever runs the test: root stays root (root-owned), others are no-ops.
  const uid_t before = ::geteuid();
  EXPECT_TRUE(SwitchToStateOwner(dir_.string()).ok());
  EXPECT_EQ(::geteuid(), before);
}

TEST_F(StateOwnerTest, RootRefusesAStateDirWhoseOwnerHasNoUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  uid_t orphan = 54321;
  while (::getpwuid(orphan) != nullptr) ++orphan;
  ASSERT_EQ(::chown(dir_.c_str(), orphan, orphan), 0);
  Status s = SwitchToStateOwner(dir_.string());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "state_dir " + dir_.string() + " belongs to uid " +
                             std::to_string(orphan) +
                             ", which has no user (was the mlcron user removed? "
                             "`systemd-sysusers mlcron.conf` creates it again; then `chown -R "
                             "mlcron:mlcron " +
                             dir_.string() + "` and the log_dir); refusing to run as root there");
  EXPECT_EQ(::geteuid(), 0u);
}

}  // namespace
}  // namespace mlcron
