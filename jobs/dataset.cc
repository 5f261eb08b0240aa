#include "jobs/dataset.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>
#include <utility>

#include "daemon/time_format.h"
#include "jobs/dataset_sql.h"

namespace mlcron {
namespace {

using namespace dataset_sql;

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

// The column's value as text, the way keys and segments are kept.
std::string_view ColumnText(sqlite3_stmt* stmt, int col, char (&buf)[32]) {
  switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_NULL:
      return {};
    case SQLITE_INTEGER: {
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, sqlite3_column_int64(stmt, col));
      return std::string_view(buf, static_cast<size_t>(end - buf));
    }
    case SQLITE_FLOAT: {
      const std::string text = SqlValue::Real(sqlite3_column_double(stmt, col)).ToString();
      const size_t n = std::min(text.size(), sizeof buf);
      std::memcpy(buf, text.data(), n);
      return std::string_view(buf, n);
    }
    default: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
      return std::string_view(text, static_cast<size_t>(sqlite3_column_bytes(stmt, col)));
    }
  }
}

// A feature or label value as float, slow path: text, blobs, and numbers that are not finite
// floats. Text is accepted when all of it (less surrounding blanks) is a number, because CSV
// imports store TEXT unless told otherwise; "" and "nan" are not numbers. Returns the
// problem, or "" when fine.
std::string ToFloatSlow(sqlite3_value* value, float* out) {
  double d = 0;
  switch (sqlite3_value_type(value)) {
    case SQLITE_NULL:
      *out = kMissing;
      return "";
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
      d = sqlite3_value_double(value);
      break;
    case SQLITE_BLOB:
      return fmt::format("expected a number, got a blob of {} bytes", sqlite3_value_bytes(value));
    default: {
      const auto* raw = reinterpret_cast<const char*>(sqlite3_value_text(value));
      const std::string_view all(raw, static_cast<size_t>(sqlite3_value_bytes(value)));
      std::string_view text = TrimSpace(all);
      if (!text.empty() && text.front() == '+') text.remove_prefix(1);
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size() || std::isnan(d)) {
        return "expected a number, got " + Shown(all);
      }
    }
  }
  if (std::isinf(d)) return fmt::format("expected a finite number, got {}", d);
  *out = static_cast<float>(d);
  if (std::isinf(*out)) return fmt::format("{} is out of the float range", d);
  return "";
}

// A feature or label value as float; NULL is NaN (missing). Returns false when the slow path
// is needed. The value comes from sqlite3_column_value: one API call per column instead of
// two (column_type, column_double), which measured about a tenth of the load time. Reading it with
// sqlite3_value_* is safe because SqliteDb opens connections with SQLITE_OPEN_NOMUTEX, where
// protected and unprotected values are the same.
inline bool ToFloatFast(sqlite3_value* value, float* out) {
  const int type = sqlite3_value_type(value);
  if (type == SQLITE_FLOAT || type == SQLITE_INTEGER) {
    *out = static_cast<float>(sqlite3_value_double(value));
    return std::isfinite(*out);
  }
  *out = kMissing;
  return type == SQLITE_NULL;
}

// The cost of a row: ~25 column reads, one key string (short keys stay in the string's
// own buffer) and amortised vector growth (counting first to reserve measured no faster, and
// costs a scan without the index). The time is parsed once per run of equal stored values,
// since rows arrive sorted by time.
class RowReader {
 public:
  RowReader(const DatasetSpec& spec, const RowFilter& filter, Dataset* ds)
      : spec_(spec), filter_(filter), ds_(ds) {
    label_col_ = spec.label.empty() ? -1 : 2;
    segment_col_ = spec.segment_by.empty() ? -1 : (spec.label.empty() ? 2 : 3);
    first_feature_ = 2 + (label_col_ >= 0) + (segment_col_ >= 0);
  }

  // The select list: key, time[, label][, segment_by], then the features in order.
  std::string Columns() const {
    std::vector<std::string> cols = {Ident(spec_.key), Ident(spec_.time)};
    if (label_col_ >= 0) cols.push_back(Ident(spec_.label));
    if (segment_col_ >= 0) cols.push_back(Ident(spec_.segment_by));
    for (const std::string& f : spec_.features) cols.push_back(Ident(f));
    return fmt::format("{}", fmt::join(cols, ", "));
  }

  Status Read(sqlite3_stmt* stmt) {
    float label = kMissing;
    if (label_col_ >= 0 && sqlite3_column_type(stmt, label_col_) == SQLITE_NULL &&
        filter_.labelled_only) {
      ++ds_->skipped_unlabelled;
      return Status::Ok();
    }
    if (sqlite3_column_type(stmt, 0) == SQLITE_NULL) {
      return Status::Error(fmt::format("{}: row {} in time order: column {}: the key is NULL",
                                       spec_.SourceName(), ds_->rows + 1, Shown(spec_.key)));
    }
    const std::string_view key = ColumnText(stmt, 0, key_buf_);
    if (Status s = ReadTime(stmt, key); !s.ok()) return s;
    if (label_col_ >= 0) {
      sqlite3_value* value = sqlite3_column_value(stmt, label_col_);
      if (!ToFloatFast(value, &label)) {
        if (std::string problem = ToFloatSlow(value, &label); !problem.empty()) {
          return RowError(key, spec_.label, problem);
        }
      }
    }
    const size_t cols = spec_.features.size();
    ds_->x.resize(ds_->x.size() + cols);
    float* x = ds_->x.data() + ds_->x.size() - cols;
    for (size_t j = 0; j < cols; ++j) {
      sqlite3_value* value = sqlite3_column_value(stmt, first_feature_ + static_cast<int>(j));
      if (ToFloatFast(value, &x[j])) continue;
      if (std::string problem = ToFloatSlow(value, &x[j]); !problem.empty()) {
        return RowError(key, spec_.features[j], problem);
      }
    }
    ds_->y.push_back(label);
    ds_->keys.emplace_back(key);
    if (segment_col_ >= 0) {
      ds_->segments.emplace_back(ColumnText(stmt, segment_col_, segment_buf_));
    } else {
      ds_->segments.emplace_back();
    }
    ++ds_->rows;
    return Status::Ok();
  }

