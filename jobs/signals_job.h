// The `signals` job kind (DESIGN.md §6): scores the `input` rows with each segment's
// production model and appends key, segment, model version, probabilities or prediction and
// the run time to `output`. Everything is scored before anything is written, so a contract
// mismatch or a corrupt model file fails the job with nothing appended. Before appending it
// scores the earlier signals whose labels have arrived (jobs/live_scores.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>

#include "daemon/config.h"
#include "daemon/sqlite_db.h"
#include "jobs/job_context.h"
#include "jobs/live_scores.h"
#include "jobs/registry.h"

namespace mlcron {

struct SignalsRequest {
  std::string input;   // a table name or a SELECT
  std::string output;  // the table appended to
  std::chrono::system_clock::time_point now;
  std::string scheduled;  // the occurrence, as IsoUtc
  std::string run_id;
};

struct SignalsStats {
  std::int64_t scored = 0;
  std::int64_t skipped = 0;                        // rows of segments with no production model
  std::map<std::string, std::int64_t> by_version;  // "E0 v12" -> rows
  std::map<std::string, std::int64_t> no_model;    // segment -> rows skipped
  // Earlier signals scored against their arrived labels (ScoreArrivedLabels, run before the
  // new rows are appended, so a signal is never scored in the run that made it); `awaiting`
  // is counted after the append and so includes this run's keys.
  LiveScoringStats live;
};

// Replay calls this too, so it gets live scoring as the job does.
Result<SignalsStats> ScoreSignals(const ModelConfig& model, SqliteDb& data, Registry& registry,
                                  const SignalsRequest& request);

int RunSignalsJob(const JobContext& ctx);

}  // namespace mlcron
