#include "jobs/features_job.h"

#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <system_error>
#include <vector>

#include "jobs/features_guard.h"
#include "jobs/sql_script.h"

namespace mlcron {
namespace {

// Feature SQL is a few screens; a file far larger than this is a mistake (a data dump).
constexpr std::uintmax_t kMaxSqlBytes = 4u << 20;
constexpr char kEpoch[] = "1970-01-01T00:00:00Z";

// mlcron's bookkeeping beside the operator's tables, so one transaction covers both
// (DESIGN.md §5). Table names compare case-insensitively in SQLite, hence NOCASE.
constexpr char kBookkeepingSchema[] =
    "CREATE TABLE IF NOT EXISTS _mlcron_watermarks ("
    " job TEXT PRIMARY KEY, since TEXT NOT NULL, run_id TEXT, updated_at TEXT);"
    "CREATE TABLE IF NOT EXISTS _mlcron_derived ("
    " table_name TEXT PRIMARY KEY COLLATE NOCASE, job TEXT NOT NULL)";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

struct SqlSource {
  std::string text;
  std::string where;  // "/srv/features/form.sql" or "inline sql of job aggregate"
  bool is_file = false;
};

Result<SqlSource> LoadSql(const JobConfig& job) {
  const BuiltinJobParams& p = job.builtin;
  if (p.sql_file.empty()) {
    if (p.sql.empty()) return Status::Error("has no sql: give inline SQL or a .sql file");
    return SqlSource{p.sql, "inline sql of job " + job.name, false};
  }
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(p.sql_file, ec);
  if (ec) return Status::Error("SQL file " + p.sql_file + ": cannot be read: " + ec.message());
  if (size > kMaxSqlBytes) {
    return Status::Error("SQL file " + p.sql_file + ": is " + std::to_string(size) +
                         " bytes; features SQL files are capped at 4 MiB");
  }
  std::ifstream in(p.sql_file, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) {
    // An empty file also lands here (nothing to copy); it has no statements either way.
    if (size != 0) {
      return Status::Error("SQL file " + p.sql_file +
                           ": cannot be read: " + std::generic_category().message(errno));
    }
  }
  std::string sql = text.str();
  // Some editors start UTF-8 files with a byte order mark, which SQLite rejects as a token.
  if (sql.compare(0, 3, "\xEF\xBB\xBF") == 0) sql.erase(0, 3);
  return SqlSource{std::move(sql), p.sql_file, true};
}

// Lowercased "main.x" / "temp.x" -> the object, for every table and view but SQLite's own.
struct SchemaObject {
  std::string name;  // as created
  bool is_view = false;
};
using SchemaNames = std::map<std::string, SchemaObject>;

Result<SchemaNames> ReadSchemaNames(SqliteDb& data) {
  SqliteStatement st = data.Prepare(
      "SELECT 'main', name, type = 'view' FROM main.sqlite_schema WHERE type IN ('table', 'view') "
      "UNION ALL "
      "SELECT 'temp', name, type = 'view' FROM temp.sqlite_schema WHERE type IN ('table', 'view')");
  SchemaNames names;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return names;
    const std::string name = st.Text(1);
    if (Lower(name).rfind("sqlite_", 0) == 0) continue;
    names.emplace(st.Text(0) + "." + Lower(name), SchemaObject{name, st.Int64(2) != 0});
  }
}

std::set<std::string> Keys(const SchemaNames& names) {
  std::set<std::string> keys;
  for (const auto& [key, object] : names) keys.insert(key);
  return keys;
}

// "statement 2 (/srv/form.sql line 7: \"DELETE FROM matches WHERE league <> 'E0'\")".
std::string Where(const SqlSource& src, int number, std::size_t start, std::size_t end) {
  const std::string_view text = std::string_view(src.text).substr(start, end - start);
  const std::string line = std::to_string(LineAt(src.text, start));
  return "statement " + std::to_string(number) + " (" + src.where + (src.is_file ? "" : ",") +
         " line " + line + ": \"" + Abbreviate(text) + "\")";
}

// SQLite's message for a failed prepare or step, or the guard's reason when it denied.
std::string ErrorText(sqlite3* db, int rc, const FeaturesGuard& guard, const SqlSource& src,
                      std::size_t start) {
  if ((rc & 0xff) == SQLITE_AUTH && !guard.denial().empty()) return guard.denial();
  std::string message = sqlite3_errmsg(db);
  // Offsets count from the text given to prepare, which begins at `start`.
  if (const int offset = sqlite3_error_offset(db); offset >= 0) {
    const int line = LineAt(src.text, start + static_cast<std::size_t>(offset));
    if (line != LineAt(src.text, start)) message += " (at line " + std::to_string(line) + ")";
  }
  return message;
}

// Binds :since and :now; any other parameter is almost surely a typo, which SQLite would
// otherwise bind to NULL and silently select nothing.
Status BindWindow(sqlite3_stmt* stmt, const std::string& since, const std::string& now) {
  for (int i = 1; i <= sqlite3_bind_parameter_count(stmt); ++i) {
    const char* raw = sqlite3_bind_parameter_name(stmt, i);
    const std::string name = raw != nullptr ? raw : "?";
    const std::string* value = name == ":since" ? &since : name == ":now" ? &now : nullptr;
    if (value == nullptr) {
      const std::string bare = Lower(name.substr(1));
      const std::string hint =
          bare == "since" || bare == "now" ? " (write it :" + bare + ")" : std::string();
      return Status::Error("unknown parameter " + name + hint +
                           ": features SQL may use only :since and :now");
    }
    if (sqlite3_bind_text(stmt, i, value->data(), static_cast<int>(value->size()),
                          SQLITE_TRANSIENT) != SQLITE_OK) {
      return Status::Error(std::string("cannot bind ") + name + ": " +
                           sqlite3_errmsg(sqlite3_db_handle(stmt)));
    }
  }
  return Status::Ok();
}

// `schema."name"` with the name's quotes doubled, for SQL we build.
std::string QualifiedName(const std::string& schema, const std::string& name) {
  std::string quoted = schema + ".\"";
  for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

Result<std::int64_t> CountRows(SqliteDb& data, const std::string& key, const std::string& name) {
  SqliteStatement st =
      data.Prepare("SELECT count(*) FROM " + QualifiedName(key.substr(0, key.find('.')), name));
  Result<bool> row = st.Step();
  if (!row.ok()) return row.status();
  return *row ? st.Int64(0) : 0;
}

// Runs every statement of `src` under `guard`, in order, and returns the tables and views
// that exist afterwards. Statements are prepared one at a time because later ones use the
// tables earlier ones create.
Result<SchemaNames> RunStatements(SqliteDb& data, const SqlSource& src, FeaturesGuard& guard,
                                  FeaturesStats& stats) {
  sqlite3* db = data.handle();
  const std::string& sql = src.text;
  Result<SchemaNames> names = ReadSchemaNames(data);
  if (!names.ok()) return names;
  std::size_t pos = 0;
  while (true) {
    const std::size_t start = SkipSpaceAndComments(sql, pos);
    if (start >= sql.size()) break;
    if (sql[start] == ';') {
      // An empty statement. Skipped here: SQLite would parse on into the next statement and
      // report its errors at the `;`.
      pos = start + 1;
      continue;
    }
    const std::set<std::string> before = Keys(*names);
    guard.BeginStatement(before);
    const std::int64_t changes_before = sqlite3_total_changes64(db);
    std::size_t end = 0;
    int number = 0;
    {
      FeaturesGuard::Scope scope(db, &guard);
      sqlite3_stmt* raw = nullptr;
      const char* tail = nullptr;
      int rc = sqlite3_prepare_v2(db, sql.data() + start, static_cast<int>(sql.size() - start),
                                  &raw, &tail);
      std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
      if (rc != SQLITE_OK) {
        return Status::Error(Where(src, stats.statements + 1, start, StatementEnd(sql, start)) +
                             ": " + ErrorText(db, rc, guard, src, start));
      }
      end = tail != nullptr ? static_cast<std::size_t>(tail - sql.data()) : sql.size();
      pos = end;
      if (stmt == nullptr) continue;  // a lone `;`
      number = ++stats.statements;
      const std::string text = sql.substr(start, end - start);
      if (std::optional<std::string> clock = FindWallClockUse(text)) {
        return Status::Error(Where(src, number, start, end) + ": " + *clock +
                             " reads the wall clock: use :now (this run's scheduled instant) "
                             "so that re-runs and replay compute the same features");
      }
      if (Status s = BindWindow(stmt.get(), stats.since, stats.now); !s.ok()) {
        return Status::Error(Where(src, number, start, end) + ": " + s.message());
      }
      while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      }
      if (rc != SQLITE_DONE) {
        return Status::Error(Where(src, number, start, end) + ": " +
                             ErrorText(db, rc, guard, src, start));
      }
    }
    stats.changes += sqlite3_total_changes64(db) - changes_before;
    names = ReadSchemaNames(data);
    if (!names.ok()) return names;
    // A main-database name that was not there before was created or renamed to by this
    // statement; either way the table is this job's.
    for (const auto& [key, object] : *names) {
      if (before.count(key) > 0 || key.rfind("main.", 0) != 0) continue;
      if (std::string why = guard.Claim(object.name); !why.empty()) {
        return Status::Error(Where(src, number, start, end) + ": " + why);
      }
    }
    // CREATE TABLE ... AS SELECT writes rows that total_changes does not count.
    for (const std::string& key : guard.creating()) {
      auto created = names->find(key);
      if (created == names->end() || created->second.is_view) continue;
      Result<std::int64_t> rows = CountRows(data, key, created->second.name);
      if (!rows.ok()) return rows.status();
      stats.changes += *rows;
    }
  }
  if (stats.statements == 0) {
    return Status::Error(src.where + " holds no SQL statements (only whitespace and comments)");
  }
  return names;
}

// Temp tables and views die with the connection anyway; dropping the run's own keeps a
// connection that replay reuses clean for the next run (whose CREATE TEMP would else fail).
Status DropTempObjects(SqliteDb& data, const std::set<std::string>& keep) {
  std::vector<std::string> drops;
  {
    SqliteStatement st = data.Prepare(
        "SELECT upper(type), name FROM temp.sqlite_schema WHERE type IN ('table', 'view')");
    while (true) {
      Result<bool> row = st.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      const std::string name = st.Text(1);
      const std::string lower = Lower(name);
      if (lower.rfind("sqlite_", 0) == 0 || keep.count("temp." + lower) > 0) continue;
      drops.push_back("DROP " + st.Text(0) + " " + QualifiedName("temp", name));
    }
  }
  for (const std::string& drop : drops) {
    if (Status s = data.Exec(drop); !s.ok()) return s;
  }
  return Status::Ok();
}

struct Ownership {
  std::set<std::string> mine;                 // lowercased names
  std::map<std::string, std::string> others;  // lowercased name -> job
};

Result<Ownership> ReadOwnership(SqliteDb& data, const std::string& job) {
  SqliteStatement st = data.Prepare("SELECT table_name, job FROM _mlcron_derived");
  Ownership own;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return own;
    if (st.Text(1) == job) {
      own.mine.insert(Lower(st.Text(0)));
    } else {
      own.others.emplace(Lower(st.Text(0)), st.Text(1));
    }
  }
}

