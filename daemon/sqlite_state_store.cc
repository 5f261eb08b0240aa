// StateStore over SQLite: the run-history and scheduler-state queries on mlcron.db. Opening,
// checking and migrating the file live in state_db.cc, backup in state_backup.cc.
#include <utility>

#include "daemon/sqlite_db.h"
#include "daemon/state_backup.h"
#include "daemon/state_db.h"
#include "daemon/state_store.h"

namespace mlcron {
namespace {

constexpr const char* kRunColumns =
    "id, job, scheduled, \"trigger\", attempt, status, reason, started_us, ended_us, "
    "exit_code, signal, pid, pid_start_ticks, boot_id, log_path, cpu_user_s, cpu_sys_s, "
    "config_sha";

std::int64_t ToMicros(RunRecord::TimePoint t) {
  return std::chrono::floor<std::chrono::microseconds>(t.time_since_epoch()).count();
}

RunRecord::TimePoint FromMicros(std::int64_t us) {
  return RunRecord::TimePoint(std::chrono::microseconds(us));
}

std::optional<std::int64_t> ToMicros(const std::optional<RunRecord::TimePoint>& t) {
  if (!t) return std::nullopt;
  return ToMicros(*t);
}

// pid and start ticks are NULL until the child exists, which reads better in ad-hoc SQL.
std::optional<std::int64_t> NullIfZero(std::int64_t v) {
  if (v == 0) return std::nullopt;
  return v;
}

Result<RunRecord> ReadRun(SqliteDb& db, const SqliteStatement& st) {
  RunRecord r;
  r.id = st.Int64(0);
  r.job = st.Text(1);
  r.scheduled = Instant(std::chrono::seconds(st.Int64(2)));
  r.trigger = st.Text(3);
  r.attempt = static_cast<int>(st.Int64(4));
  std::string status = st.Text(5);
  std::optional<RunStatus> parsed = ParseRunStatus(status);
  if (!parsed) {
    return db.Error("run " + std::to_string(r.id) + " has unknown status \"" + status + "\"");
  }
  r.status = *parsed;
  r.reason = st.Text(6);
  if (auto us = st.OptInt64(7)) r.started = FromMicros(*us);
  if (auto us = st.OptInt64(8)) r.ended = FromMicros(*us);
  if (auto v = st.OptInt64(9)) r.exit_code = static_cast<int>(*v);
  if (auto v = st.OptInt64(10)) r.signal = static_cast<int>(*v);
  r.pid = st.Int64(11);
  r.pid_start_ticks = static_cast<std::uint64_t>(st.Int64(12));
  r.boot_id = st.Text(13);
  r.log_path = st.Text(14);
  r.cpu_user_s = st.Double(15);
  r.cpu_sys_s = st.Double(16);
  r.config_sha = st.Text(17);
  return r;
}

// Steps `st` to the end, collecting every row as a RunRecord.
Result<std::vector<RunRecord>> ReadRuns(SqliteDb& db, SqliteStatement& st) {
  std::vector<RunRecord> runs;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return runs;
    Result<RunRecord> run = ReadRun(db, st);
    if (!run.ok()) return run.status();
    runs.push_back(std::move(*run));
  }
}

Result<std::optional<RunRecord>> ReadOptionalRun(SqliteDb& db, SqliteStatement& st) {
  Result<std::vector<RunRecord>> runs = ReadRuns(db, st);
  if (!runs.ok()) return runs.status();
  if (runs->empty()) return std::optional<RunRecord>();
  return std::optional<RunRecord>(std::move(runs->front()));
}

class SqliteStateStore final : public StateStore {
 public:
  SqliteStateStore(std::unique_ptr<SqliteDb> db, int version, std::chrono::milliseconds busy)
      : db_(std::move(db)), version_(version), busy_timeout_(busy) {}

  int SchemaVersion() override { return version_; }

