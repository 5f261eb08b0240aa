// Live scores: signals whose labels arrive later are scored once, with the latest signal,
// idempotently and crash-safely; their metrics per version; signals runs score what arrived
// before them; and migration 3 over a v2 database. The drift rule is in live_drift_test.cc.
#include "jobs/live_scores.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "daemon/state_migrations.h"
#include "jobs/retrain_job.h"
#include "jobs/signals_job.h"
#include "tests/jobs/live_scores_test_util.h"

namespace mlcron {
namespace {

using testing::At;
using ::testing::ElementsAre;
using ::testing::FloatEq;

using LiveScores = testing::LiveScoresFixture;

TEST_F(LiveScores, ScoresEachArrivedKeyOnceWithItsLatestSignal) {
  const std::int64_t v = AddVersion("A", "log_loss", 0.5);
  CreateOldSignalsTable();
  Signal("1", v, "2024-03-01T09:55:00Z", 0.6);
  Signal("1", v, "2024-03-02T09:55:00Z", 0.8);  // the latest signal of key 1
  Signal("2", v, "2024-03-01T09:55:00Z", 0.3);
  Signal("3", v, "2024-03-02T09:55:00Z", 0.5);
  Signal("1", v, "2024-03-02T09:55:00Z", 0.9, "other");  // another model's signal
  Label(1, 1);
  Label(2, 0);
  Label(3, NAN);

  Result<LiveScoringStats> stats = Score(3);
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->scored, 2);
  EXPECT_EQ(stats->awaiting, 1);
  const std::string vs = std::to_string(v);
  EXPECT_THAT(LiveRows(),
              ElementsAre("m|A|1|" + vs + "|2024-03-02T09:55:00Z|2024-03-03T00:00:00Z|1.0|[0.8]",
                          "m|A|2|" + vs + "|2024-03-01T09:55:00Z|2024-03-03T00:00:00Z|0.0|[0.3]"));
  EXPECT_THAT(Marks(), ElementsAre("m|1|2024-03-01T09:55:00Z|2024-03-03T00:00:00Z",
                                   "m|1|2024-03-02T09:55:00Z|2024-03-03T00:00:00Z",
                                   "m|2|2024-03-01T09:55:00Z|2024-03-03T00:00:00Z",
                                   "m|3|2024-03-02T09:55:00Z|-", "other|1|2024-03-02T09:55:00Z|-"));
  // The old table gained the column and the partial index.
  EXPECT_THAT(Rows(*data_, "SELECT sql FROM sqlite_master WHERE name = 'signals_mlcron_live'"),
              ElementsAre("CREATE INDEX \"signals_mlcron_live\" ON \"signals\" (model, key) WHERE "
                          "live_scored_at IS NULL"));

  // Again: nothing new.
  stats = Score(4);
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->scored, 0);
  EXPECT_EQ(stats->awaiting, 1);
  EXPECT_EQ(LiveRows().size(), 2u);

  // Key 3's label arrives; key 1 is signalled again after its label: it is never rescored,
  // only marked.
  Label(3, 1);
  Signal("1", v, "2024-03-04T09:55:00Z", 0.1);
  stats = Score(5);
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->scored, 1);
  EXPECT_EQ(stats->awaiting, 0);
  EXPECT_THAT(LiveRows(),
              ElementsAre("m|A|1|" + vs + "|2024-03-02T09:55:00Z|2024-03-03T00:00:00Z|1.0|[0.8]",
                          "m|A|2|" + vs + "|2024-03-01T09:55:00Z|2024-03-03T00:00:00Z|0.0|[0.3]",
                          "m|A|3|" + vs + "|2024-03-02T09:55:00Z|2024-03-05T00:00:00Z|1.0|[0.5]"));
  EXPECT_EQ(Marks()[5], "m|1|2024-03-04T09:55:00Z|2024-03-05T00:00:00Z");
}

TEST_F(LiveScores, NoSignalsTableMeansNothingToScore) {
  Result<LiveScoringStats> stats = Score(3);
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->scored, 0);
  EXPECT_EQ(stats->awaiting, 0);
}

