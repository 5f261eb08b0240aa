// Evaluation metrics (DESIGN.md §7), equal to scikit-learn 1.2's definitions where it has
// them; every formula is stated in docs/metrics.md. Pure functions over labels and the
// model's outputs; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/status.h"

namespace mlcron {

// A model's outputs for n rows: `groups` values per row, row-major. binary:logistic: 1 group,
// P(label = 1). multi:softprob: k groups, the class probabilities. reg:squarederror and
// count:poisson: 1 group, the predicted value (the mean for poisson).
struct Predictions {
  std::span<const float> values;
  int groups = 1;
};

// Every metric that applies to `objective`, by name (the names of KnownMetrics():
// classifiers get accuracy, log_loss, brier, ece, roc_auc; regression and count get rmse,
// mae, and poisson_deviance for count:poisson). Errors: no rows, a size mismatch, a label
// outside the objective's range, a non-positive prediction for poisson_deviance. roc_auc is
// absent (not an error) when the labels hold a single class, where it is undefined.
Result<std::map<std::string, double>> ComputeMetrics(std::string_view objective,
                                                     std::span<const float> labels,
                                                     const Predictions& predictions);

// The prior-only baseline's outputs for n rows: the class frequencies of `train_labels` for
// classifiers (P(1) for binary), their mean for regression and count.
std::vector<float> BaselinePredictions(std::string_view objective, int groups,
                                       std::span<const float> train_labels, size_t n);

// The single metrics, for tests and for callers that need one.
double Accuracy(std::span<const float> labels, const Predictions& p);
double LogLoss(std::span<const float> labels, const Predictions& p);
double BrierScore(std::span<const float> labels, const Predictions& p);
double ExpectedCalibrationError(std::span<const float> labels, const Predictions& p);
std::optional<double> RocAuc(std::span<const float> labels, const Predictions& p);
double Rmse(std::span<const float> labels, std::span<const float> predicted);
double Mae(std::span<const float> labels, std::span<const float> predicted);
double MeanPoissonDeviance(std::span<const float> labels, std::span<const float> predicted);

}  // namespace mlcron