  Result<std::int64_t> InsertRun(const RunRecord& run) override {
    std::int64_t id = 0;
    Status s = db_->Transaction([&]() -> Status {
      SqliteStatement st = db_->Prepare(
          "INSERT INTO runs (job, scheduled, \"trigger\", attempt, status, reason, started_us, "
          "ended_us, exit_code, signal, pid, pid_start_ticks, boot_id, log_path, cpu_user_s, "
          "cpu_sys_s, config_sha) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
          "?13, ?14, ?15, ?16, ?17)");
      st.Bind(1, run.job)
          .Bind(2, std::int64_t{run.scheduled.time_since_epoch().count()})
          .Bind(3, run.trigger)
          .Bind(4, run.attempt)
          .Bind(5, RunStatusName(run.status))
          .Bind(6, run.reason)
          .Bind(7, ToMicros(run.started))
          .Bind(8, ToMicros(run.ended))
          .Bind(9, run.exit_code)
          .Bind(10, run.signal)
          .Bind(11, NullIfZero(run.pid))
          .Bind(12, NullIfZero(static_cast<std::int64_t>(run.pid_start_ticks)))
          .Bind(13, run.boot_id)
          .Bind(14, run.log_path)
          .Bind(15, run.cpu_user_s)
          .Bind(16, run.cpu_sys_s)
          .Bind(17, run.config_sha);
      if (Status e = st.Run(); !e.ok()) return e;
      id = db_->LastInsertRowid();
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return id;
  }

  Status SetRunProcess(std::int64_t id, std::int64_t pid, std::uint64_t start_ticks,
                       const std::string& boot_id, RunRecord::TimePoint started) override {
    return UpdateRun(
        id,
        [&](SqliteStatement& st) {
          st.Bind(2, NullIfZero(pid))
              .Bind(3, NullIfZero(static_cast<std::int64_t>(start_ticks)))
              .Bind(4, boot_id)
              .Bind(5, ToMicros(started));
        },
        "UPDATE runs SET pid = ?2, pid_start_ticks = ?3, boot_id = ?4, started_us = ?5 "
        "WHERE id = ?1");
  }

  // An empty log_path keeps the one already stored, and `started` only fills a missing start
  // time: SetRunProcess, which saw the spawn, is the authority on it.
  Status FinishRun(const RunRecord& run) override {
    return UpdateRun(
        run.id,
        [&](SqliteStatement& st) {
          st.Bind(2, RunStatusName(run.status))
              .Bind(3, run.reason)
              .Bind(4, ToMicros(run.ended))
              .Bind(5, run.exit_code)
              .Bind(6, run.signal)
              .Bind(7, run.cpu_user_s)
              .Bind(8, run.cpu_sys_s)
              .Bind(9, run.log_path)
              .Bind(10, ToMicros(run.started));
        },
        "UPDATE runs SET status = ?2, reason = ?3, ended_us = ?4, exit_code = ?5, signal = ?6, "
        "cpu_user_s = ?7, cpu_sys_s = ?8, "
        "log_path = CASE WHEN ?9 = '' THEN log_path ELSE ?9 END, "
        "started_us = COALESCE(started_us, ?10) WHERE id = ?1");
  }

  Result<std::optional<RunRecord>> GetRun(std::int64_t id) override {
    SqliteStatement st =
        db_->Prepare(std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?1");
    st.Bind(1, id);
    return ReadOptionalRun(*db_, st);
  }

  Result<std::vector<RunRecord>> ListRuns(const RunFilter& filter) override {
    // One SQL text per filter shape (four at most, each cached) so that the job and status
    // indexes stay usable, which `?1 IS NULL OR job = ?1` would defeat.
    std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs";
    if (filter.job) sql += " WHERE job = ?1";
    if (filter.status) sql += filter.job ? " AND status = ?2" : " WHERE status = ?2";
    sql += " ORDER BY id DESC LIMIT ?3";
    SqliteStatement st = db_->Prepare(sql);
    if (filter.job) st.Bind(1, *filter.job);
    if (filter.status) st.Bind(2, RunStatusName(*filter.status));
    st.Bind(3, filter.limit > 0 ? filter.limit : -1);  // a negative LIMIT means none
    return ReadRuns(*db_, st);
  }

  Result<std::vector<RunRecord>> OccurrenceRuns(const std::string& job,
                                                Instant scheduled) override {
    SqliteStatement st = db_->Prepare(std::string("SELECT ") + kRunColumns +
                                      " FROM runs WHERE job = ?1 AND scheduled = ?2 "
                                      "ORDER BY id ASC");
    st.Bind(1, job).Bind(2, std::int64_t{scheduled.time_since_epoch().count()});
    return ReadRuns(*db_, st);
  }

  Result<std::optional<RunRecord>> LatestRunAtOrBefore(const std::string& job, Instant t) override {
    SqliteStatement st = db_->Prepare(std::string("SELECT ") + kRunColumns +
                                      " FROM runs WHERE job = ?1 AND scheduled <= ?2 "
                                      "ORDER BY scheduled DESC, id DESC LIMIT 1");
    st.Bind(1, job).Bind(2, std::int64_t{t.time_since_epoch().count()});
    return ReadOptionalRun(*db_, st);
  }

  Result<std::optional<Instant>> LastOccurrence(const std::string& job) override {
    SqliteStatement st = db_->Prepare("SELECT last_occurrence FROM job_state WHERE job = ?1");
    st.Bind(1, job);
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<Instant>();
    return std::optional<Instant>(Instant(std::chrono::seconds(st.Int64(0))));
  }

  // Keeps the maximum: a late or repeated SetLastOccurrence (a retry or manual run of an older
  // occurrence finishing after a newer one) must never make catch-up run things twice.
  Status SetLastOccurrence(const std::string& job, Instant scheduled) override {
    return db_->Transaction([&]() -> Status {
      SqliteStatement st = db_->Prepare(
          "INSERT INTO job_state (job, last_occurrence) VALUES (?1, ?2) "
          "ON CONFLICT (job) DO UPDATE SET "
          "last_occurrence = max(last_occurrence, excluded.last_occurrence)");
      st.Bind(1, job).Bind(2, std::int64_t{scheduled.time_since_epoch().count()});
      return st.Run();
    });
  }

  // Pausing twice keeps the first `since`.
  Status SetPaused(const std::string& name, bool paused) override {
    return db_->Transaction([&]() -> Status {
      if (!paused) {
        SqliteStatement st = db_->Prepare("DELETE FROM paused WHERE name = ?1");
        st.Bind(1, name);
        return st.Run();
      }
      SqliteStatement st = db_->Prepare(
          "INSERT INTO paused (name, since_us) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING");
      st.Bind(1, name).Bind(2, ToMicros(std::chrono::system_clock::now()));
      return st.Run();
    });
  }

  Result<std::vector<std::string>> PausedNames() override {
    SqliteStatement st = db_->Prepare("SELECT name FROM paused ORDER BY name");
    std::vector<std::string> names;
    while (true) {
      Result<bool> row = st.Step();
      if (!row.ok()) return row.status();
      if (!*row) return names;
      names.push_back(st.Text(0));
    }
  }

  // Only `running` rows are kept whatever their age: they are the crash markers the next start
  // settles. An `interrupted` row has already been retried by then, so it ages out like the
  // rest. Rows that never ran (skipped, missed) have no end time and age by `scheduled`.
  Result<std::vector<std::string>> PruneRuns(RunRecord::TimePoint cutoff) override {
    std::vector<std::string> logs;
    Status s = db_->Transaction([&]() -> Status {
      SqliteStatement st = db_->Prepare(
          "DELETE FROM runs WHERE status <> 'running' AND (ended_us < ?1 OR "
          "(ended_us IS NULL AND scheduled * 1000000 < ?1)) RETURNING log_path");
      st.Bind(1, ToMicros(cutoff));
      logs.clear();  // in case a failed COMMIT is retried by the caller
      while (true) {
        Result<bool> row = st.Step();
        if (!row.ok()) return row.status();
        if (!*row) return Status::Ok();
        if (std::string path = st.Text(0); !path.empty()) logs.push_back(std::move(path));
      }
    });
    if (!s.ok()) return s;
    return logs;
  }

  Status Backup(const std::string& dest) override {
    return BackupDatabase(*db_, dest, busy_timeout_);
  }

 private:
  // Runs one UPDATE of a run row by id (?1) in its own transaction; a missing row is an error.
  template <typename BindRest>
  Status UpdateRun(std::int64_t id, BindRest bind_rest, const char* sql) {
    return db_->Transaction([&]() -> Status {
      SqliteStatement st = db_->Prepare(sql);
      st.Bind(1, id);
      bind_rest(st);
      if (Status e = st.Run(); !e.ok()) return e;
      if (db_->Changes() == 0) return db_->Error("no run with id " + std::to_string(id));
      return Status::Ok();
    });
  }

  std::unique_ptr<SqliteDb> db_;
  int version_;
  std::chrono::milliseconds busy_timeout_;
};

}  // namespace

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& path,
                                                     std::chrono::milliseconds busy_timeout) {
  Result<std::unique_ptr<SqliteDb>> db = OpenStateDb(path, busy_timeout);
  if (!db.ok()) return db.status();
  Result<int> version = UserVersion(**db);
  if (!version.ok()) return version.status();
  return std::unique_ptr<StateStore>(
      std::make_unique<SqliteStateStore>(std::move(*db), *version, busy_timeout));
}

}  // namespace mlcron
