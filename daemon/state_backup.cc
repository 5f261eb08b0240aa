#include "daemon/state_backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mlcron {
namespace {

Status FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::Error("open " + path + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::Error("fsync " + path + ": " + std::strerror(err));
  return Status::Ok();
}

// The copy itself: `tmp` is closed when this returns, so it can be synced and renamed.
Status CopyTo(SqliteDb& source, const std::string& tmp, std::chrono::milliseconds busy_timeout) {
  Result<std::unique_ptr<SqliteDb>> out = SqliteDb::Open(tmp, "backup", busy_timeout);
  if (!out.ok()) return out.status();
  sqlite3_backup* backup = sqlite3_backup_init((*out)->handle(), "main", source.handle(), "main");
  if (backup == nullptr) return (*out)->LastError(sqlite3_errcode((*out)->handle()));
  // One step of -1 copies every page under a single read transaction: a consistent snapshot
  // that WAL lets writers in other processes work around. The source's busy handler is not
  // consulted here, so retry briefly ourselves.
  int rc = sqlite3_backup_step(backup, -1);
  for (auto waited = std::chrono::milliseconds(0);
       (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && waited < busy_timeout;
       waited += std::chrono::milliseconds(20)) {
    sqlite3_sleep(20);
    rc = sqlite3_backup_step(backup, -1);
  }
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    return Status::Error(source.path() + " -> " + tmp + ": backup failed: " + sqlite3_errstr(rc));
  }
  // The pages carry the source's WAL flag; a backup is easier to move around as a single file.
  return (*out)->Exec("PRAGMA journal_mode = DELETE");
}

}  // namespace

Status BackupDatabase(SqliteDb& db, const std::string& dest,
                      std::chrono::milliseconds busy_timeout) {
  namespace fs = std::filesystem;
  const fs::path dest_path(dest);
  const fs::path dir = dest_path.has_parent_path() ? dest_path.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::Error("backup to " + dest + ": directory " + dir.string() + " does not exist");
  }
  const std::string tmp = dest + ".tmp";
  fs::remove(tmp, ec);  // left over from an interrupted backup; ours to replace
  Status s = CopyTo(db, tmp, busy_timeout);
  if (s.ok()) s = FsyncPath(tmp, O_RDONLY);
  if (s.ok() && ::rename(tmp.c_str(), dest.c_str()) != 0) {
    s = Status::Error("rename " + tmp + " to " + dest + ": " + std::strerror(errno));
  }
  if (!s.ok()) {
    fs::remove(tmp, ec);
    return s;
  }
  // The rename is durable only once the directory entry is.
  return FsyncPath(dir.string(), O_RDONLY | O_DIRECTORY);
}

}  // namespace mlcron
