#include "jobs/import_job.h"

#include <sqlite3.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string_view>
#include <vector>

#include "jobs/csv_reader.h"
#include "jobs/import_table.h"

namespace mlcron {

namespace {

struct StmtDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// The upsert is bound, stepped and reset once per row. SqliteDb's cached statements reset
// only when handed back, so the loop holds its own.
Result<StmtPtr> PrepareRaw(SqliteDb& data, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc =
      sqlite3_prepare_v2(data.handle(), sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return data.LastError(rc);
  return StmtPtr(stmt);
}

Result<std::int64_t> CountRows(SqliteDb& data, const std::string& table) {
  SqliteStatement st = data.Prepare("SELECT count(*) FROM " + QuoteIdent(table));
  Result<bool> row = st.Step();
  if (!row.ok()) return row.status();
  return st.Int64(0);
}

// A value shown in a message: long ones are cut so that one bad line stays one line.
std::string Shown(std::string_view value) {
  constexpr std::size_t kMax = 40;
  if (value.size() <= kMax) return "\"" + std::string(value) + "\"";
  return "\"" + std::string(value.substr(0, kMax)) + "...\" (" + std::to_string(value.size()) +
         " bytes)";
}

// Optional sign and digits only: from_chars takes no '+', no spaces and no 0x.
std::optional<std::string> ParseInteger(std::string_view v, std::int64_t* out) {
  std::string_view digits = v;
  if (digits.size() > 1 && digits[0] == '+' && digits[1] != '-') digits.remove_prefix(1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *out);
  if (ec == std::errc::result_out_of_range && end == digits.data() + digits.size()) {
    return "expected an integer, got " + Shown(v) + " (out of the 64-bit range)";
  }
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return "expected an integer, got " + Shown(v);
  }
  return std::nullopt;
}

std::optional<std::string> ParseReal(std::string_view v, double* out) {
  std::string_view text = v;
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  if (ec == std::errc::result_out_of_range && end == text.data() + text.size()) {
    return "expected a real number, got " + Shown(v) + " (out of the range of a double)";
  }
  if (ec != std::errc() || end != text.data() + text.size()) {
    return "expected a real number, got " + Shown(v);
  }
  if (!std::isfinite(*out)) return "expected a finite real number, got " + Shown(v);
  return std::nullopt;
}

// INSERT ... ON CONFLICT(key) DO UPDATE ... WHERE the row differs, so that an unchanged row
// is not written and keeps its _ingested_at. Parameters: the columns in header order, then
// _ingested_at.
std::string UpsertSql(const std::string& table, const std::vector<ImportColumn>& columns) {
  std::string names, params, key, set, differs;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const std::string q = QuoteIdent(columns[i].name);
    names += q + ", ";
    params += "?" + std::to_string(i + 1) + ", ";
    if (columns[i].is_key) {
      key += (key.empty() ? "" : ", ") + q;
      continue;
    }
    set += q + " = excluded." + q + ", ";
    differs += std::string(differs.empty() ? "" : " OR ") + QuoteIdent(table) + "." + q +
               " IS NOT excluded." + q;
  }
  const std::string stamp = QuoteIdent(kIngestedAt);
  std::string sql = "INSERT INTO " + QuoteIdent(table) + " (" + names + stamp + ") VALUES (" +
                    params + "?" + std::to_string(columns.size() + 1) + ") ON CONFLICT (" + key +
                    ")";
  // With every column in the key, an existing row cannot differ.
  if (differs.empty()) return sql + " DO NOTHING";
  return sql + " DO UPDATE SET " + set + stamp + " = excluded." + stamp + " WHERE " + differs;
}

// Binds one record's fields; an error names the field and is prefixed with file:line later.
std::optional<std::string> BindRecord(sqlite3_stmt* stmt, const std::vector<CsvField>& fields,
                                      const std::vector<ImportColumn>& columns) {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const ImportColumn& col = columns[i];
    const CsvField& f = fields[i];
    const int index = static_cast<int>(i + 1);
    auto where = [&] {
      return "field \"" + col.name + "\" (column " + std::to_string(i + 1) + "): ";
    };
    int rc = SQLITE_OK;
    if (f.value.empty() && !(f.quoted && col.type == ImportType::kText)) {
      // A NULL key would never conflict, so a re-run would insert the row again.
      if (col.is_key) return where() + "the key must not be empty";
      rc = sqlite3_bind_null(stmt, index);
    } else if (col.type == ImportType::kInteger) {
      std::int64_t v = 0;
      if (auto error = ParseInteger(f.value, &v)) return where() + *error;
      rc = sqlite3_bind_int64(stmt, index, v);
    } else if (col.type == ImportType::kReal) {
      double v = 0;
      if (auto error = ParseReal(f.value, &v)) return where() + *error;
      rc = sqlite3_bind_double(stmt, index, v);
    } else {
      // STATIC: the record's bytes outlive the step.
      rc = sqlite3_bind_text64(stmt, index, f.value.data(), f.value.size(), SQLITE_STATIC,
                               SQLITE_UTF8);
    }
    if (rc != SQLITE_OK) return where() + sqlite3_errstr(rc);
  }
  return std::nullopt;
}

