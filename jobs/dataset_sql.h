// The SQL a DatasetSpec is read with: quoted names, the FROM operand of a table or query, the
// WHERE of a RowFilter, and the column check with its message. Internal to dataset.cc and
// dataset_sql.cc (the loader and the counts), which must agree on every clause.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/sqlite_db.h"
#include "daemon/status.h"
#include "jobs/dataset.h"

namespace mlcron::dataset_sql {

struct StmtDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// "name" with any " doubled. Names are pre-validated identifiers; quoting still keeps
// keywords ("order") usable.
std::string Ident(std::string_view name);
// A stored value or name shown in a message, quoted and cut short.
std::string Shown(std::string_view text);
std::string_view TrimSpace(std::string_view s);

// Prepared per call, not cached in SqliteDb: the SQL depends on the spec and filter.
// Errors are prefixed with the source's name.
Result<Stmt> PrepareRaw(SqliteDb& db, const DatasetSpec& spec, const std::string& sql);
// `"table"`, or `(query) AS src`.
std::string From(const DatasetSpec& spec);
// Every column the spec names exists in the source: `table m: no column "x" (columns: a, b)`.
Status CheckColumns(SqliteDb& db, const DatasetSpec& spec);
// " WHERE ..." for `filter` ("" when nothing filters); the values to bind, in order, are
// appended to *params (pointers into `filter`).
std::string Where(const DatasetSpec& spec, const RowFilter& filter, bool label_not_null,
                  std::vector<const SqlValue*>* params);
void BindAll(sqlite3_stmt* stmt, const std::vector<const SqlValue*>& params);

}  // namespace mlcron::dataset_sql
