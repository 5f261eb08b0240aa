// The evaluation metrics against hand-computed values, each checked against scikit-learn
// 1.2.1 too (tests/jobs/metrics_reference.py prints them), and every input error.
#include "jobs/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace mlcron {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

constexpr double kEps = 2.220446049250313e-16;

Predictions Binary(const std::vector<float>& p) { return {p, 1}; }

// Six rows of three classes, labels 0 2 1 2 1 0.
const std::vector<float> kMultiLabels = {0, 2, 1, 2, 1, 0};
const std::vector<float> kMultiProbs = {0.7f, 0.2f, 0.1f, 0.2f, 0.3f, 0.5f, 0.1f, 0.8f, 0.1f,
                                        0.3f, 0.3f, 0.4f, 0.5f, 0.1f, 0.4f, 0.2f, 0.6f, 0.2f};

TEST(Metrics, RocAucCountsTiesAsHalf) {
  // Positives 0.5 and 0.9 against negatives 0.5 and 0.2: 1 + ½ + 1 + 1 of 4 pairs.
  const std::vector<float> labels = {0, 1, 0, 1};
  const std::vector<float> p = {0.5f, 0.5f, 0.2f, 0.9f};
  EXPECT_EQ(RocAuc(labels, Binary(p)), 0.875);
}

TEST(Metrics, RocAucIsUndefinedForOneClass) {
  const std::vector<float> labels = {1, 1, 1};
  const std::vector<float> p = {0.2f, 0.5f, 0.9f};
  EXPECT_EQ(RocAuc(labels, Binary(p)), std::nullopt);
  auto m = ComputeMetrics("binary:logistic", labels, Binary(p));
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_EQ(m->count("roc_auc"), 0u);
  EXPECT_EQ(m->size(), 4u);
}

TEST(Metrics, MulticlassRocAucIsTheMacroAverageOfOneVsRest) {
  // Class 0: 5.5/8, class 1: 4/8, class 2: 7.5/8 (0.4 against 0.4 is a tie).
  const std::optional<double> auc = RocAuc(kMultiLabels, {kMultiProbs, 3});
  ASSERT_TRUE(auc);
  EXPECT_DOUBLE_EQ(*auc, (0.6875 + 0.5 + 0.9375) / 3);
}

TEST(Metrics, MulticlassRocAucAveragesOnlyTheClassesThatOccur) {
  // Class 2 never occurs: classes 0 and 1 are 1.0 and 1.0 (perfectly separated).
  const std::vector<float> labels = {0, 1, 0, 1};
  const std::vector<float> p = {0.8f, 0.1f, 0.1f, 0.2f, 0.7f, 0.1f,
                                0.6f, 0.3f, 0.1f, 0.3f, 0.6f, 0.1f};
  EXPECT_EQ(RocAuc(labels, {p, 3}), 1.0);
  const std::vector<float> one_class = {1, 1, 1, 1};
  EXPECT_EQ(RocAuc(one_class, {p, 3}), std::nullopt);
}

TEST(Metrics, LogLossClipsAtFloat64Epsilon) {
  // p = 1 for label 1 costs -log(1 - eps); p = 1 for label 0 and p = 0 for label 1 each
  // cost -log(eps) = 36.04365338911715 instead of infinity.
  const std::vector<float> labels = {1, 0, 1};
  const std::vector<float> p = {1.0f, 1.0f, 0.0f};
  const double expected = (-std::log(1 - kEps) - 2 * std::log(kEps)) / 3;
  EXPECT_DOUBLE_EQ(LogLoss(labels, Binary(p)), expected);
  EXPECT_NEAR(LogLoss(labels, Binary(p)), 24.029102259411435, 1e-12);
}

TEST(Metrics, LogLossRenormalisesMulticlassRowsAfterClipping) {
  // Row 0 is (1, 0, 0): clipped to (1 - eps, eps, eps) then divided by 1 + eps.
  const std::vector<float> labels = {1};
  const std::vector<float> p = {1.0f, 0.0f, 0.0f};
  EXPECT_DOUBLE_EQ(LogLoss(labels, {p, 3}), -std::log(kEps / (1 + kEps)));
  EXPECT_NEAR(LogLoss(kMultiLabels, {kMultiProbs, 3}), 1.0168799099912347, 1e-7);
}

TEST(Metrics, BinaryMetricsEqualScikitLearns) {
  const std::vector<float> labels = {0, 1, 1, 0, 1};
  const std::vector<float> p = {0.1f, 0.6f, 0.5f, 0.5f, 0.9f};
  auto m = ComputeMetrics("binary:logistic", labels, Binary(p));
  ASSERT_TRUE(m.ok()) << m.message();
  // 0.5 is class 0: rows 0, 1, 3, 4 are right.
  EXPECT_DOUBLE_EQ(m->at("accuracy"), 0.8);
  EXPECT_NEAR(m->at("log_loss"), 0.42156820092234859, 1e-7);
  EXPECT_NEAR(m->at("brier"), (0.01 + 0.16 + 0.25 + 0.25 + 0.01) / 5, 1e-7);
  EXPECT_NEAR(m->at("ece"), 0.12000000029802321, 1e-7);
  // Positives 0.6 0.5 0.9 vs negatives 0.1 0.5: 2 + 1.5 + 2 of 6 pairs.
  EXPECT_DOUBLE_EQ(m->at("roc_auc"), 5.5 / 6);
}

