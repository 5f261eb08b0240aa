// The retrain job end to end on a scratch data database and registry: first models, skip,
// incremental per segment, fingerprint rules, new and small segments, and every failure
// leaving data, models and the registry as they were.
#include "jobs/retrain_job.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "daemon/sha256.h"
#include "jobs/dataset.h"
#include "jobs/fingerprint.h"
#include "jobs/retrain_plan.h"
#include "jobs/xgb_booster.h"
#include "tests/jobs/retrain_test_util.h"

namespace mlcron {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

class RetrainJob : public testing::RetrainFixture {
 protected:
  RetrainResult Run(std::optional<std::string> forced = std::nullopt,
                    ModelWriter writer = WriteAllToFd) {
    RetrainRequest request;
    request.now = std::chrono::sys_days(std::chrono::year(2024) / 3 / 1);
    request.run_id = "7";
    request.actor = "test";
    request.forced = std::move(forced);
    request.out = &log_;
    request.writer = std::move(writer);
    Result<RetrainResult> r =
        RetrainModel(*config_, *config_->FindModel("m"), *data_, *registry_, request);
    EXPECT_TRUE(r.ok()) << r.message() << "\n" << log_.str();
    return r.ok() ? *r : RetrainResult{};
  }
  ModelVersion Production(const std::string& segment) {
    auto v = registry_->Production("m", segment);
    EXPECT_TRUE(v.ok() && v->has_value()) << segment;
    return v.ok() && v->has_value() ? **v : ModelVersion{};
  }
  size_t VersionCount() { return registry_->List("m", "", 0)->size(); }

