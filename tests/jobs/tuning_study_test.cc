// A tuning study end to end on a real data table: every trial stored with its fold scores,
// the best one, determinism, failed and pruned trials, resume, and too few rows.
#include "jobs/tuning_study.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "jobs/tuning_store.h"
#include "tests/jobs/retrain_test_util.h"

namespace mlcron {
namespace {

using ::testing::HasSubstr;

SpaceParam Int(const std::string& name, double lo, double hi) {
  SpaceParam p;
  p.name = name;
  p.kind = SpaceParam::Kind::kInt;
  p.lo = lo;
  p.hi = hi;
  return p;
}

SpaceParam LogFloat(const std::string& name, double lo, double hi) {
  SpaceParam p;
  p.name = name;
  p.kind = SpaceParam::Kind::kFloat;
  p.lo = lo;
  p.hi = hi;
  p.log = true;
  return p;
}

SpaceParam Choice(const std::string& name, std::vector<std::string> choices) {
  SpaceParam p;
  p.name = name;
  p.kind = SpaceParam::Kind::kChoice;
  p.choices = std::move(choices);
  return p;
}

class TuningStudyTest : public testing::RetrainFixture {
 protected:
  void SetUp() override {
    RetrainFixture::SetUp();
    store_ = std::make_unique<TuningStore>(registry_->db());
    model_ = config_->models.front();
    TuningConfig t;
    t.method = TuningConfig::Method::kRandom;
    t.trials = 6;
    t.folds = 3;
    t.seed = 11;
    t.space = {Int("max_depth", 2, 5), LogFloat("eta", 0.05, 0.5)};
    model_.tuning = t;
  }

  Result<StudyOutcome> Run(bool resume = false) {
    StudyRequest r;
    r.segment = "A";
    r.segment_value = SqlValue::Text("A");
    r.resume = resume ? StudyRequest::Resume::kYes : StudyRequest::Resume::kNo;
    r.now = 1700000000;
    r.actor = "test";
    return RunStudy(model_, *data_, *store_, r);
  }

  std::unique_ptr<TuningStore> store_;
  ModelConfig model_;
};

TEST_F(TuningStudyTest, EveryTrialIsStoredAndTheBestIsTheLowestMean) {
  AddRows("A", 0, 60, 10);
  AddRows("B", 0, 60, 10);  // another segment's rows are not read
  Result<StudyOutcome> out = Run();
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out->trials.size(), 6u);
  EXPECT_EQ(out->study.rows, 600);
  double best = INFINITY;
  for (const TrialRecord& t : out->trials) {
    EXPECT_EQ(t.state, "complete");
    ASSERT_EQ(t.fold_scores.size(), 3u);
    EXPECT_DOUBLE_EQ(*t.value, (t.fold_scores[0] + t.fold_scores[1] + t.fold_scores[2]) / 3);
    const int depth = std::stoi(t.params.at("max_depth"));
    EXPECT_GE(depth, 2);
    EXPECT_LE(depth, 5);
    best = std::min(best, *t.value);
  }
  ASSERT_TRUE(out->best);
  EXPECT_EQ(*out->best->value, best);
  Result<std::vector<TrialRecord>> stored = store_->Trials(out->study.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->size(), 6u);
  std::optional<StudyRecord> s = *store_->Study(out->study.id);
  EXPECT_EQ(s->status, "finished");
  EXPECT_EQ(s->best_trial, out->best->number);
  EXPECT_EQ(s->metric, "log_loss");
}

TEST_F(TuningStudyTest, SameSeedSameTrials) {
  AddRows("A", 0, 60, 10);
  Result<StudyOutcome> a = Run();
  Result<StudyOutcome> b = Run();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->trials.size(), b->trials.size());
  for (size_t i = 0; i < a->trials.size(); ++i) {
    EXPECT_EQ(a->trials[i].params, b->trials[i].params) << i;
    EXPECT_EQ(a->trials[i].value, b->trials[i].value) << i;
  }
}

