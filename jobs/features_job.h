// The `features` built-in job kind (DESIGN.md §6): runs an operator's SQL against the data
// database in one transaction, with :since/:now bound to an incremental window, while an
// SQLite authorizer lets it write only the derived tables it created. docs/jobs-features.md
// is the operator's view of the same rules.
#pragma once

#include <cstdint>
#include <string>

#include "daemon/config.h"
#include "daemon/schedule.h"
#include "daemon/sqlite_db.h"
#include "daemon/status.h"
#include "jobs/job_context.h"

namespace mlcron {

struct FeaturesStats {
  int statements = 0;        // statements run (empty ones between `;;` not counted)
  std::int64_t changes = 0;  // rows inserted, updated or deleted, plus rows of CREATE TABLE AS
  std::string since, now;    // the bound window, IsoUtc text
};

// Runs job.builtin.sql (inline) or job.builtin.sql_file in one BEGIN IMMEDIATE transaction
// on `data`: reads the job's watermark from _mlcron_watermarks (:since; the epoch on the first
// run), binds :now to `scheduled`, runs every statement under the write guard, records the
// derived tables it owns in _mlcron_derived and moves the watermark forward to `scheduled`
// (never back), all or nothing. Errors name the job, the statement (number, start line,
// text) and the file or "inline sql of job X".
Result<FeaturesStats> RunFeatures(SqliteDb& data, const JobConfig& job, Instant scheduled,
                                  const std::string& run_id);

// `mlcron job features`: opens OpenDataDb(*ctx.config), runs RunFeatures for ctx.job at
// ctx.scheduled and prints a summary line (or the error) to *ctx.out. Returns 0 or 1.
int RunFeaturesJob(const JobContext& ctx);

}  // namespace mlcron
