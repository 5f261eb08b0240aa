#include "jobs/dataset_sql.h"

#include <fmt/format.h>

#include <algorithm>

namespace mlcron {
namespace dataset_sql {
namespace {

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool SameName(std::string_view a, std::string_view b) {  // SQLite identifiers ignore ASCII case
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return AsciiLower(x) == AsciiLower(y);
         });
}

}  // namespace

// Names are pre-validated identifiers; quoting still keeps keywords ("order") usable.
std::string Ident(std::string_view name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// A stored value shown in a message, cut short so a stray document cannot flood a log.
std::string Shown(std::string_view text) {
  constexpr size_t kMax = 60;
  if (text.size() <= kMax) return "\"" + std::string(text) + "\"";
  return "\"" + std::string(text.substr(0, kMax)) + "...\"";
}

std::string_view TrimSpace(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Statements built here depend on the spec and filter, so they are prepared per call rather
// than cached in SqliteDb; preparing costs microseconds next to any read.
Result<Stmt> PrepareRaw(SqliteDb& db, const DatasetSpec& spec, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &stmt, nullptr);
  Stmt owned(stmt);
  if (rc != SQLITE_OK) return db.LastError(rc).WithContext(spec.SourceName() + ": ");
  return owned;
}

// The FROM operand. A query is wrapped as a subquery; a trailing ";" would end it early and a
// trailing "-- comment" would swallow the closing parenthesis, hence the trim and newline.
std::string From(const DatasetSpec& spec) {
  if (!spec.table.empty()) return Ident(spec.table);
  std::string_view query = TrimSpace(spec.query);
  while (!query.empty() && query.back() == ';')
    query = TrimSpace(query.substr(0, query.size() - 1));
  return "(\n" + std::string(query) + "\n) AS src";
}

// Every column the spec names must be a column of the source.
Status CheckColumns(SqliteDb& db, const DatasetSpec& spec) {
  if (spec.table.empty() == spec.query.empty()) {
    return Status::Error(spec.SourceName() + ": exactly one of table and query must be set");
  }
  Result<Stmt> stmt = PrepareRaw(db, spec, "SELECT * FROM " + From(spec) + " LIMIT 0");
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> names;
  for (int i = 0; i < sqlite3_column_count(stmt->get()); ++i) {
    names.emplace_back(sqlite3_column_name(stmt->get(), i));
  }
  std::vector<std::string_view> wanted = {spec.key, spec.time};
  if (!spec.label.empty()) wanted.push_back(spec.label);
  if (!spec.segment_by.empty()) wanted.push_back(spec.segment_by);
  wanted.insert(wanted.end(), spec.features.begin(), spec.features.end());
  for (std::string_view column : wanted) {
    if (std::none_of(names.begin(), names.end(),
                     [&](const std::string& n) { return SameName(n, column); })) {
      return Status::Error(fmt::format("{}: no column {} (columns: {})", spec.SourceName(),
                                       Shown(column), fmt::join(names, ", ")));
    }
  }
  return Status::Ok();
}

// " WHERE ..." for `filter` (empty when nothing filters); the values to bind, in order, go
// to *params.
std::string Where(const DatasetSpec& spec, const RowFilter& filter, bool label_not_null,
                  std::vector<const SqlValue*>* params) {
  std::vector<std::string> terms;
  if (filter.segment && !spec.segment_by.empty()) {
    if (filter.segment->is_null()) {
      terms.push_back(Ident(spec.segment_by) + " IS NULL");
    } else {
      terms.push_back(Ident(spec.segment_by) + " = ?");
      params->push_back(&*filter.segment);
    }
  }
  if (filter.after) {
    terms.push_back(Ident(spec.time) + " > ?");
    params->push_back(&*filter.after);
  }
  if (filter.before) {
    terms.push_back(Ident(spec.time) + " < ?");
    params->push_back(&*filter.before);
  }
  if (label_not_null && !spec.label.empty()) terms.push_back(Ident(spec.label) + " IS NOT NULL");
  if (terms.empty()) return "";
  return " WHERE " + fmt::format("{}", fmt::join(terms, " AND "));
}

void BindAll(sqlite3_stmt* stmt, const std::vector<const SqlValue*>& params) {
  for (size_t i = 0; i < params.size(); ++i) params[i]->Bind(stmt, static_cast<int>(i) + 1);
}

}  // namespace dataset_sql

