// The fixture of the live-score tests: RetrainFixture's model m over table m, with hand-made
// registry versions, signals rows, labels and live_scores rows whose values the tests know.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "jobs/live_scores.h"
#include "tests/jobs/retrain_test_util.h"

namespace mlcron::testing {

inline std::chrono::system_clock::time_point At(int day, int hour = 0) {
  return std::chrono::sys_days(std::chrono::year(2024) / 3 / day) + std::chrono::hours(hour);
}

class LiveScoresFixture : public RetrainFixture {
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

// p with -ln p = loss.
inline float P(double loss) { return static_cast<float>(std::exp(-loss)); }

}  // namespace mlcron::testing