TEST(Metrics, MulticlassBrierSumsOverClasses) {
  // (0.09 + 0.04 + 0.01 + 0.04 + 0.09 + 0.25) / 2: range [0, 2], not sklearn's binary one.
  const std::vector<float> labels = {0, 2};
  const std::vector<float> p = {0.7f, 0.2f, 0.1f, 0.2f, 0.3f, 0.5f};
  EXPECT_NEAR(BrierScore(labels, {p, 3}), 0.26, 1e-7);
  const std::vector<float> worst = {0, 1, 0, 1, 0, 0};
  EXPECT_DOUBLE_EQ(BrierScore(labels, {worst, 3}), 2.0);
}

TEST(Metrics, AccuracyTakesTheFirstMaximum) {
  const std::vector<float> labels = {0, 1, 2};
  const std::vector<float> p = {0.4f, 0.4f, 0.2f, 0.4f, 0.4f, 0.2f, 0.3f, 0.3f, 0.4f};
  EXPECT_DOUBLE_EQ(Accuracy(labels, {p, 3}), 2.0 / 3);
  EXPECT_DOUBLE_EQ(Accuracy(kMultiLabels, {kMultiProbs, 3}), 4.0 / 6);
  const std::vector<float> binary_labels = {0, 1, 1};
  const std::vector<float> bp = {0.5f, 0.51f, 0.4f};
  EXPECT_DOUBLE_EQ(Accuracy(binary_labels, Binary(bp)), 2.0 / 3);
}

TEST(Metrics, BinaryEceBinsPositiveProbabilityRightClosed) {
  // Bin 0 holds 0.05 twice (labels 0, 1): |0.5 - 0.05| · 2/6. Bin 7 (7/15, 8/15] holds 0.5
  // twice (labels 1, 1): 0.5 · 2/6. Bin 14 holds 0.95 and 1.0 (1 is in the last bin):
  // |1 - 0.975| · 2/6. Other bins are empty and dropped.
  const std::vector<float> labels = {0, 1, 1, 1, 1, 1};
  const std::vector<float> p = {0.05f, 0.05f, 0.5f, 0.5f, 0.95f, 1.0f};
  EXPECT_NEAR(ExpectedCalibrationError(labels, Binary(p)), 0.15 + 1.0 / 6 + 0.025 / 3, 1e-7);
  EXPECT_NEAR(ExpectedCalibrationError(labels, Binary(p)), 0.32500000173846882, 1e-12);
  // 0 belongs to bin 0 with 0.05: conf 0.025, outcome 0.
  const std::vector<float> zero_labels = {0, 0};
  const std::vector<float> zeros = {0.0f, 0.05f};
  EXPECT_NEAR(ExpectedCalibrationError(zero_labels, Binary(zeros)), 0.025, 1e-9);
}

TEST(Metrics, MulticlassEceIsTopLabel) {
  // Confidences 0.7 0.5 0.8 0.4 0.5 0.6; right, right, right, right, wrong (predicts 0 for
  // label 1), wrong (predicts 1 for label 0). As float32 widened to float64, 0.4, 0.6 and
  // 0.8 lie just above the edges 6/15, 9/15 and 12/15, so each is alone in its bin:
  // 0.4 right → 0.6 · 1/6; 0.5 and 0.5, one right → 0; 0.6 wrong → 0.6 · 1/6;
  // 0.7 right → 0.3 · 1/6; 0.8 right → 0.2 · 1/6.
  EXPECT_NEAR(ExpectedCalibrationError(kMultiLabels, {kMultiProbs, 3}), 1.7 / 6, 1e-6);
  EXPECT_NEAR(ExpectedCalibrationError(kMultiLabels, {kMultiProbs, 3}), 0.28333333631356555, 1e-12);
}

TEST(Metrics, RegressionAndPoisson) {
  const std::vector<float> y = {1, 2, 4};
  const std::vector<float> pred = {1.5f, 2, 3};
  auto m = ComputeMetrics("reg:squarederror", y, {pred, 1});
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_THAT(*m, ElementsAre(Pair("mae", 0.5), Pair("rmse", std::sqrt(1.25 / 3))));
  // 2·(0 − (0 − 0.5)) = 1; 0; 2·(4·log 2 − 2) = 8 log 2 − 4.
  const std::vector<float> counts = {0, 1, 4};
  const std::vector<float> mu = {0.5f, 1, 2};
  EXPECT_DOUBLE_EQ(MeanPoissonDeviance(counts, mu), (1 + 8 * std::log(2.0) - 4) / 3);
  EXPECT_NEAR(MeanPoissonDeviance(counts, mu), 0.84839248149318747, 1e-12);
  auto c = ComputeMetrics("count:poisson", counts, {mu, 1});
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->size(), 3u);
  EXPECT_DOUBLE_EQ(c->at("poisson_deviance"), MeanPoissonDeviance(counts, mu));
}