  std::ostringstream log_;
};

TEST_F(RetrainJob, FirstRunTrainsEverySegmentInFullBeforeItsHoldout) {
  AddRows("A", 0, 30, 10);
  AddRows("B", 0, 30, 10);
  RetrainResult r = Run();
  ASSERT_THAT(r.segments, SizeIs(2));
  for (const SegmentResult& s : r.segments) {
    EXPECT_EQ(s.decision.kind, DecisionKind::kFull) << log_.str();
    EXPECT_THAT(s.decision.Summary(), HasSubstr("no production model"));
    EXPECT_TRUE(s.error.empty()) << s.error;
    ASSERT_TRUE(s.version.has_value());
  }
  const ModelVersion a = Production("A");
  EXPECT_EQ(a.kind, "full");
  EXPECT_EQ(a.status, "production");
  EXPECT_EQ(a.trees, 20);
  // 300 rows, 20% = 60 rows = the last 6 days held out; the 240 before are trained on.
  EXPECT_EQ(a.rows, 240);
  EXPECT_EQ(a.train_from, SqlValue::Text("2024-01-01"));
  EXPECT_EQ(a.train_to, SqlValue::Text("2024-01-24"));
  EXPECT_EQ(a.holdout_from, SqlValue::Text("2024-01-25"));
  EXPECT_EQ(a.holdout_to, SqlValue::Text("2024-01-30"));
  EXPECT_EQ(a.holdout_rows, 60);
  EXPECT_EQ(a.chain, 0);
  EXPECT_FALSE(a.parent.has_value());
  EXPECT_THAT(a.features, ::testing::ElementsAre("f0", "f1", "f2"));
  EXPECT_EQ(a.run_id, "7");
  EXPECT_THAT(a.reason, ::testing::StartsWith("first version: log_loss "));
  Result<std::string> sha = Sha256File(a.file);
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(*sha, a.sha256);
  EXPECT_THAT(log_.str(), HasSubstr("m [A]: version " + std::to_string(a.id) +
                                    " (full, 20 trees "
                                    "on 240 rows 2024-01-01..2024-01-24, holdout 60 rows "
                                    "2024-01-25..2024-01-30)"));
  EXPECT_THAT(log_.str(), HasSubstr("created index m_mlcron_seg_time"));
}

TEST_F(RetrainJob, NothingNewSkipsWithoutTraining) {
  AddRows("A", 0, 30, 10);
  Run();
  const size_t before = VersionCount();
  RetrainResult r = Run();
  ASSERT_THAT(r.segments, SizeIs(1));
  EXPECT_EQ(r.segments[0].decision.kind, DecisionKind::kSkip);
  EXPECT_THAT(r.segments[0].decision.Summary(), HasSubstr("no new rows"));
  EXPECT_FALSE(r.segments[0].version.has_value());
  EXPECT_EQ(VersionCount(), before);
  auto decisions = registry_->Decisions("m", 10);
  ASSERT_TRUE(decisions.ok());
  ASSERT_THAT(*decisions, SizeIs(2));
  EXPECT_EQ((*decisions)[0].decision, "skip");
  EXPECT_EQ((*decisions)[1].decision, "full");
}

TEST_F(RetrainJob, IncrementalAddsTreesOnUnseenRowsOfThatSegmentOnly) {
  AddRows("A", 0, 30, 10);
  AddRows("B", 0, 30, 10);
  Run();
  const ModelVersion parent = Production("A");
  const ModelVersion b_before = Production("B");
  AddRows("A", 30, 15, 10);  // 150 new rows in A only
  RetrainResult r = Run();
  ASSERT_THAT(r.segments, SizeIs(2));
  EXPECT_EQ(r.segments[0].decision.kind, DecisionKind::kIncremental) << log_.str();
  EXPECT_EQ(r.segments[1].decision.kind, DecisionKind::kSkip);

  // The attempt, whether the gate promoted it or not (retrain_gate_test covers the gate).
  const ModelVersion child = registry_->LastAttempt("m", "A")->value();
  EXPECT_EQ(child.kind, "incremental");
  EXPECT_EQ(child.parent, parent.id);
  EXPECT_EQ(child.chain, 1);
  EXPECT_EQ(child.full_at, parent.full_at);
  EXPECT_EQ(child.trees, 25);
  // Pool = 210 rows after the parent's watermark (Jan 25 .. Feb 14); 20% = 42 rows, extended
  // back to the start of Feb 10: holdout = Feb 10..14 (50 rows), training = Jan 25 .. Feb 9.
  EXPECT_EQ(child.train_from, SqlValue::Text("2024-01-25"));
  EXPECT_EQ(child.train_to, SqlValue::Text("2024-02-09"));
  EXPECT_EQ(child.rows, 160);
  EXPECT_EQ(child.holdout_from, SqlValue::Text("2024-02-10"));
  EXPECT_EQ(child.holdout_to, SqlValue::Text("2024-02-14"));
  EXPECT_EQ(child.holdout_rows, 50);
  // Neither model has seen a holdout row.
  EXPECT_GT(*TimeToUnix(child.holdout_from), *TimeToUnix(parent.train_to));
  EXPECT_GT(*TimeToUnix(child.holdout_from), *TimeToUnix(child.train_to));

  EXPECT_EQ(Production("B").id, b_before.id);
  EXPECT_EQ(registry_->Get(parent.id)->value().status,
            child.status == "production" ? "archived" : "production");

  // The first trees of the child are the parent's, bit for bit.
  auto parent_model = XgbBooster::FromUbj(*LoadVerifiedModel(parent.file, parent.sha256));
  auto child_model = XgbBooster::FromUbj(*LoadVerifiedModel(child.file, child.sha256));
  ASSERT_TRUE(parent_model.ok() && child_model.ok());
  std::vector<float> x = {0.1f, 0.9f, 0.5f, 0.7f, 0.6f, 0.2f, 0.5f, 0.5f, NAN};
  auto p = parent_model->Predict(x, 3, 3);
  auto c = child_model->Predict(x, 3, 3, parent.trees);
  auto c_all = child_model->Predict(x, 3, 3);
  ASSERT_TRUE(p.ok() && c.ok() && c_all.ok());
  EXPECT_EQ(std::memcmp(p->data(), c->data(), p->size() * sizeof(float)), 0);
  EXPECT_NE(std::memcmp(p->data(), c_all->data(), p->size() * sizeof(float)), 0);
}

TEST_F(RetrainJob, RuntimeParamsDoNotForceFullButFeatureOrderDoes) {
  AddRows("A", 0, 30, 10);
  Run();
  PlanRequest request{std::chrono::sys_days(std::chrono::year(2024) / 3 / 1)};
  // A different thread count: the saved-setting bug would retrain from scratch here.
  std::string yaml = ModelYaml();
  yaml.replace(yaml.find("nthread: 1"), 10, "nthread: 4");
  Load(yaml);
  auto plans = PlanModel(*data_, *registry_, *config_->FindModel("m"),
                         XgbVersion(), request);
  ASSERT_TRUE(plans.ok()) << plans.message();
  EXPECT_EQ((*plans)[0].decision.kind, DecisionKind::kSkip);
  EXPECT_TRUE((*plans)[0].input.fingerprint_changes.empty());

  Load(ModelYaml("[f1, f0, f2]"));
  AddRows("A", 30, 30, 10);
  RetrainResult r = Run();
  ASSERT_THAT(r.segments, SizeIs(1));
  EXPECT_EQ(r.segments[0].decision.kind, DecisionKind::kFull);
  EXPECT_THAT(r.segments[0].decision.Summary(), HasSubstr("features reordered"));
  EXPECT_EQ(Production("A").kind, "full");
}

TEST_F(RetrainJob, NewSegmentGetsItsFirstModelAndSmallSegmentIsSkipped) {
  AddRows("A", 0, 30, 10);
  Run();
  const ModelVersion a = Production("A");
  AddRows("C", 0, 30, 10);
  AddRows("D", 0, 2, 10);  // 20 rows < min_rows 50
  RetrainResult r = Run();
  ASSERT_THAT(r.segments, SizeIs(3));
  EXPECT_EQ(r.segments[0].decision.kind, DecisionKind::kSkip);  // A: nothing new
  EXPECT_EQ(r.segments[1].decision.kind, DecisionKind::kFull);  // C: first model
  EXPECT_EQ(r.segments[2].decision.kind, DecisionKind::kSkip);  // D: too small
  EXPECT_THAT(r.segments[2].decision.Summary(), HasSubstr("20 rows < min_rows 50"));
  EXPECT_EQ(Production("A").id, a.id);
  EXPECT_EQ(Production("C").kind, "full");
  EXPECT_FALSE(registry_->Production("m", "D")->has_value());
}

TEST_F(RetrainJob, TamperedParentFailsOnlyItsSegment) {
  AddRows("A", 0, 30, 10);
  AddRows("B", 0, 30, 10);
  Run();
  const ModelVersion a = Production("A");
  {
    std::fstream f(a.file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x7f');
  }
  AddRows("A", 30, 15, 10);
  AddRows("B", 30, 15, 10);
  const size_t before = VersionCount();
  RetrainResult r = Run();
  EXPECT_TRUE(r.failed());
  EXPECT_THAT(r.segments[0].error, HasSubstr("SHA-256 mismatch"));
  EXPECT_TRUE(r.segments[1].error.empty()) << r.segments[1].error;
  EXPECT_EQ(Production("A").id, a.id);
  EXPECT_EQ(registry_->LastAttempt("m", "B")->value().kind, "incremental");
  EXPECT_EQ(VersionCount(), before + 1);
}

TEST_F(RetrainJob, FullDiskWhileSavingLeavesRegistryAndModelsAsTheyWere) {
  AddRows("A", 0, 30, 10);
  RetrainResult r = Run(
      std::nullopt, [](int, std::string_view) { return Status::Error("No space left on device"); });
  ASSERT_THAT(r.segments, SizeIs(1));
  EXPECT_THAT(r.segments[0].error, HasSubstr("No space left on device"));
  EXPECT_EQ(VersionCount(), 0u);
  const auto models = std::filesystem::path(config_->state_dir) / "models" / "m";
  if (std::filesystem::exists(models)) EXPECT_TRUE(std::filesystem::is_empty(models));
  auto count = data_->Prepare("SELECT count(*) FROM m");
  ASSERT_TRUE(*count.Step());
  EXPECT_EQ(count.Int64(0), 300);
}

TEST_F(RetrainJob, LabelOutOfRangeIsNamedAndNothingIsRegistered) {
  AddRows("A", 0, 30, 10);
  ASSERT_TRUE(data_->Exec("UPDATE m SET y = 2 WHERE id = 17").ok());
  RetrainResult r = Run();
  ASSERT_THAT(r.segments, SizeIs(1));
  EXPECT_THAT(r.segments[0].error, HasSubstr("17"));
  EXPECT_THAT(r.segments[0].error, HasSubstr("label 2"));
  EXPECT_EQ(VersionCount(), 0u);
}

TEST_F(RetrainJob, ForcedFullRetrainsEvenWithFewNewRows) {
  AddRows("A", 0, 30, 10);
  Run();
  AddRows("A", 30, 15, 10);
  RetrainResult r = Run("--full");
  ASSERT_THAT(r.segments, SizeIs(1));
  EXPECT_EQ(r.segments[0].decision.kind, DecisionKind::kFull);
  EXPECT_THAT(r.segments[0].decision.Summary(), HasSubstr("forced by --full"));
  EXPECT_EQ(registry_->LastAttempt("m", "A")->value().kind, "full");
  EXPECT_EQ(registry_->LastAttempt("m", "A")->value().chain, 0);
}

}  // namespace
}  // namespace mlcron

