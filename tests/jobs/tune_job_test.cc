// The tune job (issue 6): the apply verdict against the baseline, studies per segment,
// applied params feeding the next retrain ("tuned params applied", a full retrain trained with
// them), the overlay limited to the current space, and resume after an interruption.
#include "jobs/tune_job.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "jobs/retrain_job.h"
#include "jobs/retrain_plan.h"
#include "jobs/tuned_params.h"
#include "jobs/xgb_booster.h"
#include "tests/jobs/retrain_test_util.h"

namespace mlcron {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

StudyOutcome Outcome(std::optional<double> best, std::optional<double> baseline,
                     const std::string& metric = "log_loss") {
  StudyOutcome o;
  o.study.metric = metric;
  o.study.baseline_value = baseline;
  if (best) {
    TrialRecord t;
    t.number = 7;
    t.state = "complete";
    t.value = best;
    o.best = t;
  }
  return o;
}

TEST(DecideApply, BetterAppliesOnlyWhenTheBestBeatsTheBaseline) {
  ApplyVerdict v = DecideApply(Outcome(0.5, 0.6), ApplyMode::kBetter);
  EXPECT_TRUE(v.apply);
  EXPECT_EQ(v.text,
            "applied: best trial 7 log_loss 0.5000 beats the current params' 0.6000 (+16.67%)");
  v = DecideApply(Outcome(0.6, 0.6), ApplyMode::kBetter);  // a tie keeps what trains today
  EXPECT_FALSE(v.apply);
  EXPECT_EQ(v.text,
            "not applied: best trial 7 log_loss 0.6000 does not beat the current params' 0.6000 "
            "(+0.00%)");
  // Higher is better for accuracy.
  EXPECT_TRUE(DecideApply(Outcome(0.8, 0.7, "accuracy"), ApplyMode::kBetter).apply);
  EXPECT_FALSE(DecideApply(Outcome(0.6, 0.7, "accuracy"), ApplyMode::kBetter).apply);
}

TEST(DecideApply, AlwaysNeverAndMissingScores) {
  EXPECT_TRUE(DecideApply(Outcome(0.7, 0.6), ApplyMode::kAlways).apply);
  EXPECT_THAT(DecideApply(Outcome(0.7, 0.6), ApplyMode::kAlways).text,
              HasSubstr("applied (--apply): best trial 7"));
  EXPECT_FALSE(DecideApply(Outcome(0.5, 0.6), ApplyMode::kNever).apply);
  EXPECT_EQ(DecideApply(Outcome(std::nullopt, 0.6), ApplyMode::kAlways).text,
            "not applied: no trial completed");
  ApplyVerdict v = DecideApply(Outcome(0.5, std::nullopt), ApplyMode::kBetter);
  EXPECT_FALSE(v.apply);
  EXPECT_THAT(v.text, HasSubstr("the current params could not be scored"));
  EXPECT_TRUE(DecideApply(Outcome(0.5, std::nullopt), ApplyMode::kAlways).apply);
  EXPECT_EQ(ParseApplyMode("always"), ApplyMode::kAlways);
  EXPECT_FALSE(ParseApplyMode("sometimes"));
}

TEST(TunedParams, ChangesSplitByTheTunedNames) {
  ChangeSplit s = SplitTunedChanges({"params.max_depth 3 → 5", "param gamma added (1)",
                                     "params.eta 0.3 → 0.1", "feature f2 added"},
                                    {{"max_depth", "5"}, {"gamma", "1"}});
  EXPECT_THAT(s.tuned, ElementsAre("params.max_depth 3 → 5", "param gamma added (1)"));
  EXPECT_THAT(s.other, ElementsAre("params.eta 0.3 → 0.1", "feature f2 added"));
}

class TuneJobTest : public testing::RetrainFixture {
 protected:
  void SetUp() override {
    RetrainFixture::SetUp();
    Load(ModelYaml("[f0, f1, f2]", R"(    tuning:
      method: random
      trials: 4
      folds: 3
      seed: 3
      space:
        max_depth: {int: [1, 6]}
        eta: {float: [0.05, 0.5], log: true}
)"));
  }

  const ModelConfig& Model() const { return *config_->FindModel("m"); }

  Result<std::vector<TuneSegmentResult>> Tune(ApplyMode apply, std::optional<std::string> segment) {
    TuneRequest r;
    r.now = std::chrono::sys_days(std::chrono::year(2024) / 4 / 1);
    r.actor = "test";
    r.apply = apply;
    r.segment = segment;
    r.out = &log_;
    return TuneModel(Model(), *data_, *registry_, r);
  }

  std::vector<SegmentPlan> Plan() {
    PlanRequest request;
    request.now = std::chrono::sys_days(std::chrono::year(2024) / 4 / 2);
    auto plans = PlanModel(*data_, *registry_, Model(), XgbVersion(), request);
    EXPECT_TRUE(plans.ok()) << plans.message();
    return plans.ok() ? *plans : std::vector<SegmentPlan>{};
  }

  std::ostringstream log_;
};

TEST_F(TuneJobTest, EachSegmentGetsAStudyAndOnlyTheAskedOneWithSegment) {
  AddRows("A", 0, 30, 10);
  AddRows("B", 0, 30, 10);
  auto all = Tune(ApplyMode::kNever, std::nullopt);
  ASSERT_TRUE(all.ok()) << all.message();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].segment, "A");
  EXPECT_EQ((*all)[1].segment, "B");
  for (const TuneSegmentResult& r : *all) {
    ASSERT_TRUE(r.outcome);
    EXPECT_EQ(r.outcome->trials.size(), 4u);
    EXPECT_EQ(r.outcome->study.rows, 300);
    EXPECT_TRUE(r.outcome->study.baseline_value);
    EXPECT_FALSE(r.verdict.apply);
    std::optional<StudyRecord> s = *TuningStore(registry_->db()).Study(r.outcome->study.id);
    EXPECT_EQ(s->verdict, r.verdict.text);
    EXPECT_EQ(s->baseline_value, r.outcome->study.baseline_value);
    EXPECT_FALSE(s->applied_at);
  }
  EXPECT_THAT(log_.str(), HasSubstr("m [A]: study 1, random, 4 trials (0 pruned, 0 failed) on "
                                    "300 rows: not applied (--no-apply): best trial"));
  auto one = Tune(ApplyMode::kNever, "B");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].segment, "B");
  auto none = Tune(ApplyMode::kNever, "Z");
  EXPECT_EQ(none.message(), "model m: no segment \"Z\" with labelled rows (segments: A, B)");
}

