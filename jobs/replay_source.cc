#include "jobs/replay_source.h"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <utility>

#include "daemon/time_format.h"
#include "jobs/import_job.h"
#include "jobs/import_table.h"

namespace mlcron {
namespace {

// Where a source is written in the config, for every message about it.
std::string SourceName(const ReplaySource& s) {
  return fmt::format("replay source \"{}\" (config line {})", s.table, s.pos.line);
}

// A file path as an SQLite URI, so the data database can be attached read-only; immutable
// also takes no locks and makes no -wal or -shm file.
std::string ReadOnlyUri(const std::string& path, bool immutable) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      uri += c;
    }
  }
  return uri + (immutable ? "?mode=ro&immutable=1" : "?mode=ro");
}

Result<std::vector<std::string>> TableColumns(SqliteDb& db, const std::string& schema,
                                              const std::string& table) {
  SqliteStatement st = db.Prepare("SELECT name FROM pragma_table_info(?, ?) ORDER BY cid");
  st.Bind(1, table).Bind(2, schema);
  std::vector<std::string> out;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(st.Text(0));
  }
  return out;
}

// Copies the table from the operator's data database, opened read-only, with its schema.
Status CopyFromDataDb(SqliteDb& db, const Config& config, const ReplaySource& s) {
  if (!std::filesystem::exists(config.data_path)) {
    return Status::Error(SourceName(s) + ": no import job writes it and the data database " +
                         config.data_path + " does not exist");
  }
  // A WAL database opened read-only gets -wal and -shm files made beside it, and left there.
  // Without a -wal file every commit is in the main file: it is read as immutable and checked
  // unchanged afterwards (a writer checkpointing meanwhile could tear the read). With one, a
  // writer has the database open and its files are shared as by any reader.
  const bool shared = std::filesystem::exists(config.data_path + "-wal");
  auto stamp = [&] {
    std::error_code ec;
    return std::pair(std::filesystem::last_write_time(config.data_path, ec),
                     std::filesystem::file_size(config.data_path, ec));
  };
  const auto before = stamp();
  SqliteStatement attach = db.Prepare("ATTACH DATABASE ? AS operator_data");
  attach.Bind(1, ReadOnlyUri(config.data_path, !shared));
  if (Status st = attach.Run(); !st.ok()) return st;
  Status status = [&]() -> Status {
    SqliteStatement find =
        db.Prepare("SELECT sql FROM operator_data.sqlite_master WHERE type = 'table' AND name = ?");
    find.Bind(1, s.table);
    Result<bool> found = find.Step();
    if (!found.ok()) return found.status();
    if (!*found) {
      return Status::Error(SourceName(s) + ": the data database " + config.data_path +
                           " has no table \"" + s.table + "\"");
    }
    const std::string create = find.Text(0);
    if (Status st = db.Exec(create); !st.ok()) return st;
    const std::string t = QuoteIdent(s.table);
    if (Status st = db.Exec("INSERT INTO main." + t + " SELECT * FROM operator_data." + t);
        !st.ok()) {
      return st;
    }
    Result<std::vector<std::string>> cols = TableColumns(db, "main", s.table);
    if (!cols.ok()) return cols.status();
    if (std::find(cols->begin(), cols->end(), kIngestedAt) == cols->end()) {
      if (Status st = db.Exec("ALTER TABLE " + t + " ADD COLUMN " + kIngestedAt + " TEXT");
          !st.ok()) {
        return st;
      }
    }
    std::string key;
    for (const std::string& k : s.key) key += (key.empty() ? "" : ", ") + QuoteIdent(k);
    return db.Exec("CREATE UNIQUE INDEX " + QuoteIdent(s.table + "_mlcron_key") + " ON " + t +
                   " (" + key + ")");
  }();
  (void)db.Exec("DETACH DATABASE operator_data");
  if (status.ok() && !shared && stamp() != before) {
    return Status::Error(SourceName(s) + ": the data database " + config.data_path +
                         " changed while it was read; run the replay again");
  }
  return status;
}

Status CheckColumns(const ReplaySource& s, const std::vector<std::string>& columns) {
  std::vector<std::string> wanted = {s.time};
  wanted.insert(wanted.end(), s.labels.begin(), s.labels.end());
  wanted.insert(wanted.end(), s.key.begin(), s.key.end());
  for (const std::string& w : wanted) {
    if (std::find(columns.begin(), columns.end(), w) == columns.end()) {
      return Status::Error(SourceName(s) + ": table \"" + s.table + "\" has no column \"" + w +
                           "\" (it has " + fmt::format("{}", fmt::join(columns, ", ")) + ")");
    }
  }
  return Status::Ok();
}

