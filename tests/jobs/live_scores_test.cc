// Live scores: signals whose labels arrive later are scored once, with the latest signal,
// idempotently and crash-safely; their metrics per version; the drift rule's threshold and
// reason, and the retrain decision it forces; signals runs score what arrived before them;
// and migration 3 over a v2 database.
#include "jobs/live_scores.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "daemon/state_migrations.h"
#include "jobs/fingerprint.h"
#include "jobs/retrain_job.h"
#include "jobs/retrain_plan.h"
#include "jobs/signals_job.h"
#include "jobs/xgb_booster.h"
#include "tests/jobs/retrain_test_util.h"

namespace mlcron {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatEq;

std::chrono::system_clock::time_point At(int day, int hour = 0) {
  return std::chrono::sys_days(std::chrono::year(2024) / 3 / day) + std::chrono::hours(hour);
}

class LiveScores : public testing::RetrainFixture {
 protected:
  // A production version of m/<segment> with `holdout` as its holdout metric `metric`.
  std::int64_t AddVersion(const std::string& segment, const std::string& metric, double holdout,
                          bool promote = true) {
    ModelVersion v;
    v.model = "m";
    v.segment = segment;
    v.kind = "full";
    v.objective = "binary:logistic";
    v.file = "/m/" + std::to_string(++versions_) + ".ubj";
    v.sha256 = "ab";
    v.created_at = 1'700'000'000 + versions_;
    v.metrics_json = "{\"holdout\": {\"" + metric + "\": " + std::to_string(holdout) +
                     "}, \"baseline\": {}, \"production_holdout\": null}";
    auto id = registry_->AddVersion(v, promote, "test");
    EXPECT_TRUE(id.ok()) << id.message();
    return id.ok() ? *id : 0;
  }

  // A signals table as ScoreSignals wrote it before live scoring existed (no live_scored_at).
  void CreateOldSignalsTable() {
    ASSERT_TRUE(data_
                    ->Exec("CREATE TABLE signals (key TEXT, segment TEXT, model TEXT, version "
                           "INTEGER, prediction REAL, scheduled TEXT, run_at TEXT, run_id TEXT, "
                           "p_0 REAL, p_1 REAL)")
                    .ok());
  }
  void Signal(const std::string& key, std::int64_t version, const std::string& scheduled, double p1,
              const std::string& model = "m") {
    SqliteStatement st = data_->Prepare(
        "INSERT INTO signals (key, segment, model, version, prediction, scheduled, run_at, "
        "run_id, p_0, p_1) VALUES (?1, 'A', ?2, ?3, ?4, ?5, ?5, '1', ?6, ?4)");
    st.Bind(1, std::string_view(key))
        .Bind(2, std::string_view(model))
        .Bind(3, version)
        .Bind(4, p1)
        .Bind(5, std::string_view(scheduled))
        .Bind(6, 1 - p1);
    ASSERT_TRUE(st.Run().ok());
  }
  // Rows of m: id, label (NaN = NULL).
  void Label(int id, double y) {
    SqliteStatement st = data_->Prepare(
        "INSERT OR REPLACE INTO m (id, seg, day, y, f0, f1, f2) VALUES (?1, 'A', '2024-03-01', "
        "?2, 0, 0, 0)");
    st.Bind(1, id);
    if (std::isnan(y)) {
      st.BindNull(2);
    } else {
      st.Bind(2, y);
    }
    ASSERT_TRUE(st.Run().ok());
  }
  std::vector<std::string> Rows(SqliteDb& db, const std::string& sql) {
    std::vector<std::string> out;
    SqliteStatement st = db.Prepare(sql);
    for (;;) {
      Result<bool> row = st.Step();
      EXPECT_TRUE(row.ok()) << row.message();
      if (!row.ok() || !*row) break;
      out.push_back(st.Text(0));
    }
    return out;
  }
  std::vector<std::string> LiveRows() {
    return Rows(registry_->db(),
                "SELECT model || '|' || segment || '|' || key || '|' || version || '|' || "
                "signal_at || '|' || scored_at || '|' || label || '|' || prediction FROM "
                "live_scores ORDER BY key");
  }
  std::vector<std::string> Marks() {
    return Rows(*data_,
                "SELECT model || '|' || key || '|' || scheduled || '|' || "
                "ifnull(live_scored_at, '-') FROM signals ORDER BY rowid");
  }
  Result<LiveScoringStats> Score(int day) {
    return ScoreArrivedLabels(*config_->FindModel("m"), *data_, *registry_, "signals", At(day));
  }
  // A live row stored directly: label 1 with P(1) = p, so its log loss is -ln p.
  void Live(const std::string& key, std::int64_t version, const std::string& signal_at,
            double label, float p) {
    SqliteStatement st = registry_->db().Prepare(
        "INSERT INTO live_scores VALUES ('m', 'A', ?1, ?2, ?3, '2024-03-09T00:00:00Z', ?4, ?5)");
    st.Bind(1, std::string_view(key))
        .Bind(2, version)
        .Bind(3, std::string_view(signal_at))
        .Bind(4, label)
        .Bind(5, std::string_view("[" + std::to_string(p) + "]"));
    ASSERT_TRUE(st.Run().ok());
  }
  void LoadDrift(const std::string& drift, const std::string& metric = "") {
    Load(ModelYaml("[f0, f1, f2]", "    drift: " + drift + "\n" +
                                       (metric.empty() ? "" : "    metric: " + metric + "\n")));
  }

  int versions_ = 0;
};

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

// p with -ln p = loss.
float P(double loss) { return static_cast<float>(std::exp(-loss)); }

TEST_F(LiveScores, DriftFiresOnlyBeyondTheThresholdOverAFullWindow) {
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

TEST_F(LiveScores, DriftOfAHigherIsBetterMetricIsAFall) {
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
TEST_F(LiveScores, PlanTurnsLiveDriftIntoAFullRetrain) {
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
    auto plans = PlanModel(*data_, *registry_, model, fp, request);
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
    EXPECT_EQ(*UserVersion((*registry)->db()), 3);
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