TEST_F(TuneJobTest, AppliedParamsMakeTheNextRetrainFullWithThem) {
  AddRows("A", 0, 60, 10);
  AddRows("B", 0, 60, 10);
  RetrainRequest rr;
  rr.now = std::chrono::sys_days(std::chrono::year(2024) / 3 / 1);
  rr.actor = "test";
  rr.out = &log_;
  auto first = RetrainModel(*config_, Model(), *data_, *registry_, rr);
  ASSERT_TRUE(first.ok()) << first.message();
  for (const SegmentPlan& p : Plan()) EXPECT_NE(p.decision.kind, DecisionKind::kFull);

  auto tuned = Tune(ApplyMode::kAlways, "A");
  ASSERT_TRUE(tuned.ok()) << tuned.message();
  ASSERT_TRUE((*tuned)[0].verdict.apply);
  const ParamTexts best = (*tuned)[0].outcome->best->params;
  EXPECT_THAT(log_.str(), HasSubstr("; the next retrain is full"));

  std::vector<SegmentPlan> plans = Plan();
  ASSERT_EQ(plans.size(), 2u);
  const SegmentPlan& a = plans[0];
  EXPECT_EQ(a.tuned.params, best);
  EXPECT_EQ(a.tuned.study, (*tuned)[0].outcome->study.id);
  EXPECT_EQ(a.decision.kind, DecisionKind::kFull);
  EXPECT_THAT(a.decision.Summary(),
              HasSubstr("tuned params applied (study " +
                        std::to_string((*tuned)[0].outcome->study.id) + "): "));
  EXPECT_THAT(a.decision.Summary(), ::testing::Not(HasSubstr("fingerprint changed")));
  // Segment B has no tuned params: its plan is untouched.
  EXPECT_TRUE(plans[1].tuned.empty());
  EXPECT_NE(plans[1].decision.kind, DecisionKind::kFull);

  // The full retrain trains with the tuned params and records them; then nothing is pending.
  rr.now = std::chrono::sys_days(std::chrono::year(2024) / 4 / 2);
  rr.segment = "A";
  auto second = RetrainModel(*config_, Model(), *data_, *registry_, rr);
  ASSERT_TRUE(second.ok()) << second.message();
  ASSERT_TRUE(second->segments[0].version);
  std::optional<ModelVersion> v = *registry_->Get(*second->segments[0].version);
  EXPECT_EQ(v->kind, "full");
  const nlohmann::json params = nlohmann::json::parse(v->params_json);
  for (const auto& [name, value] : best) EXPECT_EQ(params.at(name), value) << name;
  EXPECT_EQ(v->fingerprint, a.fingerprint.hash);
  if (v->status == "production") {
    EXPECT_THAT(Plan()[0].decision.Summary(), HasSubstr("fingerprint unchanged"));
  }
}

