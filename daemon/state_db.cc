#include "daemon/state_db.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>

#include "daemon/state_migrations.h"

namespace mlcron {
namespace {

constexpr const char* kLabel = "state database";
constexpr const char* kUntouched =
    "; the file was left untouched (move it aside or restore a backup made with `mlcron "
    "backup`)";

// SQLite only notices garbage on the first read; checking the 16-byte magic ourselves first
// gives a clear message and guarantees that nothing, not even a -wal file, is created beside
// a file that is not ours. The bytes are read through the connection's own file handle (open
// has read nothing yet): a second open() + close() of the file would drop every fcntl lock this
// process holds on it, those of its other connections too. The daemon opens the state
// database twice (scheduler and API); with its WAL read lock gone, a child's `mlcron job`
// closing its connection took itself for the last one and deleted the WAL under the daemon.
Status CheckHeader(SqliteDb& db, const std::string& path) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
      file == nullptr || file->pMethods == nullptr) {
    return Status::Ok();  // SQLite will report whatever is wrong on its first read
  }
  sqlite3_int64 size = 0;
  if (file->pMethods->xFileSize(file, &size) != SQLITE_OK || size == 0) {
    return Status::Ok();  // an empty (or just created) file is an empty database to SQLite
  }
  char header[16] = {};
  const int rc = file->pMethods->xRead(file, header, sizeof header, 0);
  if (rc == SQLITE_IOERR_SHORT_READ ||
      (rc == SQLITE_OK && std::memcmp(header, "SQLite format 3", 16) != 0)) {
    return Status::Error(std::string(kLabel) + " " + path +
                         ": is not a SQLite database, or is corrupt" + kUntouched);
  }
  return Status::Ok();
}

// Adds the "left untouched" advice to errors that mean the file itself is damaged.
Status Refuse(const SqliteDb& db, const Status& s) {
  int primary = db.last_error_code() & 0xff;
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
    return Status::Error(s.message() + " (not a SQLite database, or corrupt)" + kUntouched);
  }
  return s;
}

Status QuickCheck(SqliteDb& db) {
  SqliteStatement st = db.Prepare("PRAGMA quick_check");
  std::string problems;
  int lines = 0;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return Refuse(db, row.status());
    if (!*row) break;
    std::string line = st.Text(0);
    if (line == "ok") continue;
    std::replace(line.begin(), line.end(), '\n', ' ');  // keep the message on one line
    if (++lines <= 3) problems += (problems.empty() ? "" : "; ") + line;
  }
  if (lines == 0) return Status::Ok();
  return db.Error("failed its integrity check (PRAGMA quick_check: " + problems +
                  (lines > 3 ? "; ..." : "") + ")" + kUntouched);
}

}  // namespace

Result<std::unique_ptr<SqliteDb>> OpenStateDb(const std::string& path,
                                              std::chrono::milliseconds busy_timeout,
                                              bool integrity_check) {
  Result<std::unique_ptr<SqliteDb>> opened = SqliteDb::Open(path, kLabel, busy_timeout);
  if (!opened.ok()) return opened.status();
  SqliteDb& db = **opened;
  if (Status s = CheckHeader(db, path); !s.ok()) return s;

  // Read and check before anything writes, so a file we refuse is left exactly as it was.
  Result<int> version = UserVersion(db);
  if (!version.ok()) return Refuse(db, version.status());
  const int latest = LatestStateSchemaVersion();
  if (*version > latest) {
    return db.Error("schema version " + std::to_string(*version) + " is newer than this mlcron (" +
                    std::to_string(latest) + "); upgrade mlcron (the file was left untouched)");
  }
  if (integrity_check) {
    if (Status s = QuickCheck(db); !s.ok()) return s;
  }

  // WAL lets the CLI read while the daemon writes. synchronous=NORMAL is durable across
  // process and OS crashes in WAL mode; only a power loss can drop the last commits, never
  // corrupt the file. That trade keeps each run-row commit free of an fsync.
  {
    SqliteStatement st = db.Prepare("PRAGMA journal_mode = WAL");
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row || st.Text(0) != "wal") {
      return db.Error("cannot switch to WAL journal mode (got \"" + (*row ? st.Text(0) : "") +
                      "\"); is the state directory on a network file system?");
    }
  }
  if (Status s = db.Exec("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON"); !s.ok()) {
    return s;
  }
  Result<int> migrated = ApplyMigrations(db, StateMigrations());
  if (!migrated.ok()) return migrated.status();
  return opened;
}

}  // namespace mlcron
