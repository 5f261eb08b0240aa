// The `import` built-in job kind (DESIGN.md §6): loads one CSV file into a table of the data
// database by key, inserting new rows and updating changed ones, all or nothing per file.
// Operator-facing rules are in docs/jobs-import.md.
#pragma once

#include <cstdint>
#include <string>

#include "daemon/job_params.h"
#include "daemon/sqlite_db.h"
#include "daemon/status.h"
#include "jobs/job_context.h"

namespace mlcron {

struct ImportStats {
  std::int64_t rows = 0;       // data records in the file
  std::int64_t inserted = 0;   // rows with a key the table did not have
  std::int64_t updated = 0;    // rows that changed an existing row
  std::int64_t unchanged = 0;  // rows equal to the table's row with that key
  bool operator==(const ImportStats&) const = default;
};

// Imports params.file into params.table by params.key in one BEGIN IMMEDIATE transaction,
// creating the table and its unique key index if absent. Every inserted or changed row gets
// `_ingested_at` = ingested_at; unchanged rows keep theirs. On any error nothing is written
// and the message names the file, line and field (or the table and column).
Result<ImportStats> ImportCsv(SqliteDb& data, const BuiltinJobParams& params,
                              const std::string& ingested_at);

// Runs ctx.job's import against OpenDataDb(*ctx.config) with ingested_at = IsoUtc(ctx.now),
// prints one summary (or error) line to *ctx.out, and returns the exit code: 0 or 1.
int RunImportJob(const JobContext& ctx);

}  // namespace mlcron