namespace mlcron {
namespace {

// A periodic full that the gate rejected restarts the full_every clock: the next decisions
// are incrementals until full_every has passed again since that attempt.
TEST_F(RetrainJob, FullEveryCountsFromTheLastFullAttempt) {
  AddRows("A", 0, 30, 10);
  Run();
  const ModelVersion first = Production("A");
  constexpr std::int64_t kDay = 86400;
  ModelVersion rejected = first;
  rejected.id = 0;
  rejected.parent.reset();
  rejected.status = "rejected";
  rejected.reason = "not better";
  rejected.created_at = first.created_at + 100 * kDay;
  rejected.full_at = 0;
  ASSERT_TRUE(registry_->AddVersion(rejected, false, "test").ok());
  AddRows("A", 30, 30, 10);  // 300 rows after both attempts' horizon

  auto plan_at = [&](std::int64_t days) {
    PlanRequest request{std::chrono::system_clock::time_point(
        std::chrono::seconds(first.created_at + days * kDay))};
    auto plans = PlanModel(*data_, *registry_, *config_->FindModel("m"),
                           XgbVersion(), request);
    EXPECT_TRUE(plans.ok()) << plans.message();
    return plans.ok() ? (*plans)[0].decision : Decision{};
  };
  // 105 days after the promoted full, but 5 after the rejected one: no periodic full.
  const Decision soon = plan_at(105);
  EXPECT_EQ(soon.kind, DecisionKind::kIncremental) << soon.Summary();
  EXPECT_THAT(soon.Summary(), Not(HasSubstr("last full")));
  // full_every (90 d) after the rejected attempt: due again.
  const Decision later = plan_at(191);
  EXPECT_EQ(later.kind, DecisionKind::kFull) << later.Summary();
  EXPECT_THAT(later.Summary(), HasSubstr("last full 91 d ago ≥ full_every 90 d"));
}

}  // namespace
}  // namespace mlcron
