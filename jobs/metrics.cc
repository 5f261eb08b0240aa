#include "jobs/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

namespace mlcron {
namespace {

// scikit-learn 1.2's log_loss default eps="auto" is the machine epsilon of the predictions'
// dtype; mlcron computes in float64, so it is float64's.
constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr int kEceBins = 15;

bool IsBinary(const Predictions& p) { return p.groups == 1; }

// The predicted class: p > 0.5 for binary (exactly 0.5 is class 0), else the first maximum.
int PredictedClass(const Predictions& p, size_t row) {
  if (IsBinary(p)) return p.values[row] > 0.5f ? 1 : 0;
  const float* first = p.values.data() + row * static_cast<size_t>(p.groups);
  return static_cast<int>(std::max_element(first, first + p.groups) - first);
}

// P(class c) of `row`; binary models give only P(1).
double ClassProbability(const Predictions& p, size_t row, int c) {
  if (IsBinary(p)) {
    const double p1 = p.values[row];
    return c == 1 ? p1 : 1.0 - p1;
  }
  return p.values[row * static_cast<size_t>(p.groups) + static_cast<size_t>(c)];
}

int Classes(const Predictions& p) { return IsBinary(p) ? 2 : p.groups; }

// The bin of a confidence among 15 equal-width right-closed bins, exactly as scikit-learn
// 1.2's calibration_curve computes it: np.searchsorted(np.linspace(0, 1, 16)[1:-1], c), the
// number of interior edges strictly below c. numpy's linspace edges are i * (1/15).
int EceBin(double confidence) {
  static const auto kEdges = [] {
    std::array<double, kEceBins - 1> edges{};
    const double step = 1.0 / kEceBins;
    for (int i = 1; i < kEceBins; ++i) edges[static_cast<size_t>(i - 1)] = i * step;
    return edges;
  }();
  return static_cast<int>(std::lower_bound(kEdges.begin(), kEdges.end(), confidence) -
                          kEdges.begin());
}

// Area under the ROC curve of `scores` for the rows where `positive` holds against the
// rest: the Mann–Whitney U statistic over n1·n0, ties counted ½ through mid-ranks. Equal to
// scikit-learn's trapezoidal area. nullopt without both positives and negatives.
std::optional<double> BinaryAuc(const std::vector<double>& scores,
                                const std::vector<bool>& positive) {
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double n1 = 0, rank_sum = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    // Ranks i+1 .. j share their mean.
    const double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (size_t k = i; k < j; ++k) {
      if (positive[order[k]]) {
        n1 += 1;
        rank_sum += mid_rank;
      }
    }
    i = j;
  }
  const double n0 = static_cast<double>(n) - n1;
  if (n1 == 0 || n0 == 0) return std::nullopt;
  return (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0);
}

std::string RowOf(size_t row, size_t n) { return fmt::format("row {} of {}", row + 1, n); }

Status CheckLabel(std::string_view objective, int classes, float label, size_t row, size_t n) {
  const bool finite = std::isfinite(label);
  if (objective == "binary:logistic" && !(label == 0 || label == 1)) {
    return Status::Error(
        fmt::format("label {} of {} is not 0 or 1 (binary:logistic)", label, RowOf(row, n)));
  }
  if (objective == "multi:softprob" &&
      !(finite && label == std::floor(label) && label >= 0 && label < classes)) {
    return Status::Error(
        fmt::format("label {} of {} is outside 0..{} (multi:softprob with {} classes)", label,
                    RowOf(row, n), classes - 1, classes));
  }
  if (!finite)
    return Status::Error(fmt::format("label {} of {} is not finite", label, RowOf(row, n)));
  if (objective == "count:poisson" && label < 0) {
    return Status::Error(
        fmt::format("label {} of {} is negative (count:poisson)", label, RowOf(row, n)));
  }
  return Status::Ok();
}

Status CheckInput(std::string_view objective, std::span<const float> labels, const Predictions& p) {
  const bool classifier = objective == "binary:logistic" || objective == "multi:softprob";
  if (!classifier && objective != "reg:squarederror" && objective != "count:poisson") {
    return Status::Error(fmt::format("no metrics for objective \"{}\"", objective));
  }
  const size_t n = labels.size();
  if (n == 0) return Status::Error("no rows to evaluate");
  if (objective == "multi:softprob" ? p.groups < 2 : p.groups != 1) {
    return Status::Error(fmt::format("{} predicts {} per row, not {}", objective,
                                     objective == "multi:softprob" ? "2 or more values" : "1 value",
                                     p.groups));
  }
  const size_t groups = static_cast<size_t>(p.groups);
  if (p.values.size() != n * groups) {
    return Status::Error(fmt::format("{} labels but {} predictions ({} per row expected)", n,
                                     p.values.size(), groups));
  }
  for (size_t row = 0; row < n; ++row) {
    if (Status s = CheckLabel(objective, p.groups, labels[row], row, n); !s.ok()) return s;
    for (size_t g = 0; g < groups; ++g) {
      const float v = p.values[row * groups + g];
      if (!std::isfinite(v)) {
        return Status::Error(fmt::format("prediction {} of {} is not finite", v, RowOf(row, n)));
      }
      if (classifier && (v < 0 || v > 1)) {
        return Status::Error(
            fmt::format("prediction {} of {} is not a probability", v, RowOf(row, n)));
      }
      if (objective == "count:poisson" && v <= 0) {
        return Status::Error(fmt::format(
            "prediction {} of {} is not positive: poisson_deviance needs predictions > 0", v,
            RowOf(row, n)));
      }
    }
  }
  return Status::Ok();
}

double Mean(std::span<const float> values) {
  double sum = 0;
  for (float v : values) sum += v;
  return values.empty() ? 0 : sum / static_cast<double>(values.size());
}

}  // namespace