TEST_F(TuningStudyTest, AFailingTrialIsRecordedAndTheStudyGoesOn) {
  AddRows("A", 0, 60, 10);
  model_.tuning->method = TuningConfig::Method::kGrid;
  model_.tuning->space = {Choice("eta", {"0.3", "-1"})};
  model_.tuning->trials = 2;
  Result<StudyOutcome> out = Run();
  ASSERT_TRUE(out.ok()) << out.message();
  ASSERT_EQ(out->trials.size(), 2u);
  int failed = 0;
  for (const TrialRecord& t : out->trials) {
    if (t.state == "failed") {
      ++failed;
      EXPECT_EQ(t.params.at("eta"), "-1");
      EXPECT_THAT(t.error, HasSubstr("fold 1 of 3: "));
      EXPECT_THAT(t.error,
                  HasSubstr("value -1 for Parameter learning_rate should be greater equal to 0"));
      EXPECT_FALSE(t.value);
    }
  }
  EXPECT_EQ(failed, 1);
  ASSERT_TRUE(out->best);
  EXPECT_EQ(out->best->params.at("eta"), "0.3");
}

TEST_F(TuningStudyTest, AnUnknownParameterFailsEveryTrialWithXgboostsWord) {
  AddRows("A", 0, 60, 10);
  model_.tuning->space = {Int("max_dept", 2, 5)};
  model_.tuning->trials = 2;
  Result<StudyOutcome> out = Run();
  ASSERT_TRUE(out.ok()) << out.message();
  for (const TrialRecord& t : out->trials) {
    EXPECT_EQ(t.state, "failed");
    EXPECT_THAT(t.error, HasSubstr("unknown XGBoost param: max_dept"));
  }
  EXPECT_FALSE(out->best);
}

TEST_F(TuningStudyTest, TooFewRowsForTheFolds) {
  AddRows("A", 0, 1, 3);
  Result<StudyOutcome> out = Run();
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.message(),
            "m [A]: 3 labelled rows: Cannot have number of folds=4 greater than the number of "
            "samples=3.");
  EXPECT_TRUE(store_->Studies("m", 0)->empty());
}

TEST_F(TuningStudyTest, AnInterruptedStudyResumesAfterItsLastTrial) {
  AddRows("A", 0, 60, 10);
  Result<StudyOutcome> whole = Run();
  ASSERT_TRUE(whole.ok()) << whole.message();
  // As if killed after trial 2: trials 3.. gone, the study still running.
  ASSERT_TRUE(registry_->db()
                  .Exec("DELETE FROM tuning_trials WHERE number >= 3; UPDATE tuning_studies SET "
                        "status = 'running', best_trial = NULL, best_value = NULL")
                  .ok());
  Result<StudyOutcome> resumed = Run(/*resume=*/true);
  ASSERT_TRUE(resumed.ok()) << resumed.message();
  EXPECT_TRUE(resumed->resumed);
  EXPECT_EQ(resumed->study.id, whole->study.id);
  ASSERT_EQ(resumed->trials.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(resumed->trials[i].params, whole->trials[i].params) << i;
    EXPECT_EQ(resumed->trials[i].value, whole->trials[i].value) << i;
  }
  EXPECT_EQ(resumed->best->number, whole->best->number);
  // Nothing left to resume; a different search is refused.
  Result<StudyOutcome> again = Run(true);
  EXPECT_EQ(again.message(), "m [A]: no unfinished study to resume");
  ASSERT_TRUE(registry_->db().Exec("UPDATE tuning_studies SET status = 'running'").ok());
  model_.tuning->seed = 12;
  Result<StudyOutcome> other = Run(true);
  EXPECT_THAT(other.message(), HasSubstr("searched differently"));
}

TEST_F(TuningStudyTest, MedianPruningStopsBadTrialsEarly) {
  AddRows("A", 0, 60, 10);
  model_.tuning->trials = 20;
  model_.tuning->folds = 4;
  model_.tuning->prune = TuningConfig::Prune::kMedian;
  // eta from tiny (useless after 20 rounds) to large: some trials are clearly worse.
  model_.tuning->space = {LogFloat("eta", 0.001, 1.0)};
  Result<StudyOutcome> out = Run();
  ASSERT_TRUE(out.ok()) << out.message();
  int pruned = 0;
  for (const TrialRecord& t : out->trials) {
    if (t.state != "pruned") continue;
    ++pruned;
    EXPECT_GE(t.number, 5);  // never among the first 5 (the pruner's start-up)
    EXPECT_LT(t.fold_scores.size(), 4u);
  }
  EXPECT_GT(pruned, 0);
  EXPECT_EQ(out->best->state, "complete");
}

}  // namespace
}  // namespace mlcron
