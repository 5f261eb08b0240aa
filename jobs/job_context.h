// What every built-in job run knows about itself: the frozen config, its job, the occurrence
// it runs for and where its output goes. Built from `mlcron job` arguments and the
// MLCRON_* environment the daemon sets, or by hand in tests and replay.
#pragma once

#include <chrono>
#include <iosfwd>
#include <memory>
#include <string>

#include "daemon/config.h"
#include "daemon/schedule.h"
#include "daemon/sqlite_db.h"
#include "daemon/status.h"

namespace mlcron {

struct BuiltinJobArgs;

struct JobContext {
  std::shared_ptr<const Config> config;
  const JobConfig* job = nullptr;  // null for CLI commands that are not a job (models plan)
  Instant scheduled{};             // the occurrence (MLCRON_SCHEDULED; else now)
  std::chrono::system_clock::time_point now{};  // wall clock at start (replay: simulated)
  std::string run_id;                           // MLCRON_RUN_ID; "" when run by hand
  std::string forced_by;        // "--full" or "MLCRON_FORCE_FULL=1" when a full retrain is forced
  std::string segment;          // MLCRON_SEGMENT: retrain only this segment ("" = every segment)
  std::ostream* out = nullptr;  // what the run log shows; never null
};

// Loads the snapshot (relative paths resolve against `origin`), finds the job and reads the
// MLCRON_* environment. Errors name the file or variable.
Result<JobContext> MakeJobContext(const BuiltinJobArgs& args, std::ostream* out);

// "2024-03-31T01:00:00Z": the UTC form mlcron writes into data tables (`_ingested_at`,
// watermarks), so that text comparison is time order.
std::string IsoUtc(std::chrono::system_clock::time_point t);

// Opens the operator's data database (Config::data_path) in WAL mode with a busy timeout,
// creating it and its folder if absent.
Result<std::unique_ptr<SqliteDb>> OpenDataDb(const Config& config);

}  // namespace mlcron