 private:
  Status RowError(std::string_view key, std::string_view column, const std::string& problem) {
    return Status::Error(fmt::format("{}: row key {}: column {}: {}", spec_.SourceName(), key,
                                     Shown(column), problem));
  }

  bool SameAsRun(sqlite3_stmt* stmt, int type) const {
    if (ds_->time_runs.empty() || type != run_type_) return false;
    const SqlValue& run = ds_->time_runs.back().second;
    switch (type) {
      case SQLITE_INTEGER:
        return sqlite3_column_int64(stmt, 1) == run.i;
      case SQLITE_FLOAT:
        return sqlite3_column_double(stmt, 1) == run.r;
      case SQLITE_TEXT: {
        const auto* text = sqlite3_column_text(stmt, 1);
        const auto n = static_cast<size_t>(sqlite3_column_bytes(stmt, 1));
        return n == run.s.size() && std::memcmp(text, run.s.data(), n) == 0;
      }
      default:
        return false;
    }
  }

  Status ReadTime(sqlite3_stmt* stmt, std::string_view key) {
    const int type = sqlite3_column_type(stmt, 1);
    if (!SameAsRun(stmt, type)) {
      if (type == SQLITE_BLOB) return RowError(key, spec_.time, "expected a time, got a blob");
      SqlValue stored = SqlValue::FromColumn(stmt, 1);
      Result<std::int64_t> unix = TimeToUnix(stored);
      if (!unix.ok()) return RowError(key, spec_.time, unix.message());
      if (!ds_->time.empty() && *unix < ds_->time.back()) {
        // SQL orders the stored values; mixed forms (text and integers, or text with
        // offsets) can sort differently from the instants they denote.
        return RowError(
            key, spec_.time,
            fmt::format("{} sorts after {} but is an earlier time; store every time in one form "
                        "(unix seconds or UTC ISO-8601 text)",
                        Shown(stored.ToString()), Shown(ds_->time_runs.back().second.ToString())));
      }
      ds_->time_runs.emplace_back(ds_->rows, std::move(stored));
      run_type_ = type;
      run_unix_ = *unix;
    }
    ds_->time.push_back(run_unix_);
    return Status::Ok();
  }

  const DatasetSpec& spec_;
  const RowFilter& filter_;
  Dataset* ds_;
  int label_col_ = -1;
  int segment_col_ = -1;
  int first_feature_ = 2;
  int run_type_ = SQLITE_NULL;
  std::int64_t run_unix_ = 0;
  char key_buf_[32] = {};
  char segment_buf_[32] = {};
};

}  // namespace

SqlValue Dataset::RawTime(size_t row) const {
  auto it = std::upper_bound(time_runs.begin(), time_runs.end(), row,
                             [](size_t r, const auto& run) { return r < run.first; });
  if (it == time_runs.begin()) return SqlValue();
  return std::prev(it)->second;
}

Result<Dataset> LoadDataset(SqliteDb& db, const DatasetSpec& spec, const RowFilter& filter) {
  if (Status s = CheckColumns(db, spec); !s.ok()) return s;
  Dataset ds;
  ds.cols = spec.features.size();
  RowReader reader(spec, filter, &ds);
  std::vector<const SqlValue*> params;
  // Unlabelled rows are read and dropped in the loop rather than in SQL, so they can be
  // counted without a second query.
  const std::string sql = "SELECT " + reader.Columns() + " FROM " + From(spec) +
                          Where(spec, filter, /*label_not_null=*/false, &params) + " ORDER BY " +
                          Ident(spec.time) + ", " + Ident(spec.key);
  Result<Stmt> stmt = PrepareRaw(db, spec, sql);
  if (!stmt.ok()) return stmt.status();
  BindAll(stmt->get(), params);
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    if (Status s = reader.Read(stmt->get()); !s.ok()) return s;
  }
  if (rc != SQLITE_DONE) return db.LastError(rc).WithContext(spec.SourceName() + ": ");
  return ds;
}

Result<std::int64_t> TimeToUnix(const SqlValue& value) {
  switch (value.type) {
    case SqlValue::Type::kNull:
      return Status::Error("the time is NULL");
    case SqlValue::Type::kInteger:
      return value.i;
    case SqlValue::Type::kReal:
      // Below 9.2e18 < 2^63, so the cast cannot overflow.
      if (std::isfinite(value.r) && value.r == std::trunc(value.r) && std::fabs(value.r) < 9.2e18) {
        return static_cast<std::int64_t>(value.r);
      }
      return Status::Error(value.ToString() + " is not a whole number of unix seconds");
    case SqlValue::Type::kText: {
      // Unix seconds stored as text (a CSV import's default) are accepted like integers.
      std::string_view text = value.s;
      std::int64_t seconds = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
      if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) return seconds;
      Result<Instant> instant = ParseInstant(text, nullptr);  // no zone: UTC unless an offset
      if (!instant.ok()) return instant.status();
      return static_cast<std::int64_t>(instant->time_since_epoch().count());
    }
  }
  return Status::Error("unknown value type");
}

}  // namespace mlcron
