// `mlcron models live` as the real binary on the import → features → retrain → signals
// pipeline: nothing before labels arrive; after they do, the signals job's log line and each
// version's live log loss, accuracy and holdout, in the table and in the JSON, checked against
// values computed here from the signals table and the labels.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "daemon/time_format.h"
#include "jobs/registry.h"
#include "tests/integration/pipeline_test_util.h"

namespace mlcron {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using json = nlohmann::json;

using CliModelsLiveTest = testing::PipelineTest;

std::vector<std::string> Tokens(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string t; in >> t;) out.push_back(t);
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// What one version's live row should show, computed from the data database.
struct Expected {
  std::int64_t rows = 0;
  double log_loss = 0;
  double accuracy = 0;
  std::string scheduled;
  double holdout = 0;
};

TEST_F(CliModelsLiveTest, ShowsEachVersionsLiveMetricsOnceLabelsArrive) {
  WriteData();
  WriteConfig(testing::kTiers,
              std::string(testing::kModels) + "    drift: {max_degradation: 0.05, window: 200}\n");
  testing::RunResult all = MlcronC({"run", "--all"});
  ASSERT_EQ(all.exit_code, 0) << all << Log("predict");
  EXPECT_THAT(Log("predict"),
              HasSubstr("live: scored 0 signals whose labels arrived (10 awaiting)"));

  testing::RunResult none = MlcronC({"models", "live", "m"});
  ASSERT_EQ(none.exit_code, 0) << none;
  EXPECT_EQ(none.out,
            "no live scores yet for model m (the signals job scores a signal once its label "
            "arrives)\n");
  EXPECT_EQ(MlcronC({"models", "live", "m", "--json"}).out, "[]\n");

  // The ten signalled rows get their results.
  {
    auto db = SqliteDb::Open((state_dir() / "data.db").string(), "data", std::chrono::seconds(5));
    ASSERT_TRUE(db.ok()) << db.message();
    ASSERT_TRUE((*db)->Exec("UPDATE feats SET y = (id % 4 < 2) WHERE y IS NULL").ok());
  }
  testing::RunResult predict = MlcronC({"run", "predict"});
  ASSERT_EQ(predict.exit_code, 0) << predict << Log("predict");
  EXPECT_THAT(Log("predict"),
              HasSubstr("live: scored 10 signals whose labels arrived (0 awaiting)"));

  // Expected values per segment, from the signals and labels.
  std::map<std::string, Expected> want;
  std::map<std::string, std::int64_t> version;
  {
    auto db = SqliteDb::Open((state_dir() / "data.db").string(), "data", std::chrono::seconds(5));
    ASSERT_TRUE(db.ok()) << db.message();
    SqliteStatement st = (*db)->Prepare(
        "SELECT s.segment, s.version, s.p_1, f.y, s.scheduled FROM signals s JOIN feats f "
        "ON f.id = s.key");
    while (*st.Step()) {
      Expected& e = want[st.Text(0)];
      version[st.Text(0)] = st.Int64(1);
      const double p = static_cast<float>(st.Double(2));
      const double y = st.Double(3);
      e.rows += 1;
      e.log_loss -= y == 1 ? std::log(p) : std::log(1 - p);
      e.accuracy += (p > 0.5) == (y == 1) ? 1 : 0;
      e.scheduled = st.Text(4);
    }
  }
  ASSERT_EQ(want.size(), 2u);
  Config config;
  config.state_dir = state_dir().string();
  auto registry = Registry::Open(config);
  ASSERT_TRUE(registry.ok()) << registry.message();
  for (auto& [segment, e] : want) {
    e.log_loss /= static_cast<double>(e.rows);
    e.accuracy /= static_cast<double>(e.rows);
    auto v = (*registry)->Get(version[segment]);
    ASSERT_TRUE(v.ok() && v->has_value()) << v.message();
    e.holdout = json::parse((*v)->metrics_json)["holdout"]["log_loss"].get<double>();
    auto utc = FindZone("UTC");
    ASSERT_TRUE(utc.ok());
    e.scheduled = FormatInstant(*ParseInstant(e.scheduled, *utc), *utc);
  }
  EXPECT_EQ(want["A"].rows, 5);
  EXPECT_EQ(want["B"].rows, 5);

  testing::RunResult table = MlcronC({"models", "live", "m"});
  ASSERT_EQ(table.exit_code, 0) << table;
  const std::vector<std::string> lines = Lines(table.out);
  ASSERT_EQ(lines.size(), 5u) << table.out;
  EXPECT_EQ(lines[0],
            "m: log_loss of the signals scored once their labels arrived, against each "
            "version's holdout");
  EXPECT_THAT(Tokens(lines[1]),
              ElementsAre("SEGMENT", "VERSION", "STATUS", "ROWS", "FIRST", "SIGNAL", "LAST",
                          "SIGNAL", "LOG_LOSS", "HOLDOUT", "CHANGE", "ACCURACY"));
  int line = 2;
  for (const auto& [segment, e] : want) {
    SCOPED_TRACE(segment);
    EXPECT_THAT(
        Tokens(lines[line++]),
        ElementsAreArray(std::vector<std::string>{
            segment, std::to_string(version[segment]), "production", "5", e.scheduled, e.scheduled,
            fmt::format("{:.4f}", e.log_loss), fmt::format("{:.4f}", e.holdout),
            fmt::format("{:+.1f}%", (e.log_loss - e.holdout) / e.holdout * 100),
            fmt::format("{:.4f}", e.accuracy)}));
  }
  EXPECT_EQ(lines[4],
            "drift rule: production's log_loss over its last 200 rows worse than holdout by more "
            "than 5% → full retrain");

  testing::RunResult js = MlcronC({"models", "live", "m", "--segment", "B", "--json"});
  ASSERT_EQ(js.exit_code, 0) << js;
  const json out = json::parse(js.out);
  ASSERT_EQ(out.size(), 1u) << js.out;
  const Expected& b = want["B"];
  EXPECT_EQ(out[0]["model"], "m");
  EXPECT_EQ(out[0]["segment"], "B");
  EXPECT_EQ(out[0]["version"], version["B"]);
  EXPECT_EQ(out[0]["status"], "production");
  EXPECT_EQ(out[0]["rows"], 5);
  EXPECT_EQ(out[0]["first_signal"], b.scheduled);
  EXPECT_EQ(out[0]["last_signal"], b.scheduled);
  EXPECT_EQ(out[0]["metric"], "log_loss");
  EXPECT_NEAR(out[0]["live"].get<double>(), b.log_loss, 1e-9);
  EXPECT_EQ(out[0]["holdout"].get<double>(), b.holdout);
  EXPECT_NEAR(out[0]["change"].get<double>(), (b.log_loss - b.holdout) / b.holdout, 1e-9);
  EXPECT_NEAR(out[0]["metrics"]["accuracy"].get<double>(), b.accuracy, 1e-12);
  EXPECT_EQ(out[0]["metrics"].size(), 5u) << out[0]["metrics"].dump();  // and brier, ece, roc_auc

  testing::RunResult unknown = MlcronC({"models", "live", "nope"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("mlcron models live: no model \"nope\""));
}

}  // namespace
}  // namespace mlcron
