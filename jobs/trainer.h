// Trains one candidate (DESIGN.md §7 "Training"): a full model from scratch with an explicit
// base_score, or an incremental one that loads its parent, re-applies the training params
// (never base_score) and adds trees on the rows after the parent's watermark. Works on the
// rows of one segment already split; knows nothing of the registry.
#pragma once

#include <optional>
#include <string>

#include "daemon/model_config.h"
#include "daemon/status.h"
#include "jobs/dataset.h"
#include "jobs/holdout.h"
#include "jobs/xgb_booster.h"

namespace mlcron {

struct TrainRequest {
  bool incremental = false;
  std::string parent_ubj;  // incremental: the verified parent file's bytes
  int parent_num_class = 0;
};

struct TrainedModel {
  std::string ubj;
  XgbParams params;  // as applied (objective and num_class included)
  int num_class = 0;
  int trees = 0;          // boosted rounds in the file
  double base_score = 0;  // full training only
  double seconds = 0;     // wall time of the XGBoost calls
};

// The XGBoost params a model trains with: objective, num_class for multi:softprob, then the
// config's params in file order.
XgbParams TrainingParams(const ModelConfig& model, int num_class);

// The class count for multi:softprob: the declared num_class, else the parent's, else the
// largest label + 1 among `labels` (at least 2). 0 for other objectives.
int ClassCount(const ModelConfig& model, const Dataset& rows, int parent_num_class);

Result<TrainedModel> TrainCandidate(const ModelConfig& model, const Dataset& rows,
                                    const SplitPlan& split, const TrainRequest& request);

}  // namespace mlcron