TEST_F(LiveScores, AnOutputThatIsNotASignalsTableIsRefused) {
  ASSERT_TRUE(data_->Exec("CREATE TABLE signals (key TEXT, label REAL)").ok());
  Result<LiveScoringStats> stats = Score(3);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(), "data database " + dir_ +
                                 "/data.db: output table \"signals\" has no column "
                                 "\"segment\"; it is not a signals table (use another output "
                                 "name)");
}

// The process died after live_scores was committed and before the signals were marked: the
// next call marks them and stores no second row.
TEST_F(LiveScores, ACrashBetweenTheTwoTransactionsIsHarmless) {
  const std::int64_t v = AddVersion("A", "log_loss", 0.5);
  CreateOldSignalsTable();
  Signal("1", v, "2024-03-01T09:55:00Z", 0.8);
  Signal("2", v, "2024-03-01T09:55:00Z", 0.3);
  Label(1, 1);
  Label(2, 0);
  Live("1", v, "2024-03-01T09:55:00Z", 1, 0.8f);  // stored by the interrupted run

  Result<LiveScoringStats> stats = Score(3);
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->scored, 1);  // only key 2 is new
  EXPECT_EQ(stats->awaiting, 0);
  const std::string vs = std::to_string(v);
  EXPECT_THAT(
      LiveRows(),
      ElementsAre("m|A|1|" + vs + "|2024-03-01T09:55:00Z|2024-03-09T00:00:00Z|1.0|[0.800000]",
                  "m|A|2|" + vs + "|2024-03-01T09:55:00Z|2024-03-03T00:00:00Z|0.0|[0.3]"));
  EXPECT_THAT(Marks(), ElementsAre("m|1|2024-03-01T09:55:00Z|2024-03-03T00:00:00Z",
                                   "m|2|2024-03-01T09:55:00Z|2024-03-03T00:00:00Z"));
}

TEST_F(LiveScores, SummaryHasTheLogLossOfTheScoredRows) {
  const std::int64_t v = AddVersion("A", "log_loss", 0.5);
  CreateOldSignalsTable();
  Signal("1", v, "2024-03-01T09:55:00Z", 0.8);
  Signal("2", v, "2024-03-02T09:55:00Z", 0.3);
  Signal("3", v, "2024-03-03T09:55:00Z", 0.5);
  Label(1, 1);
  Label(2, 0);
  Label(3, 1);
  ASSERT_TRUE(Score(4).ok());

  auto sums = SummarizeLive(*registry_, *config_->FindModel("m"), std::nullopt);
  ASSERT_TRUE(sums.ok()) << sums.message();
  ASSERT_EQ(sums->size(), 1u);
  const LiveSummary& s = sums->front();
  EXPECT_EQ(s.segment, "A");
  EXPECT_EQ(s.version, v);
  EXPECT_EQ(s.status, "production");
  EXPECT_EQ(s.rows, 3);
  EXPECT_EQ(s.first_signal, "2024-03-01T09:55:00Z");
  EXPECT_EQ(s.last_signal, "2024-03-03T09:55:00Z");
  // -(ln 0.8 + ln 0.7 + ln 0.5) / 3, the probabilities being floats
  EXPECT_NEAR(s.metrics.at("log_loss"), 0.4243218, 1e-6);
  EXPECT_DOUBLE_EQ(s.metrics.at("accuracy"), 2.0 / 3);  // 0.5 is not > 0.5
  EXPECT_EQ(s.holdout, 0.5);

  auto other = SummarizeLive(*registry_, *config_->FindModel("m"), std::string("B"));
  ASSERT_TRUE(other.ok()) << other.message();
  EXPECT_TRUE(other->empty());

  auto newest = ReadLiveScores(*registry_, "m", LiveQuery{std::nullopt, v, 2});
  ASSERT_TRUE(newest.ok()) << newest.message();
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_EQ((*newest)[0].key, "2");
  EXPECT_EQ((*newest)[1].key, "3");
  EXPECT_THAT((*newest)[1].prediction, ElementsAre(FloatEq(0.5f)));
}