using namespace dataset_sql;

DatasetSpec DatasetSpec::FromModel(const ModelConfig& model) {
  DatasetSpec spec;
  spec.table = model.table;
  spec.query = model.query;
  spec.key = model.key;
  spec.time = model.time;
  spec.label = model.label;
  spec.features = model.features;
  spec.segment_by = model.segment_by;
  spec.query_label = "the query of model " + model.name;
  return spec;
}

std::string DatasetSpec::SourceName() const {
  if (!table.empty()) return "table " + table;
  return query_label.empty() ? "the query" : query_label;
}

Result<std::int64_t> CountRows(SqliteDb& db, const DatasetSpec& spec, const RowFilter& filter,
                               std::int64_t cap) {
  if (Status s = CheckColumns(db, spec); !s.ok()) return s;
  std::vector<const SqlValue*> params;
  const std::string where = Where(spec, filter, filter.labelled_only, &params);
  const std::string sql = cap > 0 ? "SELECT count(*) FROM (SELECT 1 FROM " + From(spec) + where +
                                        " LIMIT " + std::to_string(cap) + ")"
                                  : "SELECT count(*) FROM " + From(spec) + where;
  Result<Stmt> stmt = PrepareRaw(db, spec, sql);
  if (!stmt.ok()) return stmt.status();
  BindAll(stmt->get(), params);
  const int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_ROW) return db.LastError(rc).WithContext(spec.SourceName() + ": ");
  return static_cast<std::int64_t>(sqlite3_column_int64(stmt->get(), 0));
}

Result<std::vector<SqlValue>> ListSegments(SqliteDb& db, const DatasetSpec& spec) {
  if (spec.segment_by.empty()) return std::vector<SqlValue>{SqlValue()};
  if (Status s = CheckColumns(db, spec); !s.ok()) return s;
  std::string sql = "SELECT DISTINCT " + Ident(spec.segment_by) + " FROM " + From(spec);
  if (!spec.label.empty()) sql += " WHERE " + Ident(spec.label) + " IS NOT NULL";
  sql += " ORDER BY 1";
  Result<Stmt> stmt = PrepareRaw(db, spec, sql);
  if (!stmt.ok()) return stmt.status();
  std::vector<SqlValue> segments;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    segments.push_back(SqlValue::FromColumn(stmt->get(), 0));
  }
  if (rc != SQLITE_DONE) return db.LastError(rc).WithContext(spec.SourceName() + ": ");
  return segments;
}

Status EnsureSegmentTimeIndex(SqliteDb& db, const DatasetSpec& spec, bool* created) {
  *created = false;
  if (spec.table.empty()) return Status::Ok();
  if (Status s = CheckColumns(db, spec); !s.ok()) return s;
  const std::string name = spec.table + "_mlcron_seg_time";
  std::vector<std::string> cols;
  if (!spec.segment_by.empty()) cols.push_back(Ident(spec.segment_by));
  cols.push_back(Ident(spec.time));
  // The key makes the index serve LoadDataset's ORDER BY time, key without a sort (the
  // sort of a million wide rows spills to temp files and costs more than the read); the
  // label makes CountRows index-only.
  cols.push_back(Ident(spec.key));
  if (!spec.label.empty()) cols.push_back(Ident(spec.label));
  // Checked and created under one write lock, so *created is exact even when two retrain
  // jobs on the same table start together.
  Status s = db.Transaction([&]() -> Status {
    SqliteStatement exists =
        db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1 COLLATE NOCASE");
    exists.Bind(1, name);
    Result<bool> found = exists.Step();
    if (!found.ok()) return found.status();
    if (*found) return Status::Ok();
    *created = true;
    return db.Exec(fmt::format("CREATE INDEX IF NOT EXISTS {} ON {}({})", Ident(name),
                               Ident(spec.table), fmt::join(cols, ", ")));
  });
  if (!s.ok()) *created = false;
  return s.WithContext(spec.SourceName() + ": ");
}

}  // namespace mlcron
