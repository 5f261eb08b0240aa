// `mlcron models history` run as the real binary against a registry prepared through the
// Registry API: the per-segment tables, the JSON with production periods, the SVG plot, and
// the errors (several segments for --plot, unknown model, nothing trained).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "jobs/registry.h"
#include "tests/integration/cli_test_util.h"

namespace mlcron::testing {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::int64_t kJuly1 = 1'719'835'200;  // 2024-07-01T12:00:00Z, 13:00 in London
constexpr std::int64_t kDay = 86400;

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class CliModelsHistoryTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    WriteFile(config_path(),
              "timezone: Europe/London\n"
              "state_dir: ./state\n"
              "data: ./state/data.db\n"
              "models:\n"
              "  result:\n"
              "    table: match_features\n"
              "    key: match_id\n"
              "    time: date\n"
              "    label: result\n"
              "    features: [home_form, away_form]\n"
              "    segment_by: division\n"
              "    objective: multi:softprob\n"
              "  goals:\n"
              "    table: goal_features\n"
              "    key: match_id\n"
              "    time: t\n"
              "    label: goals\n"
              "    features: [home_form]\n"
              "    objective: count:poisson\n"
              "tiers:\n"
              "  - {tier: 1, name: t, every: 1h, jobs: [{name: a, argv: [/bin/true]}]}\n",
              fs::perms::owner_read | fs::perms::owner_write);
  }

  // result/E0: a full (promoted), a rejected incremental, a promoted incremental and a full
  // candidate without metrics; result/SP1: one full; goals (unsegmented): one full.
  void Prepare() {
    Config config;
    config.state_dir = state_dir().string();
    auto registry = Registry::Open(config);
    ASSERT_TRUE(registry.ok()) << registry.message();
    auto add = [&](const std::string& model, const std::string& segment, const std::string& kind,
                   std::int64_t created_at, const std::string& metrics, bool promote,
                   const std::string& status = "") {
      ModelVersion v;
      v.model = model;
      v.segment = segment;
      v.kind = kind;
      v.trees = kind == "full" ? 300 : 330;
      v.rows = kind == "full" ? 1200 : 150;
      v.holdout_from = SqlValue::Text("2017-05-22");
      v.holdout_to = SqlValue::Text("2017-05-28");
      v.file = "/m/" + std::to_string(created_at) + ".ubj";
      v.sha256 = "ab" + std::to_string(created_at);
      v.created_at = created_at;
      v.status = status;
      v.metrics_json = metrics;
      ASSERT_TRUE((*registry)->AddVersion(v, promote, "retrain_" + model).ok());
    };
    const auto log_loss = [](const std::string& v) {
      return R"({"holdout": {"log_loss": )" + v +
             R"(, "accuracy": 0.5}, "production_holdout": null, "baseline": {"log_loss": 1.09}})";
    };
    add("result", "E0", "full", kJuly1, log_loss("0.95"), true);                             // 1
    add("result", "E0", "incremental", kJuly1 + kDay, log_loss("0.97"), false, "rejected");  // 2
    add("result", "E0", "incremental", kJuly1 + 2 * kDay, log_loss("0.9"), true);            // 3
    add("result", "SP1", "full", kJuly1 + 2 * kDay, log_loss("0.5"), true);                  // 4
    add("result", "E0", "full", kJuly1 + 3 * kDay, "{}", false);                             // 5
    add("goals", "", "full", kJuly1, R"({"holdout": {"poisson_deviance": 1.25}})", true);    // 6
  }
};