double Accuracy(std::span<const float> labels, const Predictions& p) {
  size_t correct = 0;
  for (size_t row = 0; row < labels.size(); ++row) {
    correct += PredictedClass(p, row) == static_cast<int>(labels[row]);
  }
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

double LogLoss(std::span<const float> labels, const Predictions& p) {
  const int k = Classes(p);
  double total = 0;
  for (size_t row = 0; row < labels.size(); ++row) {
    // Clip every class's probability (binary: P(1), then [1 − p, p]), renormalise the row,
    // then take the true class's; the order scikit-learn 1.2 uses.
    double sum = 0;
    double truth = 0;
    for (int c = 0; c < k; ++c) {
      double q = IsBinary(p) ? std::clamp(static_cast<double>(p.values[row]), kEps, 1 - kEps)
                             : std::clamp(ClassProbability(p, row, c), kEps, 1 - kEps);
      if (IsBinary(p) && c == 0) q = 1 - q;
      sum += q;
      if (c == static_cast<int>(labels[row])) truth = q;
    }
    total -= std::log(truth / sum);
  }
  return total / static_cast<double>(labels.size());
}

double BrierScore(std::span<const float> labels, const Predictions& p) {
  double total = 0;
  for (size_t row = 0; row < labels.size(); ++row) {
    if (IsBinary(p)) {
      const double d = static_cast<double>(p.values[row]) - labels[row];
      total += d * d;
      continue;
    }
    for (int c = 0; c < p.groups; ++c) {
      const double d = ClassProbability(p, row, c) - (c == static_cast<int>(labels[row]) ? 1 : 0);
      total += d * d;
    }
  }
  return total / static_cast<double>(labels.size());
}

double ExpectedCalibrationError(std::span<const float> labels, const Predictions& p) {
  std::array<double, kEceBins> confidence{}, outcome{}, count{};
  for (size_t row = 0; row < labels.size(); ++row) {
    double c = 0, o = 0;
    if (IsBinary(p)) {
      // Positive-class calibration, as calibration_curve: P(1) against the label.
      c = p.values[row];
      o = labels[row];
    } else {
      // Top-label calibration (Guo et al. 2017): the highest probability against whether
      // its class is the label.
      const int predicted = PredictedClass(p, row);
      c = ClassProbability(p, row, predicted);
      o = predicted == static_cast<int>(labels[row]) ? 1 : 0;
    }
    const size_t bin = static_cast<size_t>(EceBin(c));
    confidence[bin] += c;
    outcome[bin] += o;
    count[bin] += 1;
  }
  double ece = 0;
  const double n = static_cast<double>(labels.size());
  for (size_t b = 0; b < kEceBins; ++b) {
    if (count[b] == 0) continue;  // empty bins are dropped
    ece += std::fabs(outcome[b] / count[b] - confidence[b] / count[b]) * (count[b] / n);
  }
  return ece;
}

std::optional<double> RocAuc(std::span<const float> labels, const Predictions& p) {
  const int k = Classes(p);
  std::vector<double> scores(labels.size());
  std::vector<bool> positive(labels.size());
  // Binary: P(1) against label 1. Multiclass: one-vs-rest per class, macro-averaged over the
  // classes that occur both as label and not (scikit-learn raises instead; docs/metrics.md).
  const int first = IsBinary(p) ? 1 : 0;
  double sum = 0;
  int defined = 0;
  for (int c = first; c < k; ++c) {
    for (size_t row = 0; row < labels.size(); ++row) {
      scores[row] = ClassProbability(p, row, c);
      positive[row] = static_cast<int>(labels[row]) == c;
    }
    if (std::optional<double> auc = BinaryAuc(scores, positive)) {
      sum += *auc;
      ++defined;
    }
  }
  if (defined == 0) return std::nullopt;
  return sum / defined;
}

double Rmse(std::span<const float> labels, std::span<const float> predicted) {
  double total = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double d = static_cast<double>(predicted[i]) - labels[i];
    total += d * d;
  }
  return std::sqrt(total / static_cast<double>(labels.size()));
}

