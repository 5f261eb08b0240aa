#include "daemon/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

namespace mlcron {

// ---- SqliteStatement ----

SqliteStatement::SqliteStatement(SqliteDb* db, sqlite3_stmt* stmt, bool* in_use, Status status)
    : db_(db), stmt_(stmt), in_use_(in_use), status_(std::move(status)) {}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      in_use_(std::exchange(other.in_use_, nullptr)),
      status_(std::move(other.status_)) {}

SqliteStatement::~SqliteStatement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  if (in_use_ != nullptr) *in_use_ = false;
}

void SqliteStatement::Reset() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

void SqliteStatement::NoteBind(int rc) {
  if (rc != SQLITE_OK && status_.ok()) status_ = db_->LastError(rc);
}

SqliteStatement& SqliteStatement::Bind(int index, std::int64_t value) {
  if (stmt_ != nullptr) NoteBind(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, double value) {
  if (stmt_ != nullptr) NoteBind(sqlite3_bind_double(stmt_, index, value));
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, std::string_view value) {
  // SQLITE_TRANSIENT: SQLite copies the text, so temporaries are safe to pass.
  if (stmt_ != nullptr) {
    NoteBind(sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                 SQLITE_UTF8));
  }
  return *this;
}

SqliteStatement& SqliteStatement::BindNull(int index) {
  if (stmt_ != nullptr) NoteBind(sqlite3_bind_null(stmt_, index));
  return *this;
}

Result<bool> SqliteStatement::Step() {
  if (!status_.ok()) return status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  status_ = db_->LastError(rc);
  return status_;
}

Status SqliteStatement::Run() {
  while (true) {
    Result<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

bool SqliteStatement::IsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

std::int64_t SqliteStatement::Int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::optional<std::int64_t> SqliteStatement::OptInt64(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int64(col);
}

double SqliteStatement::Double(int col) const { return sqlite3_column_double(stmt_, col); }

std::string SqliteStatement::Text(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

// ---- SqliteDb ----

SqliteDb::SqliteDb(sqlite3* db, std::string path, std::string label,
                   std::chrono::milliseconds busy_timeout)
    : db_(db), path_(std::move(path)), label_(std::move(label)), busy_timeout_(busy_timeout) {}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, std::string label,
                                                 std::chrono::milliseconds busy_timeout,
                                                 Mode mode) {
  sqlite3* handle = nullptr;
  // NOMUTEX: a connection is used by one thread (see the header), so SQLite's own per-call
  // mutex buys nothing. URI: so that replay can ATTACH the data database read-only.
  int rc = sqlite3_open_v2(path.c_str(), &handle,
                           (mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY
                                                    : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                               SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
                           nullptr);
  // Even a failed open allocates a handle (for its error message) that must be closed.
  auto db = std::unique_ptr<SqliteDb>(new SqliteDb(handle, path, std::move(label), busy_timeout));
  if (handle == nullptr) return db->Error("out of memory opening the database");
  if (rc != SQLITE_OK) return db->LastError(rc);
  sqlite3_extended_result_codes(handle, 1);
  sqlite3_busy_timeout(handle, static_cast<int>(busy_timeout.count()));
  return db;
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  // close_v2 rather than close: it cannot fail with SQLITE_BUSY and leak the handle.
  sqlite3_close_v2(db_);
}

Status SqliteDb::Error(std::string_view message) const {
  return Status::Error(label_ + " " + path_ + ": " + std::string(message));
}

Status SqliteDb::LastError(int rc) {
  last_rc_ = rc;
  std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    message += " (still busy after " + std::to_string(busy_timeout_.count()) +
               " ms: another process holds a lock on it)";
  }
  return Error(message);
}

Status SqliteDb::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);  // the same text is available from sqlite3_errmsg
  if (rc != SQLITE_OK) return LastError(rc);
  return Status::Ok();
}

SqliteStatement SqliteDb::Prepare(std::string_view sql) {
  auto [it, inserted] = cache_.try_emplace(std::string(sql));
  CachedStatement& cached = it->second;
  if (cached.in_use) {
    return SqliteStatement(this, nullptr, nullptr,
                           Error("internal error: statement already in use: " + it->first));
  }
  if (cached.stmt == nullptr) {
    // PERSISTENT: these statements live as long as the connection.
    int rc = sqlite3_prepare_v3(db_, it->first.c_str(), static_cast<int>(it->first.size()),
                                SQLITE_PREPARE_PERSISTENT, &cached.stmt, nullptr);
    if (rc != SQLITE_OK) {
      Status status = LastError(rc);
      cache_.erase(it);
      return SqliteStatement(this, nullptr, nullptr, status);
    }
  }
  cached.in_use = true;
  return SqliteStatement(this, cached.stmt, &cached.in_use, Status::Ok());
}

Status SqliteDb::Transaction(const std::function<Status()>& body) {
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Status status = body();
  if (status.ok()) status = Exec("COMMIT");
  // After a failed COMMIT the transaction may still be open; ROLLBACK is harmless if not.
  if (!status.ok()) (void)Exec("ROLLBACK");
  return status;
}

std::int64_t SqliteDb::LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }

int SqliteDb::Changes() const { return sqlite3_changes(db_); }

// ---- migrations ----

Result<int> UserVersion(SqliteDb& db) {
  SqliteStatement st = db.Prepare("PRAGMA user_version");
  Result<bool> row = st.Step();
  if (!row.ok()) return row.status();
  if (!*row) return db.Error("PRAGMA user_version returned no row");
  return static_cast<int>(st.Int64(0));
}

Result<int> ApplyMigrations(SqliteDb& db, std::span<const Migration> migrations) {
  Result<int> version = UserVersion(db);
  if (!version.ok()) return version;
  int current = *version;
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    Status s = db.Transaction([&]() -> Status {
      // Another process may have migrated between our read and our write lock.
      Result<int> locked_version = UserVersion(db);
      if (!locked_version.ok()) return locked_version.status();
      current = *locked_version;
      if (m.version <= current) return Status::Ok();
      if (Status e = db.Exec(m.sql); !e.ok()) return e;
      // PRAGMA takes no bound parameters; the version is our own integer.
      if (Status e = db.Exec("PRAGMA user_version = " + std::to_string(m.version)); !e.ok()) {
        return e;
      }
      current = m.version;
      return Status::Ok();
    });
    if (!s.ok()) {
      // Name the step that failed after the "<label> <path>: <sqlite message>".
      return Status::Error(s.message() + " (while migrating the schema to version " +
                           std::to_string(m.version) + ")");
    }
  }
  return current;
}

}  // namespace mlcron
