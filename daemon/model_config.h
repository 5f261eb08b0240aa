// One entry of the config's `models:` section (DESIGN.md §3, §7): where a model's rows come
// from, how it is trained, and the policy that decides when it is retrained. Built and
// validated by config_models.cc; immutable afterwards like the rest of Config.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/source_pos.h"
#include "daemon/tuning_config.h"

namespace mlcron {

struct IncrementalPolicy {
  int rounds = 10;  // trees added per incremental version
  std::int64_t min_new_rows = 100;
  int max_chain = 12;  // incremental versions in a row before a forced full
};

struct HoldoutPolicy {
  double fraction = 0.2;  // the newest fraction of the labelled rows after production's watermark
  std::int64_t min_rows = 20;
};

struct PromotePolicy {
  bool manual = false;
  double min_improvement = 0.02;  // relative, 0.02 = 2%
};

struct DriftPolicy {
  std::optional<double> max_degradation;  // relative; absent = no drift rule
  std::int64_t window = 200;              // live rows compared
};

struct ModelConfig {
  std::string name;
  // Exactly one of table / query is set.
  std::string table;
  std::string query;
  std::string key;
  std::string time;
  std::string label;
  std::vector<std::string> features;  // ordered: the feature contract
  std::string segment_by;             // empty: one model for all rows (segment "")
  std::string objective;  // binary:logistic | multi:softprob | reg:squarederror | count:poisson
  // XGBoost params as written, in file order, with the defaults mlcron adds (tree_method: hist)
  // already applied. Values are strings because that is how XGBoosterSetParam takes them.
  std::vector<std::pair<std::string, std::string>> params;
  int rounds = 100;  // trees of a full training
  std::int64_t min_rows = 100;
  std::optional<std::chrono::seconds> window;  // full retrains see only this much history
  IncrementalPolicy incremental;
  std::chrono::seconds full_every{90 * 86400};
  std::chrono::seconds max_age{7 * 86400};
  HoldoutPolicy holdout;
  std::string metric;  // default by objective: log_loss, rmse or poisson_deviance
  PromotePolicy promote;
  DriftPolicy drift;
  int keep = 10;
  bool archive = false;  // retention moves files to state_dir/archive/ instead of deleting
  std::optional<TuningConfig> tuning;  // `tuning:`, for `tune` jobs and `models tune`
  SourcePos pos;

  bool IsClassifier() const {
    return objective == "binary:logistic" || objective == "multi:softprob";
  }
  // Declared num_class for multi:softprob (0 when not given: inferred from the labels).
  int DeclaredClasses() const;
};

// The metric names mlcron knows, and whether lower is better.
const std::vector<std::string>& KnownMetrics();
bool LowerIsBetter(std::string_view metric);
bool IsClassificationMetric(std::string_view metric);
// log_loss for classifiers, poisson_deviance for count:poisson, rmse otherwise.
std::string DefaultMetric(std::string_view objective);

}  // namespace mlcron
