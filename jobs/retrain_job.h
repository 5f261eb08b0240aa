// The `retrain` job kind (DESIGN.md §7): for each segment of a model, decide from the
// registry and indexed counts, then skip, or train a full or incremental candidate on the
// segment's rows before its holdout, store the file durably and register it. Segments are
// independent: one failing segment never touches another's rows, files or versions.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/sqlite_db.h"
#include "jobs/job_context.h"
#include "jobs/model_store.h"
#include "jobs/registry.h"
#include "jobs/retrain_policy.h"

namespace mlcron {

struct RetrainRequest {
  std::chrono::system_clock::time_point now;
  std::string run_id;
  std::string actor = "auto";          // who promotes: the gate ("auto") unless a test says
  std::optional<std::string> forced;   // why every segment is retrained in full
  std::optional<std::string> segment;  // only this segment
  std::ostream* out = nullptr;         // one line per decision and per trained version
  ModelWriter writer = WriteAllToFd;   // tests substitute a failing disk
  ReplayPolicy policy = ReplayPolicy::kDefault;  // replay's what-if policies
};

struct SegmentResult {
  std::string segment;
  Decision decision;  // as finally taken (an infeasible split turns it into skip)
  std::optional<std::int64_t> version;
  std::string error;  // non-empty when this segment failed
};

struct RetrainResult {
  std::vector<SegmentResult> segments;
  bool failed() const;
};

// Errors that stop the whole model (bad source, registry unusable) are returned as a
// Status; a segment's own failure is reported in its SegmentResult and the others go on.
Result<RetrainResult> RetrainModel(const Config& config, const ModelConfig& model, SqliteDb& data,
                                   Registry& registry, const RetrainRequest& request);

// `mlcron job retrain`: exit 0 when every segment did what its decision said, 1 otherwise.
int RunRetrainJob(const JobContext& ctx);

}  // namespace mlcron