double Mae(std::span<const float> labels, std::span<const float> predicted) {
  double total = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    total += std::fabs(static_cast<double>(predicted[i]) - labels[i]);
  }
  return total / static_cast<double>(labels.size());
}

double MeanPoissonDeviance(std::span<const float> labels, std::span<const float> predicted) {
  double total = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double y = labels[i], mu = predicted[i];
    // y·log(y/μ) is 0 at y = 0 (its limit; scipy's xlogy).
    const double ylog = y == 0 ? 0 : y * std::log(y / mu);
    total += 2 * (ylog - (y - mu));
  }
  return total / static_cast<double>(labels.size());
}

Result<std::map<std::string, double>> ComputeMetrics(std::string_view objective,
                                                     std::span<const float> labels,
                                                     const Predictions& predictions) {
  if (Status s = CheckInput(objective, labels, predictions); !s.ok()) return s;
  std::map<std::string, double> out;
  if (objective == "binary:logistic" || objective == "multi:softprob") {
    out["accuracy"] = Accuracy(labels, predictions);
    out["log_loss"] = LogLoss(labels, predictions);
    out["brier"] = BrierScore(labels, predictions);
    out["ece"] = ExpectedCalibrationError(labels, predictions);
    if (std::optional<double> auc = RocAuc(labels, predictions)) out["roc_auc"] = *auc;
    return out;
  }
  out["rmse"] = Rmse(labels, predictions.values);
  out["mae"] = Mae(labels, predictions.values);
  if (objective == "count:poisson") {
    out["poisson_deviance"] = MeanPoissonDeviance(labels, predictions.values);
  }
  return out;
}

std::vector<float> BaselinePredictions(std::string_view objective, int groups,
                                       std::span<const float> train_labels, size_t n) {
  if (objective == "multi:softprob") {
    const size_t k = static_cast<size_t>(std::max(groups, 1));
    std::vector<double> frequency(k, train_labels.empty() ? 1.0 / static_cast<double>(k) : 0.0);
    for (float y : train_labels) {
      if (y >= 0 && static_cast<size_t>(y) < k) frequency[static_cast<size_t>(y)] += 1;
    }
    if (!train_labels.empty()) {
      for (double& f : frequency) f /= static_cast<double>(train_labels.size());
    }
    std::vector<float> out;
    out.reserve(n * k);
    for (size_t row = 0; row < n; ++row) {
      for (double f : frequency) out.push_back(static_cast<float>(f));
    }
    return out;
  }
  double value = Mean(train_labels);  // P(1) for binary: the labels are 0/1
  if (train_labels.empty() && objective == "binary:logistic") value = 0.5;
  // A zero mean would make every positive count's deviance infinite; the same floor as
  // InitialBaseScore's for count:poisson.
  if (objective == "count:poisson") value = std::max(value, 1e-6);
  return std::vector<float>(n, static_cast<float>(value));
}

}  // namespace mlcron