std::string Plural(std::int64_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

Result<ImportStats> ImportCsv(SqliteDb& data, const BuiltinJobParams& params,
                              const std::string& ingested_at) {
  Result<std::unique_ptr<CsvReader>> opened = CsvReader::Open(params.file);
  if (!opened.ok()) return opened.status();
  CsvReader& csv = **opened;
  Result<bool> has_header = csv.Next();
  if (!has_header.ok()) return has_header.status();
  if (!*has_header) return Status::Error(params.file + ": empty file (no header line)");
  const std::string at = params.file + ":" + std::to_string(csv.line()) + ": ";
  Result<std::vector<ImportColumn>> header = HeaderColumns(csv.fields(), params, at);
  if (!header.ok()) return header.status();
  std::vector<ImportColumn>& columns = *header;

  ImportStats stats;
  Status status = data.Transaction([&]() -> Status {
    if (Status s = PrepareTable(data, params, at, &columns); !s.ok()) return s;
    Result<std::int64_t> before = CountRows(data, params.table);
    if (!before.ok()) return before.status();
    Result<StmtPtr> upsert = PrepareRaw(data, UpsertSql(params.table, columns));
    if (!upsert.ok()) return upsert.status();
    sqlite3_stmt* stmt = upsert->get();
    const int stamp_index = static_cast<int>(columns.size() + 1);
    if (int rc = sqlite3_bind_text64(stmt, stamp_index, ingested_at.data(), ingested_at.size(),
                                     SQLITE_TRANSIENT, SQLITE_UTF8);
        rc != SQLITE_OK) {
      return data.LastError(rc);
    }
    std::int64_t written = 0;
    while (true) {
      Result<bool> record = csv.Next();
      if (!record.ok()) return record.status();
      if (!*record) break;
      // Built only on an error: this loop runs once per row.
      auto at_line = [&] { return params.file + ":" + std::to_string(csv.line()) + ": "; };
      if (csv.fields().size() != columns.size()) {
        return Status::Error(
            at_line() + Plural(static_cast<std::int64_t>(csv.fields().size()), "field") +
            ", but the header has " + Plural(static_cast<std::int64_t>(columns.size()), "column"));
      }
      if (auto error = BindRecord(stmt, csv.fields(), columns)) {
        return Status::Error(at_line() + *error);
      }
      if (int rc = sqlite3_step(stmt); rc != SQLITE_DONE) {
        Status error = data.LastError(rc);
        sqlite3_reset(stmt);
        return Status::Error(at_line() + error.message());
      }
      sqlite3_reset(stmt);
      ++stats.rows;
      written += sqlite3_changes(data.handle());
    }
    Result<std::int64_t> after = CountRows(data, params.table);
    if (!after.ok()) return after.status();
    // Within one transaction, rows only appear by our inserts; the other writes were updates.
    stats.inserted = *after - *before;
    stats.updated = written - stats.inserted;
    stats.unchanged = stats.rows - written;
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return stats;
}

int RunImportJob(const JobContext& ctx) {
  std::ostream& out = *ctx.out;
  if (ctx.job == nullptr) {
    out << "import: no job to run\n";
    return 1;
  }
  const BuiltinJobParams& params = ctx.job->builtin;
  const std::string what =
      "import " + std::filesystem::path(params.file).filename().string() + " into " + params.table;
  Result<std::unique_ptr<SqliteDb>> db = OpenDataDb(*ctx.config);
  // Stamped with the occurrence, not the wall clock: a features job of the same occurrence
  // binds :now to that instant, so in a batch (--run-now, catch-up) it still sees these rows,
  // and replay stamps rows with simulated time.
  Result<ImportStats> stats =
      db.ok() ? ImportCsv(**db, params, IsoUtc(ctx.scheduled)) : Result<ImportStats>(db.status());
  if (!stats.ok()) {
    out << what << " failed, nothing was written: " << stats.message() << "\n";
    return 1;
  }
  out << what << ": " << Plural(stats->rows, "row") << ", " << stats->inserted << " inserted, "
      << stats->updated << " updated, " << stats->unchanged << " unchanged\n";
  return 0;
}

}  // namespace mlcron
