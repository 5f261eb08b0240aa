// Reads a model's rows (DESIGN.md §3 `models:`) from the data database straight into
// contiguous float buffers for XGBoost: features row-major with NaN for missing, labels,
// times in ascending order, keys and segments. Also the indexed counts the skip path uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/model_config.h"
#include "daemon/sqlite_db.h"
#include "daemon/status.h"
#include "jobs/sql_value.h"

namespace mlcron {

struct DatasetSpec {
  std::string table;  // exactly one of table / query
  std::string query;
  std::string key;
  std::string time;
  std::string label;  // "" when the rows carry no label (signals input)
  std::vector<std::string> features;
  std::string segment_by;  // "" for one segment
  // How messages name a query source ("the query of model result"); FromModel sets it.
  std::string query_label;

  static DatasetSpec FromModel(const ModelConfig& model);
  // "table match_features" or "the query of model result", for messages.
  std::string SourceName() const;
};

// Which rows to read. Time bounds compare the time column's stored values in SQL.
struct RowFilter {
  // Only rows whose segment_by column equals this (IS NULL for a NULL value); ignored without
  // segment_by, where ListSegments's single NULL stands for all rows.
  std::optional<SqlValue> segment;
  std::optional<SqlValue> after;   // time > after
  std::optional<SqlValue> before;  // time < before
  bool labelled_only = true;       // skip rows whose label is NULL (they are counted)
};

struct Dataset {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<float> x;               // rows × cols, row-major; NaN = missing (NULL)
  std::vector<float> y;               // per row; NaN for a NULL label or without a label
  std::vector<std::int64_t> time;     // unix seconds, ascending (rows are read ORDER BY time)
  std::vector<std::string> keys;      // the key column as text
  std::vector<std::string> segments;  // the segment_by column as text; "" without segment_by
  std::int64_t skipped_unlabelled = 0;

  // The time value of `row` exactly as stored (integer or text), for later SQL bounds.
  // Kept once per distinct time, since rows are sorted and times repeat.
  SqlValue RawTime(size_t row) const;
  // Internal: (first row, stored value) for each run of equal times.
  std::vector<std::pair<size_t, SqlValue>> time_runs;
};

// Errors name the source and the column or row: a missing column ("table m: no column
// \"form\" (columns: a, b)"), a non-numeric feature or label, an infinite value, a time that
// is neither an integer nor ISO-8601 text. Text that is wholly a number ("1.5", " 2 ") counts
// as a number, since CSV imports store TEXT. Rows come ORDER BY time, key: with the index of
// EnsureSegmentTimeIndex that needs no sort; without it (query sources) SQLite sorts.
Result<Dataset> LoadDataset(SqliteDb& db, const DatasetSpec& spec, const RowFilter& filter);

// Number of rows matching `filter`; on a table with the (segment, time) index this is an
// index-only count.
// With `cap` > 0 counting stops there (the result is min(count, cap)): a decision that only
// needs "at least N" then costs O(N), not O(table).
Result<std::int64_t> CountRows(SqliteDb& db, const DatasetSpec& spec, const RowFilter& filter,
                               std::int64_t cap = 0);

// Distinct segment_by values among labelled rows, ascending; {NULL} without segment_by.
Result<std::vector<SqlValue>> ListSegments(SqliteDb& db, const DatasetSpec& spec);

// Creates `<table>_mlcron_seg_time` on ([segment_by,] time, key[, label]) for table models if
// absent; *created tells whether it did. It makes CountRows index-only and lets LoadDataset
// read a segment in time order without sorting. A query model has nothing to index (no-op).
Status EnsureSegmentTimeIndex(SqliteDb& db, const DatasetSpec& spec, bool* created);

// Unix seconds of a stored time: an integer (or integral real, or the text of an integer) is
// taken as seconds; other text is ISO-8601 "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" or
// "YYYY-MM-DDTHH:MM[:SS][Z]", in UTC unless it carries a "+HH:MM" offset (ParseInstant).
Result<std::int64_t> TimeToUnix(const SqlValue& value);

}  // namespace mlcron
