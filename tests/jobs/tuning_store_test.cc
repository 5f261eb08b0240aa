// Tuning studies, trials and tuned params in mlcron.db (migration 4), row by row.
#include "jobs/tuning_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "jobs/registry.h"

namespace mlcron {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::Pair;

class TuningStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mlcron-tuning-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    config_.state_dir = tmpl + "/state";
    auto opened = Registry::Open(config_);
    ASSERT_TRUE(opened.ok()) << opened.message();
    registry_ = std::move(opened).value();
    store_ = std::make_unique<TuningStore>(registry_->db());
  }
  void TearDown() override {
    store_.reset();
    registry_.reset();
    std::error_code ec;
    fs::remove_all(fs::path(config_.state_dir).parent_path(), ec);
  }

  StudyRecord NewStudy(const std::string& segment) {
    StudyRecord s;
    s.model = "result";
    s.segment = segment;
    s.method = "tpe";
    s.seed = 7;
    s.metric = "log_loss";
    s.trials = 30;
    s.config_json = R"({"folds":5})";
    s.rows = 1200;
    s.started_at = 1700000000;
    s.run_id = "12";
    s.actor = "auto";
    return s;
  }

  Config config_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<TuningStore> store_;
};

TEST_F(TuningStoreTest, StudiesAndTrialsRoundTrip) {
  Result<std::int64_t> id = store_->CreateStudy(NewStudy("E0"));
  ASSERT_TRUE(id.ok()) << id.message();
  EXPECT_EQ(*id, 1);
  TrialRecord done{0,   {{"max_depth", "3"}, {"eta", "0.05"}}, {0.98, 1.01}, "complete", 0.995, "",
                   0.25};
  TrialRecord pruned{1, {{"max_depth", "6"}}, {1.2}, "pruned", 1.2, "", 0.1};
  TrialRecord failed{2, {{"max_depth", "0"}}, {}, "failed", std::nullopt, "XGBoost: bad", 0.01};
  for (const TrialRecord& t : {done, pruned, failed}) {
    ASSERT_TRUE(store_->AddTrial(*id, t).ok());
  }
  EXPECT_FALSE(store_->AddTrial(*id, done).ok());  // number 0 again

  Result<std::vector<TrialRecord>> trials = store_->Trials(*id);
  ASSERT_TRUE(trials.ok()) << trials.message();
  ASSERT_EQ(trials->size(), 3u);
  EXPECT_THAT((*trials)[0].params, ElementsAre(Pair("eta", "0.05"), Pair("max_depth", "3")));
  EXPECT_THAT((*trials)[0].fold_scores, ElementsAre(0.98, 1.01));
  EXPECT_EQ((*trials)[0].value, 0.995);
  EXPECT_EQ((*trials)[1].state, "pruned");
  EXPECT_EQ((*trials)[2].value, std::nullopt);
  EXPECT_EQ((*trials)[2].error, "XGBoost: bad");

  Result<std::optional<StudyRecord>> open = store_->Unfinished("result", "E0");
  ASSERT_TRUE(open.ok() && *open);
  EXPECT_EQ((*open)->id, *id);
  EXPECT_EQ((*open)->config_json, R"({"folds":5})");
  ASSERT_TRUE(store_->FinishStudy(*id, "finished", 0, 0.995, 1700000100).ok());
  EXPECT_FALSE(*store_->Unfinished("result", "E0"));
  std::optional<StudyRecord> s = *store_->Study(*id);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, "finished");
  EXPECT_EQ(s->best_trial, 0);
  EXPECT_EQ(s->best_value, 0.995);
  EXPECT_EQ(s->finished_at, 1700000100);
  EXPECT_EQ(s->seed, 7u);
  EXPECT_FALSE(store_->FinishStudy(99, "finished", 0, 1.0, 1).ok());
}

TEST_F(TuningStoreTest, StudiesAreListedNewestFirst) {
  ASSERT_TRUE(store_->CreateStudy(NewStudy("E0")).ok());
  ASSERT_TRUE(store_->CreateStudy(NewStudy("SP1")).ok());
  ASSERT_TRUE(store_->CreateStudy(NewStudy("E0")).ok());
  std::vector<std::int64_t> ids;
  Result<std::vector<StudyRecord>> all = store_->Studies("result", 0);  // kept: the loop reads it
  ASSERT_TRUE(all.ok());
  for (const StudyRecord& s : *all) ids.push_back(s.id);
  EXPECT_THAT(ids, ElementsAre(3, 2, 1));
  EXPECT_EQ(store_->Studies("result", 2)->size(), 2u);
  EXPECT_TRUE(store_->Studies("goals", 0)->empty());
  EXPECT_EQ((*store_->Unfinished("result", "E0"))->id, 3);
}

TEST_F(TuningStoreTest, ApplyReplacesTheSegmentsTunedParams) {
  Result<std::int64_t> id = store_->CreateStudy(NewStudy("E0"));
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(*store_->Tuned("result", "E0"));
  ASSERT_TRUE(store_->Apply("result", "E0", {{"max_depth", "3"}}, *id, 1700000200, "auto").ok());
  ASSERT_TRUE(store_->Apply("result", "E0", {{"max_depth", "4"}}, 0, 1700000300, "ana").ok());
  std::optional<TunedParams> t = *store_->Tuned("result", "E0");
  ASSERT_TRUE(t);
  EXPECT_THAT(t->params, ElementsAre(Pair("max_depth", "4")));
  EXPECT_EQ(t->study_id, std::nullopt);
  EXPECT_EQ(t->applied_at, 1700000300);
  EXPECT_EQ(t->actor, "ana");
  EXPECT_EQ((*store_->Study(*id))->applied_at, 1700000200);
  EXPECT_FALSE(*store_->Tuned("result", "SP1"));
}

}  // namespace
}  // namespace mlcron
