// SqliteDb: one SQLite connection that owns a cache of prepared statements and turns SQLite
// errors into Status values naming the database ("state database /x/mlcron.db: ..."), plus
// a runner for versioned migrations. Not thread-safe: one SqliteDb per thread. Private to
// .cc files (the state store, later the model registry); sqlite3.h stays out of it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "daemon/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mlcron {

class SqliteDb;

// A cached prepared statement on loan from a SqliteDb. Going out of scope resets it and clears
// its bindings, which also ends the read snapshot a half-read SELECT would otherwise hold open.
// A failure to prepare or bind is kept and reported by Step/Run, so call sites check once.
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  ~SqliteStatement();

  // Parameters are 1-based, as in SQLite.
  SqliteStatement& Bind(int index, std::int64_t value);
  SqliteStatement& Bind(int index, int value) { return Bind(index, std::int64_t{value}); }
  SqliteStatement& Bind(int index, double value);
  SqliteStatement& Bind(int index, std::string_view value);
  SqliteStatement& BindNull(int index);
  template <typename T>
  SqliteStatement& Bind(int index, const std::optional<T>& value) {
    return value ? Bind(index, *value) : BindNull(index);
  }

  // true while a row is available, false when done.
  Result<bool> Step();
  // Steps a statement that returns no rows to completion.
  Status Run();
  // Ready for the next set of bindings, as a fresh loan would be (for a statement run once per
  // row in a loop).
  void Reset();

  // Columns are 0-based, as in SQLite.
  bool IsNull(int col) const;
  std::int64_t Int64(int col) const;
  std::optional<std::int64_t> OptInt64(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;

 private:
  friend class SqliteDb;
  SqliteStatement(SqliteDb* db, sqlite3_stmt* stmt, bool* in_use, Status status);
  void NoteBind(int rc);

  SqliteDb* db_;
  sqlite3_stmt* stmt_;  // owned by db_'s cache; null if preparing failed
  bool* in_use_;        // the cache entry's loan flag; null if not cached
  Status status_;
};

class SqliteDb {
 public:
  // Opens read-write, creating the file if absent. `label` names the database in every message
  // ("state database"). Sets the busy timeout and extended result codes; pragmas are the
  // caller's business.
  // kReadOnly opens an existing file for reading only (the API's registry reader).
  enum class Mode { kReadWriteCreate, kReadOnly };
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, std::string label,
                                                std::chrono::milliseconds busy_timeout,
                                                Mode mode = Mode::kReadWriteCreate);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // One or more statements that return no rows.
  Status Exec(const std::string& sql);
  // Prepared once per connection and cached. Do not hold two loans of the same SQL at once.
  SqliteStatement Prepare(std::string_view sql);
  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back if it or COMMIT fails.
  // Taking the write lock up front means a busy database fails at BEGIN (after the busy
  // timeout) rather than deadlocking on a read-to-write upgrade halfway through.
  Status Transaction(const std::function<Status()>& body);

  std::int64_t LastInsertRowid() const;
  int Changes() const;
  sqlite3* handle() { return db_; }
  const std::string& path() const { return path_; }

  // "<label> <path>: <message>".
  Status Error(std::string_view message) const;
  // The connection's last error, after a call returned `rc`; remembered in last_error_code().
  Status LastError(int rc);
  int last_error_code() const { return last_rc_; }

 private:
  struct CachedStatement {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  SqliteDb(sqlite3* db, std::string path, std::string label,
           std::chrono::milliseconds busy_timeout);

  sqlite3* db_;
  std::string path_;
  std::string label_;
  std::chrono::milliseconds busy_timeout_;
  int last_rc_ = 0;
  std::unordered_map<std::string, CachedStatement> cache_;
};

// One step of a schema: applied in a single transaction that also sets user_version.
struct Migration {
  int version;      // 1, 2, 3, ... with no gaps
  const char* sql;  // may hold several statements; never edit one that has shipped
};

Result<int> UserVersion(SqliteDb& db);
// Applies, oldest first, every migration newer than the database's user_version. Each runs in
// its own BEGIN IMMEDIATE transaction and re-reads user_version inside it, so two processes
// opening an old file at once apply each step exactly once. Returns the resulting version.
Result<int> ApplyMigrations(SqliteDb& db, std::span<const Migration> migrations);

}  // namespace mlcron