TEST_F(CliModelsHistoryTest, OneTablePerSegmentOldestFirst) {
  Prepare();
  RunResult r = MlcronC({"models", "history", "result"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(
      Lines(r.out),
      ElementsAre(
          "result [E0]: log_loss on each version's holdout, oldest first",
          "ID  CREATED                    KIND         STATUS      TREES  ROWS  HOLDOUT         "
          "          LOG_LOSS",
          "1   2024-07-01T13:00:00+01:00  full         archived    300    1200  2017-05-22 .. "
          "2017-05-28  0.9500",
          "2   2024-07-02T13:00:00+01:00  incremental  rejected    330    150   2017-05-22 .. "
          "2017-05-28  0.9700",
          "3   2024-07-03T13:00:00+01:00  incremental  production  330    150   2017-05-22 .. "
          "2017-05-28  0.9000    *",
          "5   2024-07-04T13:00:00+01:00  full         candidate   300    1200  2017-05-22 .. "
          "2017-05-28  -",
          "* = production now", "",
          "result [SP1]: log_loss on each version's holdout, oldest first",
          "ID  CREATED                    KIND  STATUS      TREES  ROWS  HOLDOUT                 "
          "  LOG_LOSS",
          "4   2024-07-03T13:00:00+01:00  full  production  300    1200  2017-05-22 .. 2017-05-28 "
          " 0.5000    *",
          "* = production now"));

  r = MlcronC({"models", "history", "goals"});
  EXPECT_EQ(r.exit_code, 0) << r;
  ASSERT_EQ(Lines(r.out).size(), 4u) << r.out;
  EXPECT_EQ(Lines(r.out)[0], "goals: poisson_deviance on each version's holdout, oldest first");
  EXPECT_THAT(Lines(r.out)[2], ::testing::EndsWith("  1.2500            *"));
}

TEST_F(CliModelsHistoryTest, JsonHasTheFieldsAndProductionPeriods) {
  Prepare();
  RunResult r = MlcronC({"models", "history", "result", "--segment", "E0", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.err, "");
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << r;
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[0], json({{"id", 1},
                        {"model", "result"},
                        {"segment", "E0"},
                        {"created", "2024-07-01T13:00:00+01:00"},
                        {"created_at", kJuly1},
                        {"kind", "full"},
                        {"status", "archived"},
                        {"trees", 300},
                        {"rows", 1200},
                        {"holdout_from", "2017-05-22"},
                        {"holdout_to", "2017-05-28"},
                        {"metric", "log_loss"},
                        {"value", 0.95},
                        {"production", false},
                        {"production_periods", json::array({{{"from", "2024-07-01T13:00:00+01:00"},
                                                             {"to", "2024-07-03T13:00:00+01:00"},
                                                             {"action", "promote"}}})}}));
  EXPECT_EQ(j[1]["status"], "rejected");
  EXPECT_EQ(j[1]["value"], 0.97);
  EXPECT_EQ(j[1]["production_periods"], json::array());
  EXPECT_EQ(j[2]["production"], true);
  EXPECT_EQ(j[2]["production_periods"],
            json::array(
                {{{"from", "2024-07-03T13:00:00+01:00"}, {"to", nullptr}, {"action", "promote"}}}));
  EXPECT_EQ(j[3]["id"], 5);
  EXPECT_EQ(j[3]["value"], nullptr);

  // Without --segment: every segment's versions in one array.
  r = MlcronC({"models", "history", "result", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r;
  j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << r;
  std::vector<std::string> ids;
  for (const auto& v : j) ids.push_back(v["segment"].get<std::string>() + ":" + v["id"].dump());
  EXPECT_THAT(ids, ElementsAre("E0:1", "E0:2", "E0:3", "E0:5", "SP1:4"));
}

TEST_F(CliModelsHistoryTest, PlotWritesOneSegmentAsSvg) {
  Prepare();
  const fs::path plot = dir() / "plots" / "e0.svg";
  RunResult r =
      MlcronC({"models", "history", "result", "--segment", "E0", "--plot", plot.string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.err, "");
  ASSERT_GE(Lines(r.out).size(), 1u);
  EXPECT_EQ(Lines(r.out).back(), "plot written to " + plot.string());
  const std::string svg = ReadFile(plot);
  EXPECT_THAT(svg, ::testing::StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "));
  EXPECT_THAT(svg, ::testing::EndsWith("</svg>\n"));
  EXPECT_THAT(svg, HasSubstr("<title>model result [E0]: log_loss per version</title>"));
  EXPECT_EQ(Count(svg, "class=\"version full\""), 1u);  // version 5 has no log_loss
  EXPECT_EQ(Count(svg, "class=\"version incremental\""), 2u);
  EXPECT_EQ(Count(svg, "<rect class=\"production\""), 2u);
  EXPECT_EQ(Count(svg, "<path class=\"rejected\""), 1u);
  EXPECT_EQ(Count(svg, "<polyline class=\"trend\""), 1u);
  EXPECT_THAT(svg, HasSubstr(">1 version without log_loss not drawn</text>"));
  EXPECT_THAT(svg, HasSubstr("created 2024-07-03T13:00:00+01:00</title>"));  // config's zone
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir() / "plots")) files.push_back(e.path().string());
  EXPECT_THAT(files, ElementsAre(plot.string()));  // no temporary file left behind

  // JSON and the plot together: stdout stays pure JSON.
  r = MlcronC({"models", "history", "goals", "--json", "--plot", plot.string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(json::parse(r.out, nullptr, false).is_array()) << r;
  EXPECT_THAT(ReadFile(plot),
              HasSubstr("<title>model goals: poisson_deviance per version</title>"));
}

TEST_F(CliModelsHistoryTest, PlotNeedsOneSegment) {
  Prepare();
  const fs::path plot = dir() / "all.svg";
  RunResult r = MlcronC({"models", "history", "result", "--plot", plot.string()});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "mlcron models history: --plot draws one segment and model result has 2: E0, SP1 "
            "(add --segment S)\n");
  EXPECT_FALSE(fs::exists(plot));
}

TEST_F(CliModelsHistoryTest, UnknownModelSegmentAndNothingTrained) {
  RunResult r = MlcronC({"models", "history", "result"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "no versions of model result (no models trained yet)\n");
  r = MlcronC({"models", "history", "result", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "[]\n");
  r = MlcronC({"models", "history", "result", "--plot", (dir() / "x.svg").string()});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err,
            "mlcron models history: no versions of model result (no models trained yet): "
            "nothing to plot\n");
  EXPECT_FALSE(fs::exists(state_dir()));

  Prepare();
  r = MlcronC({"models", "history", "result", "--segment", "D1"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "no versions of model result in segment D1 (segments with versions: E0, SP1)\n");
  r = MlcronC({"models", "history", "nope"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_EQ(r.err, "mlcron models history: no model \"nope\" in " + config_path().string() + "\n");
  r = MlcronC({"models", "history"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("model"));
}

}  // namespace
}  // namespace mlcron::testing
