// Gathers what the retrain decision needs for each segment of a model, from the registry
// and indexed row counts only (never a booster or the training rows), and decides. Shared
// by the retrain job and `mlcron models plan`, so the dry run shows exactly what would run.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "daemon/model_config.h"
#include "daemon/sqlite_db.h"
#include "jobs/fingerprint.h"
#include "jobs/registry.h"
#include "jobs/retrain_policy.h"
#include "jobs/sql_value.h"
#include "jobs/tuned_params.h"

namespace mlcron {

struct PlanRequest {
  std::chrono::system_clock::time_point now;
  std::optional<std::string> forced;   // why a full retrain is forced, if it is
  std::optional<std::string> segment;  // only this segment (as text)
  // Count every row (for `models plan`). The job counts only as far as its decision needs,
  // so that a skip costs the same on a large table as on a small one.
  bool exact_counts = false;
  ReplayPolicy policy = ReplayPolicy::kDefault;  // replay's what-if policies
};

struct SegmentPlan {
  SqlValue segment_value;  // as stored in the data (NULL without segment_by)
  std::string segment;     // as text: the registry's key ("" without segment_by)
  std::optional<ModelVersion> production;
  std::optional<ModelVersion> last_attempt;
  // The segment's tuned params laid over the config's, and the fingerprint of the result:
  // what a retrain of this segment trains with and registers.
  TunedOverlay tuned;
  Fingerprint fingerprint;
  PolicyInput input;
  Decision decision;
};

// Segments are those with labelled rows plus those that have a production version. Each
// segment's fingerprint is the model's with its tuned params (`xgb_version` is part of it).
// Errors name the model and the source.
Result<std::vector<SegmentPlan>> PlanModel(SqliteDb& data, Registry& registry,
                                           const ModelConfig& model, std::string_view xgb_version,
                                           const PlanRequest& request);

// The model a segment trains as: the config's with the segment's tuned params laid over.
ModelConfig SegmentModel(const ModelConfig& model, const SegmentPlan& plan);

// "result [E0]" or "result" for an unsegmented model.
std::string SegmentLabel(const std::string& model, const std::string& segment);

}  // namespace mlcron
