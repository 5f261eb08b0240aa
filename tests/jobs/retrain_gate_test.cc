// The promotion gate inside the retrain job: first versions against the prior-only baseline,
// a rejected candidate leaving production alone and backing off, manual promotion, and a
// changed feature contract gated against the baseline; the stored reasons carry the numbers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "jobs/retrain_job.h"
#include "tests/jobs/retrain_test_util.h"

namespace mlcron {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class RetrainGate : public testing::RetrainFixture {
 protected:
  RetrainResult Run() {
    RetrainRequest request;
    request.now = std::chrono::sys_days(std::chrono::year(2024) / 3 / 1);
    request.out = &log_;
    auto r = RetrainModel(*config_, *config_->FindModel("m"), *data_, *registry_, request);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? *r : RetrainResult{};
  }
  ModelVersion Last() { return registry_->LastAttempt("m", "A")->value(); }
  std::optional<ModelVersion> Production() { return registry_->Production("m", "A").value(); }
  std::ostringstream log_;
};

TEST_F(RetrainGate, FirstVersionMustBeatThePriorOnlyBaseline) {
  AddRows("A", 0, 30, 10);
  Run();
  const ModelVersion v = Last();
  EXPECT_EQ(v.status, "production");
  EXPECT_THAT(v.reason, StartsWith("first version: log_loss "));
  EXPECT_THAT(v.reason, HasSubstr("vs prior-only baseline"));
  EXPECT_THAT(v.reason, HasSubstr("(beats it) → promoted"));
  EXPECT_EQ(v.kind, "full");
  const auto metrics = nlohmann::json::parse(v.metrics_json);
  EXPECT_LT(metrics["holdout"]["log_loss"].get<double>(),
            metrics["baseline"]["log_loss"].get<double>());
  EXPECT_TRUE(metrics["production_holdout"].is_null());
  EXPECT_EQ(metrics["production_not_scored"], "first version");
  for (const char* m : {"accuracy", "brier", "ece", "roc_auc"}) {
    EXPECT_TRUE(metrics["holdout"].contains(m)) << m;
  }
  ASSERT_TRUE(Production().has_value());
  EXPECT_EQ(Production()->id, v.id);
}

TEST_F(RetrainGate, RejectedCandidateLeavesProductionAndBacksOff) {
  Load(ModelYaml("[f0, f1, f2]", "    promote: {min_improvement: 100%}\n"));
  AddRows("A", 0, 30, 10);
  Run();  // the first version is gated against the baseline only
  const ModelVersion first = *Production();
  AddRows("A", 30, 15, 10);
  Run();
  const ModelVersion rejected = Last();
  EXPECT_EQ(rejected.kind, "incremental");
  EXPECT_EQ(rejected.status, "rejected");
  EXPECT_THAT(rejected.reason, StartsWith("log_loss "));
  EXPECT_THAT(rejected.reason, HasSubstr(" vs production "));
  EXPECT_THAT(rejected.reason, HasSubstr("< 100% required → rejected"));
  EXPECT_EQ(Production()->id, first.id);
  EXPECT_EQ(Production()->status, "production");
  const auto metrics = nlohmann::json::parse(rejected.metrics_json);
  EXPECT_TRUE(metrics["production_holdout"].contains("log_loss"));

  // No new rows since the rejected attempt: no retraining loop.
  RetrainResult again = Run();
  EXPECT_EQ(again.segments[0].decision.kind, DecisionKind::kSkip);
  EXPECT_THAT(again.segments[0].decision.Summary(), HasSubstr("no new rows"));
  EXPECT_EQ(Last().id, rejected.id);
}

TEST_F(RetrainGate, ManualPromotionLeavesACandidateAndDoesNotRetrainInALoop) {
  Load(ModelYaml("[f0, f1, f2]", "    promote: manual\n"));
  AddRows("A", 0, 30, 10);
  Run();
  const ModelVersion v = Last();
  EXPECT_EQ(v.status, "candidate");
  EXPECT_THAT(v.reason, HasSubstr("; promote: manual → candidate"));
  EXPECT_FALSE(Production().has_value());
  RetrainResult again = Run();
  EXPECT_EQ(again.segments[0].decision.kind, DecisionKind::kSkip);
  EXPECT_THAT(again.segments[0].decision.Summary(),
              HasSubstr("last attempt awaits manual promotion"));
}

TEST_F(RetrainGate, ChangedFeatureContractIsGatedAgainstTheBaseline) {
  AddRows("A", 0, 30, 10);
  Run();
  Load(ModelYaml("[f1, f0, f2]"));
  AddRows("A", 30, 30, 10);
  Run();
  const ModelVersion v = Last();
  EXPECT_EQ(v.kind, "full");
  EXPECT_THAT(v.reason, StartsWith("the feature contract changed: log_loss "));
  EXPECT_THAT(v.reason, HasSubstr("vs prior-only baseline"));
  const auto metrics = nlohmann::json::parse(v.metrics_json);
  EXPECT_TRUE(metrics["production_holdout"].is_null());
}

}  // namespace
}  // namespace mlcron
