// Scores one set of parameters by time-series cross-validation (issue 6): for each fold,
// a fresh booster trained as a full retrain would be (model.rounds rounds, the config's
// params with the trial's on top, base_score from the fold's labels) scores the fold's test
// rows. Used by every trial of a tuning study.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "daemon/model_config.h"
#include "daemon/status.h"
#include "jobs/dataset.h"
#include "jobs/time_series_split.h"
#include "jobs/tuned_params.h"
#include "jobs/tuning_store.h"

namespace mlcron {

struct CvTimings {
  double train_seconds = 0;  // inside XGBoost: matrix, boosting, prediction
};

// `after_fold(k, score)` is called after each fold; returning false stops (a pruned trial).
// Returns the scores of the folds run. An XGBoost error (an unknown parameter, a bad value)
// is returned as an error naming the fold.
Result<std::vector<double>> CrossValidate(const ModelConfig& model, const Dataset& rows,
                                          const std::vector<Fold>& folds, const std::string& metric,
                                          const std::function<bool(int, double)>& after_fold,
                                          CvTimings* timings = nullptr);

}  // namespace mlcron
