// Advisory file locks (flock) that keep one daemon per state directory and one run of a job
// at a time across processes: the daemon and `mlcron run` take the same per-job lock in
// state_dir/locks/<job>.lock. Locks die with their process, so a crash never leaves one
// stale. Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "daemon/status.h"

namespace mlcron {

// One held flock; released on destruction.
class LockFile {
 public:
  // Non-blocking; the error names the holder's pid when the file records one.
  static Result<std::unique_ptr<LockFile>> TryAcquire(const std::string& path);
  // Blocks until the lock is free.
  static Result<std::unique_ptr<LockFile>> Acquire(const std::string& path);
  ~LockFile();
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

 private:
  explicit LockFile(int fd) : fd_(fd) {}
  int fd_;
};

class JobLocks {
 public:
  virtual ~JobLocks() = default;
  // Takes the job's lock without blocking; false if another process holds it.
  virtual bool TryLock(const std::string& job) = 0;
  virtual void Unlock(const std::string& job) = 0;
};

// Keeps each job's lock file open between runs and only flocks/unflocks it: a job start
// must not pay for open() and a write to the file (journal waits on a busy disk).
class FileJobLocks final : public JobLocks {
 public:
  explicit FileJobLocks(std::string dir) : dir_(std::move(dir)) {}
  ~FileJobLocks() override;
  FileJobLocks(const FileJobLocks&) = delete;
  FileJobLocks& operator=(const FileJobLocks&) = delete;
  bool TryLock(const std::string& job) override;
  void Unlock(const std::string& job) override;

 private:
  struct Entry {
    int fd = -1;
    bool held = false;
  };
  std::string dir_;
  std::map<std::string, Entry> files_;
};

// In-process only (tests, replay).
class MemoryJobLocks final : public JobLocks {
 public:
  bool TryLock(const std::string& job) override { return held_.emplace(job, true).second; }
  void Unlock(const std::string& job) override { held_.erase(job); }

 private:
  std::map<std::string, bool> held_;
};

}  // namespace mlcron
