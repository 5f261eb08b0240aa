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

// Records our pid for a refused locker's error message. Writes only when another pid is
// recorded: a job start must not wait on the file system journal for an unchanged file.
void RecordHolderPid(int fd) {
  const std::string pid = std::to_string(::getpid()) + "\n";
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n == static_cast<ssize_t>(pid.size()) && pid == buf) return;
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t w = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
}

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
      return Status::Error(path + " is locked" + (holder.empty() ? "" : " by pid " + holder));
    }
    return Status::Error(path + ": " + std::strerror(err));
  }
  RecordHolderPid(fd);
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

FileJobLocks::~FileJobLocks() {
  for (auto& [job, entry] : files_) ::close(entry.fd);  // closing releases any flock
}

bool FileJobLocks::TryLock(const std::string& job) {
  Entry& entry = files_[job];
  if (entry.held) return false;
  if (entry.fd < 0) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    entry.fd = ::open((dir_ + "/" + job + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (entry.fd < 0) return false;
  }
  int rc;
  do {
    rc = ::flock(entry.fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  entry.held = rc == 0;
  if (entry.held) RecordHolderPid(entry.fd);
  return entry.held;
}

void FileJobLocks::Unlock(const std::string& job) {
  auto it = files_.find(job);
  if (it == files_.end() || !it->second.held) return;
  ::flock(it->second.fd, LOCK_UN);
  it->second.held = false;
}

}  // namespace mlcron