TEST(Metrics, ClassifierMetricNames) {
  auto m = ComputeMetrics("multi:softprob", kMultiLabels, {kMultiProbs, 3});
  ASSERT_TRUE(m.ok()) << m.message();
  std::vector<std::string> names;
  for (const auto& [name, value] : *m) names.push_back(name);
  EXPECT_THAT(names, ElementsAre("accuracy", "brier", "ece", "log_loss", "roc_auc"));
}

std::string Error(std::string_view objective, const std::vector<float>& labels,
                  const std::vector<float>& values, int groups = 1) {
  auto m = ComputeMetrics(objective, labels, {values, groups});
  return m.ok() ? "ok" : m.message();
}

TEST(Metrics, InputErrors) {
  EXPECT_EQ(Error("binary:logistic", {}, {}), "no rows to evaluate");
  EXPECT_EQ(Error("binary:logistic", {0, 1}, {0.5f}),
            "2 labels but 1 predictions (1 per row expected)");
  EXPECT_EQ(Error("multi:softprob", {0, 1}, {0.5f, 0.5f}, 1),
            "multi:softprob predicts 2 or more values per row, not 1");
  EXPECT_EQ(Error("binary:logistic", {0, 1}, {0.5f, 0.5f, 0.5f, 0.5f}, 2),
            "binary:logistic predicts 1 value per row, not 2");
  EXPECT_EQ(Error("binary:logistic", {0, 2}, {0.5f, 0.5f}),
            "label 2 of row 2 of 2 is not 0 or 1 (binary:logistic)");
  EXPECT_EQ(Error("multi:softprob", {3}, {0.2f, 0.3f, 0.5f}, 3),
            "label 3 of row 1 of 1 is outside 0..2 (multi:softprob with 3 classes)");
  EXPECT_EQ(Error("multi:softprob", {0.5f}, {0.2f, 0.3f, 0.5f}, 3),
            "label 0.5 of row 1 of 1 is outside 0..2 (multi:softprob with 3 classes)");
  EXPECT_EQ(Error("reg:squarederror", {1, NAN}, {1, 1}), "label nan of row 2 of 2 is not finite");
  EXPECT_EQ(Error("count:poisson", {-1}, {1}),
            "label -1 of row 1 of 1 is negative (count:poisson)");
  EXPECT_EQ(Error("count:poisson", {1, 0}, {1, 0}),
            "prediction 0 of row 2 of 2 is not positive: poisson_deviance needs predictions > 0");
  EXPECT_EQ(Error("binary:logistic", {1}, {1.5f}),
            "prediction 1.5 of row 1 of 1 is not a probability");
  EXPECT_EQ(Error("reg:squarederror", {1}, {INFINITY}),
            "prediction inf of row 1 of 1 is not finite");
  EXPECT_EQ(Error("rank:pairwise", {1}, {1}), "no metrics for objective \"rank:pairwise\"");
}

TEST(Metrics, BaselinePredictionsArePriors) {
  const std::vector<float> binary = {0, 1, 1, 1};
  EXPECT_THAT(BaselinePredictions("binary:logistic", 1, binary, 2), ElementsAre(0.75f, 0.75f));
  EXPECT_THAT(BaselinePredictions("binary:logistic", 1, {}, 1), ElementsAre(0.5f));
  const std::vector<float> multi = {0, 0, 1, 2};
  EXPECT_THAT(BaselinePredictions("multi:softprob", 3, multi, 2),
              ElementsAre(0.5f, 0.25f, 0.25f, 0.5f, 0.25f, 0.25f));
  EXPECT_THAT(BaselinePredictions("multi:softprob", 4, {}, 1),
              ElementsAre(0.25f, 0.25f, 0.25f, 0.25f));
  const std::vector<float> values = {1, 2, 6};
  EXPECT_THAT(BaselinePredictions("reg:squarederror", 1, values, 1), ElementsAre(3.0f));
  EXPECT_THAT(BaselinePredictions("count:poisson", 1, values, 1), ElementsAre(3.0f));
  const std::vector<float> zeros = {0, 0};
  EXPECT_THAT(BaselinePredictions("count:poisson", 1, zeros, 1), ElementsAre(1e-6f));
  // The baseline of a binary holdout scores like a constant: AUC ½ when both classes occur.
  const std::vector<float> holdout = {0, 1, 1};
  const std::vector<float> base = BaselinePredictions("binary:logistic", 1, binary, 3);
  EXPECT_EQ(RocAuc(holdout, Binary(base)), 0.5);
}

}  // namespace
}  // namespace mlcron
