// The promotion gate: the relative rule in both metric directions, zero references, the
// baseline for first versions and changed contracts, manual promotion; exact reasons.
#include "jobs/promotion_gate.h"

#include <gtest/gtest.h>

namespace mlcron {
namespace {

ModelConfig Model(const std::string& metric, double r, bool manual = false) {
  ModelConfig m;
  m.name = "result";
  m.objective = metric == "rmse" ? "reg:squarederror" : "multi:softprob";
  m.metric = metric;
  m.promote.min_improvement = r;
  m.promote.manual = manual;
  return m;
}

TEST(PromotionGate, LowerIsBetterNeedsTheRelativeImprovement) {
  GateResult worse = Gate(Model("log_loss", 0.02), {0.9712, 0.9688, "", 1.0986});
  EXPECT_FALSE(worse.promote);
  EXPECT_EQ(worse.status, "rejected");
  EXPECT_EQ(worse.reason, "log_loss 0.9712 vs production 0.9688: -0.2% < 2% required → rejected");
  // 2% better than 1.0 is 0.98 exactly: the boundary promotes.
  GateResult edge = Gate(Model("log_loss", 0.02), {0.98, 1.0, "", 1.1});
  EXPECT_TRUE(edge.promote);
  EXPECT_EQ(edge.reason, "log_loss 0.9800 vs production 1.0000: +2.0% ≥ 2% required → promoted");
  GateResult short_of = Gate(Model("log_loss", 0.02), {0.9801, 1.0, "", 1.1});
  EXPECT_FALSE(short_of.promote);
}

TEST(PromotionGate, HigherIsBetterForAccuracyAndAuc) {
  EXPECT_TRUE(Gate(Model("accuracy", 0.05), {0.631, 0.60, "", 0.45}).promote);  // +5.2%
  EXPECT_FALSE(Gate(Model("accuracy", 0.05), {0.629, 0.60, "", 0.45}).promote);
  EXPECT_EQ(Gate(Model("roc_auc", 0.0), {0.70, 0.70, "", 0.5}).reason,
            "roc_auc 0.7000 vs production 0.7000: +0.0% ≥ 0% required → promoted");
}

TEST(PromotionGate, ZeroProductionMustBeBeatenStrictly) {
  EXPECT_FALSE(Gate(Model("rmse", 0.0), {0.0, 0.0, "", 1.0}).promote);
  EXPECT_FALSE(Gate(Model("accuracy", 0.0), {0.0, 0.0, "", 0.3}).promote);
  EXPECT_TRUE(Gate(Model("accuracy", 0.5), {0.1, 0.0, "", 0.3}).promote);
  EXPECT_EQ(Gate(Model("accuracy", 0.5), {0.1, 0.0, "", 0.3}).reason,
            "accuracy 0.1000 vs production 0.0000: +∞% ≥ 50% required → promoted");
}

TEST(PromotionGate, FirstVersionMustBeatThePriorOnlyBaseline) {
  GateResult good = Gate(Model("log_loss", 0.02), {0.9, std::nullopt, "first version", 1.0});
  EXPECT_TRUE(good.promote);
  EXPECT_EQ(good.reason,
            "first version: log_loss 0.9000 vs prior-only baseline 1.0000: +10.0% (beats it) → "
            "promoted");
  GateResult bad =
      Gate(Model("log_loss", 0.02), {1.0, std::nullopt, "the feature contract changed", 1.0});
  EXPECT_FALSE(bad.promote);
  EXPECT_EQ(bad.reason,
            "the feature contract changed: log_loss 1.0000 vs prior-only baseline 1.0000: "
            "+0.0% (does not beat it) → rejected");
}

TEST(PromotionGate, ManualNeverPromotesButSaysHowItCompared) {
  GateResult r = Gate(Model("log_loss", 0.02, true), {0.5, 0.9, "", 1.0});
  EXPECT_FALSE(r.promote);
  EXPECT_EQ(r.status, "candidate");
  EXPECT_EQ(r.reason,
            "log_loss 0.5000 vs production 0.9000: +44.4% ≥ 2% required; promote: manual → "
            "candidate");
}

}  // namespace
}  // namespace mlcron