// Fills _mlcron_reveal for one table and returns its time range.
Status ComputeReveal(SqliteDb& db, const Config& config, LoadedSource* src) {
  const ReplaySource& s = src->config;
  std::string key;
  for (const std::string& k : s.key) key += ", " + QuoteIdent(k);
  SqliteStatement rows = db.Prepare("SELECT rowid, typeof(" + QuoteIdent(s.time) + "), " +
                                    QuoteIdent(s.time) + key + " FROM " + QuoteIdent(s.table));
  SqliteStatement insert = db.Prepare(std::string("INSERT INTO ") + kRevealTable +
                                      " (tbl, rid, row_at, label_at) VALUES (?, ?, ?, ?)");
  bool any = false;
  while (true) {
    Result<bool> row = rows.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const std::string type = rows.Text(1);
    auto which = [&] {
      std::string k;
      for (size_t i = 0; i < s.key.size(); ++i) {
        k += (i ? ", " : "") + s.key[i] + " " + rows.Text(static_cast<int>(3 + i));
      }
      return k.empty() ? "rowid " + std::to_string(rows.Int64(0)) : k;
    };
    if (type == "null") {
      return Status::Error(SourceName(s) + ": the row with " + which() + " has no " + s.time);
    }
    const bool is_number = type == "integer" || type == "real";
    Result<Instant> t = TimeValueInstant(rows.Text(2), is_number, rows.Double(2), config.tz);
    if (!t.ok()) {
      return Status::Error(SourceName(s) + ": the row with " + which() + ": " + s.time + " " +
                           t.message());
    }
    if (!any || *t < src->first) src->first = *t;
    if (!any || *t > src->last) src->last = *t;
    any = true;
    const Instant appear = *t - s.reveal_ahead;
    insert.Bind(1, s.table)
        .Bind(2, rows.Int64(0))
        .Bind(3, static_cast<std::int64_t>(appear.time_since_epoch().count()))
        .Bind(4,
              static_cast<std::int64_t>(EndOfLocalDay(*t, config.tz).time_since_epoch().count()));
    if (Status st = insert.Run(); !st.ok()) return st;
    insert.Reset();
    ++src->rows;
  }
  if (!any) return Status::Error(SourceName(s) + ": table \"" + s.table + "\" has no rows");
  return Status::Ok();
}

Status LoadOne(SqliteDb& db, const Config& config, LoadedSource* src) {
  ReplaySource& s = src->config;
  const JobConfig* importer = nullptr;
  for (const JobConfig& j : config.jobs) {
    if (j.kind == "import" && j.builtin.table == s.table) importer = &j;
  }
  if (importer) {
    if (s.key.empty()) s.key = importer->builtin.key;
    src->origin = "import job " + importer->name + " (" + importer->builtin.file + ")";
    Result<ImportStats> imported = ImportCsv(db, importer->builtin, "replay");
    if (!imported.ok()) return Status::Error(SourceName(s) + ": " + imported.message());
  } else {
    src->origin = "the data database " + config.data_path;
    if (Status st = CopyFromDataDb(db, config, s); !st.ok()) return st;
  }
  Result<std::vector<std::string>> cols = TableColumns(db, "main", s.table);
  if (!cols.ok()) return cols.status();
  if (Status st = CheckColumns(s, *cols); !st.ok()) return st;
  for (const std::string& c : *cols) {
    if (c != kIngestedAt) src->columns.push_back(c);
  }
  SqliteStatement schema = db.Prepare(
      "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY "
      "type DESC");  // the table before its indexes
  schema.Bind(1, s.table);
  while (true) {
    Result<bool> row = schema.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    (schema.Text(0) == "table" ? src->create_sql : src->index_sql.emplace_back()) = schema.Text(1);
  }
  return ComputeReveal(db, config, src);
}

}  // namespace

Result<Instant> TimeValueInstant(const std::string& text, bool is_number, double number,
                                 const date::time_zone* tz) {
  if (is_number) {
    if (!std::isfinite(number)) return Status::Error("is not a finite number");
    return Instant(std::chrono::seconds(std::llround(number)));
  }
  Result<Instant> t = ParseInstant(text, tz);
  if (!t.ok()) {
    return Status::Error("\"" + text +
                         "\" is neither a date (YYYY-MM-DD), an ISO time nor unix seconds");
  }
  return *t;
}

Instant EndOfLocalDay(Instant t, const date::time_zone* tz) {
  const date::local_days day = date::floor<date::days>(tz->to_local(t));
  const std::string next = date::format("%F", day + date::days{1});
  Result<Instant> midnight = ParseInstant(next, tz);
  return midnight.ok() ? *midnight : t + std::chrono::hours(24);
}

Result<ReplaySources> LoadReplaySources(const Config& config, const std::string& path) {
  if (!config.replay.present()) {
    return Status::Error(config.path +
                         ": no replay: section; name the tables to reveal, e.g.\n"
                         "replay:\n  sources:\n    - {table: matches, time: date, labels: "
                         "[home_score, away_score]}");
  }
  Result<std::unique_ptr<SqliteDb>> db =
      SqliteDb::Open(path, "replay source database", std::chrono::milliseconds(1000));
  if (!db.ok()) return db.status();
  SqliteDb& d = **db;
  // Scratch: rebuilt from scratch if a replay is interrupted, so no durability is needed.
  if (Status st = d.Exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; CREATE TABLE " +
                         std::string(kRevealTable) +
                         " (tbl TEXT, rid INTEGER, row_at INTEGER, label_at INTEGER, "
                         "PRIMARY KEY (tbl, rid)) WITHOUT ROWID");
      !st.ok()) {
    return st;
  }
  ReplaySources out;
  out.path = path;
  for (const ReplaySource& s : config.replay.sources) {
    LoadedSource src;
    src.config = s;
    if (Status st = LoadOne(d, config, &src); !st.ok()) return st;
    out.tables.push_back(std::move(src));
  }
  if (Status st = d.Exec(std::string("CREATE INDEX reveal_row ON ") + kRevealTable +
                         " (tbl, row_at); CREATE INDEX reveal_label ON " + kRevealTable +
                         " (tbl, label_at)");
      !st.ok()) {
    return st;
  }
  return out;
}

}  // namespace mlcron