TEST_F(TuneJobTest, OnlyParamsStillInTheSpaceAreLaidOver) {
  AddRows("A", 0, 30, 10);
  TuningStore store(registry_->db());
  ASSERT_TRUE(store.Apply("m", "A", {{"max_depth", "5"}, {"gamma", "2"}}, 0, 1, "test").ok());
  Result<TunedOverlay> overlay = LoadTunedOverlay(registry_->db(), Model(), "A");
  ASSERT_TRUE(overlay.ok());
  EXPECT_EQ(overlay->params, (ParamTexts{{"max_depth", "5"}}));  // gamma is not in the space
  EXPECT_FALSE(overlay->study);
  ModelConfig untuned = Model();
  untuned.tuning.reset();  // no tuning: section, no overlay
  EXPECT_TRUE(LoadTunedOverlay(registry_->db(), untuned, "A")->empty());
  const ModelConfig laid = WithParams(Model(), overlay->params);
  EXPECT_THAT(laid.params,
              ::testing::Contains(std::pair<std::string, std::string>("max_depth", "5")));
}

TEST_F(TuneJobTest, TheScheduledJobResumesAnInterruptedStudyOfTheSameSearch) {
  AddRows("A", 0, 30, 10);
  auto whole = Tune(ApplyMode::kNever, "A");
  ASSERT_TRUE(whole.ok());
  const std::int64_t id = (*whole)[0].outcome->study.id;
  // As if killed after trial 1.
  ASSERT_TRUE(registry_->db()
                  .Exec("DELETE FROM tuning_trials WHERE number >= 2; UPDATE tuning_studies SET "
                        "status = 'running', verdict = ''")
                  .ok());
  auto resumed = Tune(ApplyMode::kNever, "A");  // TuneRequest's default: kIfSame
  ASSERT_TRUE(resumed.ok()) << resumed.message();
  EXPECT_TRUE((*resumed)[0].outcome->resumed);
  EXPECT_EQ((*resumed)[0].outcome->study.id, id);
  EXPECT_EQ((*resumed)[0].outcome->trials.size(), 4u);
  EXPECT_THAT(log_.str(), HasSubstr("study " + std::to_string(id) + " (resumed)"));
}

TEST_F(TuneJobTest, ANewStudyLeavesTheInterruptedOneBehind) {
  AddRows("A", 0, 30, 10);
  TuningStore store(registry_->db());
  StudyRequest r;
  r.segment = "A";
  r.segment_value = SqlValue::Text("A");
  ASSERT_TRUE(RunStudy(Model(), *data_, store, r).ok());
  ASSERT_TRUE(registry_->db().Exec("UPDATE tuning_studies SET status = 'running'").ok());
  Result<StudyOutcome> fresh = RunStudy(Model(), *data_, store, r);  // Resume::kNo
  ASSERT_TRUE(fresh.ok()) << fresh.message();
  EXPECT_FALSE(fresh->resumed);
  EXPECT_EQ((*store.Study(1))->status, "interrupted");
  EXPECT_EQ((*store.Study(2))->status, "finished");
}

}  // namespace
}  // namespace mlcron
