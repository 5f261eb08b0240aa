#include "daemon/job_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace mlcron {
namespace {

Result<std::unique_ptr<LockFile>> AcquireImpl(const std::string& path, bool block,
                                              LockFile* (*make)(int)) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Error(path + ": " + std::strerror(errno));
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | (block ? 0 : LOCK_NB));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    if (err == EWOULDBLOCK) {
      return Status::Error(path + " is locked" +
                           (holder.empty() ? "" : " by pid " + holder));
    }
    return Status::Error(path + ": " + std::strerror(err));
  }
  // Record the holder for the next one's error message.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t w = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return std::unique_ptr<LockFile>(make(fd));
}

}  // namespace

Result<std::unique_ptr<LockFile>> LockFile::TryAcquire(const std::string& path) {
  return AcquireImpl(path, false, [](int fd) { return new LockFile(fd); });
}

Result<std::unique_ptr<LockFile>> LockFile::Acquire(const std::string& path) {
  return AcquireImpl(path, true, [](int fd) { return new LockFile(fd); });
}

LockFile::~LockFile() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

bool FileJobLocks::TryLock(const std::string& job) {
  if (held_.count(job)) return false;
  auto lock = LockFile::TryAcquire(dir_ + "/" + job + ".lock");
  if (!lock.ok()) return false;
  held_.emplace(job, std::move(lock).value());
  return true;
}

void FileJobLocks::Unlock(const std::string& job) { held_.erase(job); }

}  // namespace mlcron
