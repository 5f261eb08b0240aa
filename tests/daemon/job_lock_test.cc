#include "daemon/job_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

namespace mlcron {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/mlcron-lock-XXXXXX";
  return ::mkdtemp(tmpl);
}

TEST(LockFile, SecondHolderIsRefusedWithThePid) {
  const std::string path = TempDir() + "/mlcrond.lock";
  auto first = LockFile::TryAcquire(path);
  ASSERT_TRUE(first.ok()) << first.message();
  // flock is per open file description: another process sees the lock held.
  pid_t child = ::fork();
  if (child == 0) {
    auto second = LockFile::TryAcquire(path);
    const bool ok = !second.ok() &&
                    second.message() == path + " is locked by pid " + std::to_string(::getppid());
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(LockFile, ReleasedOnDestruction) {
  const std::string path = TempDir() + "/x.lock";
  {
    auto held = LockFile::TryAcquire(path);
    ASSERT_TRUE(held.ok());
  }
  pid_t child = ::fork();
  if (child == 0) ::_exit(LockFile::TryAcquire(path).ok() ? 0 : 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(FileJobLocks, OneHolderPerJob) {
  FileJobLocks locks(TempDir() + "/locks");
  EXPECT_TRUE(locks.TryLock("a"));
  EXPECT_FALSE(locks.TryLock("a"));
  EXPECT_TRUE(locks.TryLock("b"));
  locks.Unlock("a");
  EXPECT_TRUE(locks.TryLock("a"));
}

}  // namespace
}  // namespace mlcron