// Records the job's derived tables that exist now; a dropped one frees its name.
Status RecordOwnership(SqliteDb& data, const std::string& job, const FeaturesGuard& guard,
                       const SchemaNames& names) {
  if (Status s = data.Prepare("DELETE FROM _mlcron_derived WHERE job = ?").Bind(1, job).Run();
      !s.ok()) {
    return s;
  }
  for (const auto& [key, object] : names) {
    if (key.rfind("main.", 0) != 0 || guard.owned().count(Lower(object.name)) == 0) continue;
    Status s = data.Prepare("INSERT INTO _mlcron_derived (table_name, job) VALUES (?, ?)")
                   .Bind(1, object.name)
                   .Bind(2, job)
                   .Run();
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::optional<std::string>> ReadWatermark(SqliteDb& data, const std::string& job) {
  SqliteStatement st = data.Prepare("SELECT since FROM _mlcron_watermarks WHERE job = ?");
  st.Bind(1, job);
  Result<bool> row = st.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(st.Text(0));
}

Status WriteWatermark(SqliteDb& data, const std::string& job, const std::string& since,
                      const std::string& run_id) {
  SqliteStatement st = data.Prepare(
      "INSERT INTO _mlcron_watermarks (job, since, run_id, updated_at) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (job) DO UPDATE SET since = excluded.since, run_id = excluded.run_id, "
      "updated_at = excluded.updated_at");
  st.Bind(1, job).Bind(2, since).Bind(4, IsoUtc(std::chrono::system_clock::now()));
  if (run_id.empty()) {
    st.BindNull(3);
  } else {
    st.Bind(3, run_id);
  }
  return st.Run();
}

std::string Count(std::int64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace

Result<FeaturesStats> RunFeatures(SqliteDb& data, const JobConfig& job, Instant scheduled,
                                  const std::string& run_id) {
  const std::string prefix = "features job " + job.name + ": ";
  Result<SqlSource> source = LoadSql(job);
  if (!source.ok()) return source.status().WithContext(prefix);
  FeaturesStats stats;
  Status status = data.Transaction([&]() -> Status {
    if (Status s = data.Exec(kBookkeepingSchema); !s.ok()) return s;
    Result<std::optional<std::string>> mark = ReadWatermark(data, job.name);
    if (!mark.ok()) return mark.status();
    Result<Ownership> own = ReadOwnership(data, job.name);
    if (!own.ok()) return own.status();
    stats = FeaturesStats{};
    stats.since = mark->value_or(kEpoch);
    stats.now = IsoUtc(scheduled);
    Result<SchemaNames> before = ReadSchemaNames(data);
    if (!before.ok()) return before.status();
    FeaturesGuard guard(job.name, std::move(own->mine), std::move(own->others));
    Result<SchemaNames> names = RunStatements(data, *source, guard, stats);
    if (!names.ok()) return names.status();
    if (Status s = DropTempObjects(data, Keys(*before)); !s.ok()) return s;
    if (Status s = RecordOwnership(data, job.name, guard, *names); !s.ok()) return s;
    // Only forward: a re-run of an older occurrence must not make the next run aggregate
    // rows again. IsoUtc text compares in time order.
    if (!mark->has_value() || stats.now > stats.since) {
      return WriteWatermark(data, job.name, std::max(stats.since, stats.now), run_id);
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.WithContext(prefix);
  return stats;
}

int RunFeaturesJob(const JobContext& ctx) {
  std::ostream& out = *ctx.out;
  if (ctx.job == nullptr) {
    out << "features: no job given\n";
    return 1;
  }
  const std::string& name = ctx.job->name;
  Result<std::unique_ptr<SqliteDb>> data = OpenDataDb(*ctx.config);
  if (!data.ok()) {
    out << "features job " << name << ": " << data.message() << "\n";
    return 1;
  }
  Result<FeaturesStats> stats = RunFeatures(**data, *ctx.job, ctx.scheduled, ctx.run_id);
  if (!stats.ok()) {
    out << stats.message() << "\n";
    return 1;
  }
  out << "features " << name << ": " << Count(stats->statements, "statement") << ", "
      << Count(stats->changes, "row") << " changed, since " << stats->since << " now " << stats->now
      << "\n";
  if (stats->now <= stats->since) {
    out << "features " << name << ": note: " << stats->now
        << " is not after the watermark (a re-run of an earlier occurrence), so windows such "
           "as \"> :since AND <= :now\" are empty and the watermark stays at "
        << stats->since << "\n";
  }
  return 0;
}

}  // namespace mlcron