// ScoreSignals scores what arrived before it appends, so this run's signals wait.
TEST_F(LiveScores, SignalsRunsScoreEarlierSignalsWhoseLabelsArrived) {
  AddRows("A", 0, 30, 10);
  RetrainRequest retrain;
  retrain.now = At(1);
  std::ostringstream log;
  retrain.out = &log;
  ASSERT_TRUE(RetrainModel(*config_, *config_->FindModel("m"), *data_, *registry_, retrain).ok());
  const std::int64_t v = registry_->Production("m", "A")->value().id;
  AddRows("A", 31, 1, 3, /*labelled=*/false);  // ids 301..303

  SignalsRequest request;
  request.input = "SELECT id, seg, day, f0, f1, f2 FROM m WHERE y IS NULL";
  request.output = "signals";
  request.now = At(2);
  request.scheduled = "2024-03-02T09:55:00Z";
  auto first = ScoreSignals(*config_->FindModel("m"), *data_, *registry_, request);
  ASSERT_TRUE(first.ok()) << first.message();
  EXPECT_EQ(first->scored, 3);
  EXPECT_EQ(first->live.scored, 0);
  EXPECT_EQ(first->live.awaiting, 3);

  ASSERT_TRUE(data_->Exec("UPDATE m SET y = 1 WHERE id IN (301, 302)").ok());
  request.now = At(3);
  request.scheduled = "2024-03-03T09:55:00Z";
  auto second = ScoreSignals(*config_->FindModel("m"), *data_, *registry_, request);
  ASSERT_TRUE(second.ok()) << second.message();
  EXPECT_EQ(second->scored, 1);
  EXPECT_EQ(second->live.scored, 2);
  EXPECT_EQ(second->live.awaiting, 1);

  auto live = ReadLiveScores(*registry_, "m");
  ASSERT_TRUE(live.ok()) << live.message();
  ASSERT_EQ(live->size(), 2u);
  SqliteStatement p1 = data_->Prepare(
      "SELECT p_1 FROM signals WHERE key = '301' AND scheduled = '2024-03-02T09:55:00Z'");
  ASSERT_TRUE(*p1.Step());
  EXPECT_EQ((*live)[0].key, "301");
  EXPECT_EQ((*live)[0].segment, "A");
  EXPECT_EQ((*live)[0].version, v);
  EXPECT_EQ((*live)[0].signal_at, "2024-03-02T09:55:00Z");
  EXPECT_EQ((*live)[0].scored_at, "2024-03-03T00:00:00Z");
  EXPECT_EQ((*live)[0].label, 1.0f);
  EXPECT_THAT((*live)[0].prediction, ElementsAre(static_cast<float>(p1.Double(0))));
  EXPECT_EQ((*live)[1].key, "302");
}

// A database from before live scoring: migration 3 adds live_scores and keeps every version.
TEST(LiveScoresMigration, AVersionTwoDatabaseKeepsItsVersions) {
  char tmpl[] = "/tmp/mlcron-live-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  Config config;
  config.state_dir = tmpl;
  const std::string path = config.state_dir + "/mlcron.db";
  {
    auto raw = SqliteDb::Open(path, "state database", std::chrono::seconds(1));
    ASSERT_TRUE(raw.ok()) << raw.message();
    ASSERT_EQ(*ApplyMigrations(**raw, StateMigrations().first(2)), 2);
    ASSERT_TRUE((*raw)
                    ->Exec("INSERT INTO model_versions (model, segment, kind, file, sha256, "
                           "status, created_at) VALUES ('m', 'A', 'full', '/f.ubj', 'ab', "
                           "'production', 1)")
                    .ok());
  }
  {
    auto registry = Registry::Open(config);
    ASSERT_TRUE(registry.ok()) << registry.message();
    EXPECT_EQ(*UserVersion((*registry)->db()), LatestStateSchemaVersion());
    auto v = (*registry)->Get(1);
    ASSERT_TRUE(v.ok() && v->has_value()) << v.message();
    EXPECT_EQ((*v)->status, "production");
    auto live = ReadLiveScores(**registry, "m");
    ASSERT_TRUE(live.ok()) << live.message();
    EXPECT_TRUE(live->empty());
  }
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace mlcron
