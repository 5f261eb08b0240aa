// The live drift rule (DESIGN.md §7): it fires exactly when production's metric over its
// newest `window` live rows is worse than its holdout value by more than max_degradation,
// with the exact reason text, and PlanModel turns that into a full retrain.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jobs/fingerprint.h"
#include "jobs/live_scores.h"
#include "jobs/retrain_plan.h"
#include "jobs/xgb_booster.h"
#include "tests/jobs/live_scores_test_util.h"

namespace mlcron {
namespace {

using testing::At;
using testing::P;

using LiveDriftTest = testing::LiveScoresFixture;

TEST_F(LiveDriftTest, DriftFiresOnlyBeyondTheThresholdOverAFullWindow) {
  LoadDrift("{max_degradation: 0.1, window: 4}");
  const std::int64_t v = AddVersion("A", "log_loss", 0.5);
  const ModelConfig& model = *config_->FindModel("m");
  auto drift = [&]() {
    auto prod = registry_->Production("m", "A");
    Result<std::optional<std::string>> d = LiveDrift(*registry_, model, **prod);
    EXPECT_TRUE(d.ok()) << d.message();
    return d.ok() ? *d : std::optional<std::string>("error");
  };
  Live("1", v, "2024-03-01T09:55:00Z", 1, P(0.551));
  Live("2", v, "2024-03-02T09:55:00Z", 1, P(0.551));
  Live("3", v, "2024-03-03T09:55:00Z", 1, P(0.551));
  EXPECT_EQ(drift(), std::nullopt) << "3 rows < window 4";
  Live("4", v, "2024-03-04T09:55:00Z", 1, P(0.551));
  const std::string reason =
      "live drift: log_loss 0.551 over the last 4 rows vs holdout 0.500 (+10.2% > 10%)";
  EXPECT_EQ(drift(), reason);
  // An older row, far worse, is outside the newest 4 and changes nothing.
  Live("0", v, "2024-02-01T09:55:00Z", 1, P(5));
  EXPECT_EQ(drift(), reason);

  // Just inside the bound: 0.549 is +9.8%.
  ASSERT_TRUE(registry_->db().Exec("DELETE FROM live_scores").ok());
  for (int k = 1; k <= 4; ++k)
    Live(std::to_string(k), v, "2024-03-0" + std::to_string(k), 1, P(0.549));
  EXPECT_EQ(drift(), std::nullopt);

  // Another version's rows are not production's.
  const std::int64_t next = AddVersion("A", "log_loss", 0.5);
  EXPECT_EQ(drift(), std::nullopt);
  (void)next;

  // The rule is off without max_degradation.
  Load(ModelYaml());
  ASSERT_TRUE(registry_->db()
                  .Exec("UPDATE live_scores SET version = " + std::to_string(next) +
                        ", prediction = '[0.01]'")
                  .ok());
  auto prod = registry_->Production("m", "A");
  auto off = LiveDrift(*registry_, *config_->FindModel("m"), **prod);
  ASSERT_TRUE(off.ok()) << off.message();
  EXPECT_EQ(*off, std::nullopt);
}

TEST_F(LiveDriftTest, DriftOfAHigherIsBetterMetricIsAFall) {
  LoadDrift("{max_degradation: 0.1, window: 4}", "accuracy");
  const std::int64_t v = AddVersion("A", "accuracy", 0.8);
  Live("1", v, "2024-03-01", 1, 0.9f);
  Live("2", v, "2024-03-02", 1, 0.9f);
  Live("3", v, "2024-03-03", 0, 0.9f);
  Live("4", v, "2024-03-04", 0, 0.9f);
  auto d = LiveDrift(*registry_, *config_->FindModel("m"), **registry_->Production("m", "A"));
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(*d, "live drift: accuracy 0.500 over the last 4 rows vs holdout 0.800 (-37.5% < -10%)");
}

// The drift reason reaches the decision through PlanModel and makes it full.
TEST_F(LiveDriftTest, PlanTurnsLiveDriftIntoAFullRetrain) {
  LoadDrift("{max_degradation: 0.1, window: 4}");
  const ModelConfig& model = *config_->FindModel("m");
  AddRows("A", 0, 30, 10);
  const Fingerprint fp = ComputeFingerprint(model, XgbVersion());
  ModelVersion v;
  v.model = "m";
  v.segment = "A";
  v.kind = "full";
  v.objective = model.objective;
  v.features = model.features;
  v.fingerprint = fp.hash;
  v.fingerprint_text = fp.canonical;
  v.train_to = SqlValue::Text(Day(14));
  v.holdout_from = SqlValue::Text(Day(15));
  v.holdout_to = SqlValue::Text(Day(29));
  v.file = "/m/1.ubj";
  v.sha256 = "ab";
  v.created_at = std::chrono::floor<std::chrono::seconds>(At(1).time_since_epoch()).count();
  v.metrics_json = R"({"holdout": {"log_loss": 0.5}})";
  auto id = registry_->AddVersion(v, true, "test");
  ASSERT_TRUE(id.ok()) << id.message();

  PlanRequest request;
  request.now = At(2);
  auto plan = [&]() {
    auto plans = PlanModel(*data_, *registry_, model, XgbVersion(), request);
    EXPECT_TRUE(plans.ok()) << plans.message();
    return plans.ok() && plans->size() == 1 ? plans->front().decision.Summary() : "error";
  };
  EXPECT_EQ(plan(), "fingerprint unchanged; no new rows; model 1 d old < 7 d → skip");
  for (int k = 1; k <= 4; ++k)
    Live(std::to_string(k), *id, "2024-03-0" + std::to_string(k), 1, P(0.6));
  EXPECT_EQ(plan(),
            "live drift: log_loss 0.600 over the last 4 rows vs holdout 0.500 (+20.0% > 10%) → "
            "full");
}

}  // namespace
}  // namespace mlcron
