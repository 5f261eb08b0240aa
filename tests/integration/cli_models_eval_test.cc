// `mlcron models evaluate|compare` run as the real binary on versions the real retrain job
// trained (`mlcron run`): the JSON and the table, the predictions file, and every error with
// its exit code.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/sqlite_db.h"
#include "tests/integration/cli_test_util.h"

namespace mlcron::testing {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kTiers = R"(  - tier: 1
    name: retrain
    at: "09:52"
    jobs:
      - {name: retrain_m, kind: retrain, model: m}
      - {name: retrain_n, kind: retrain, model: n}
)";

// Model m per segment on three features; model n over the same rows, unsegmented.
std::string Models(const std::string& m_features = "[f0, f1, fsum]") {
  return R"(data: ./state/data.db
models:
  m:
    table: feats
    key: id
    time: day
    label: y
    features: )" +
         m_features + R"(
    segment_by: seg
    objective: binary:logistic
    params: {max_depth: 2, nthread: 1}
    rounds: 10
    min_rows: 50
    incremental: {rounds: 3, min_new_rows: 50}
    holdout: {fraction: 0.2, min_rows: 10}
  n:
    table: feats
    key: id
    time: day
    label: y
    features: [f0, f1, fsum]
    objective: binary:logistic
    params: {max_depth: 2, nthread: 1}
    rounds: 10
    min_rows: 50
    holdout: {fraction: 0.2, min_rows: 10}
)";
}

class CliModelsEvalTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    WriteConfig(kTiers, Models());
    fs::create_directories(state_dir());
    auto db = SqliteDb::Open((state_dir() / "data.db").string(), "data", std::chrono::seconds(5));
    ASSERT_TRUE(db.ok()) << db.message();
    data_ = std::move(*db);
    ASSERT_TRUE(data_
                    ->Exec("CREATE TABLE feats (id INTEGER PRIMARY KEY, seg TEXT, day TEXT, "
                           "y REAL, f0 REAL, f1 REAL, fsum REAL)")
                    .ok());
    AddDays(1, 40);
  }

  // 5 rows per segment (A then B) for each day d of 2024 in [first, last]; ids go on from
  // the last ones. Segment A's rows of the first 40 days are ids 1..200, day d = 5d-4..5d.
  void AddDays(int first, int last) {
    for (const char* seg : {"A", "B"}) {
      for (int d = first; d <= last; ++d) {
        for (int i = 0; i < 5; ++i, ++id_) {
          const double f0 = ((id_ * 37) % 100) / 100.0, f1 = ((id_ * 61) % 100) / 100.0;
          const int y = (f0 + f1 > 1) != (id_ % 10 == 0);
          auto st =
              data_->Prepare("INSERT INTO feats VALUES (?, ?, date('2024-01-01', ?), ?, ?, ?, ?)");
          st.Bind(1, id_).Bind(2, std::string_view(seg));
          st.Bind(3, std::string_view("+" + std::to_string(d - 1) + " days"));
          st.Bind(4, static_cast<double>(y)).Bind(5, f0).Bind(6, f1).Bind(7, f0 + f1);
          ASSERT_TRUE(st.Run().ok());
        }
      }
    }
  }

  void Retrain(const std::string& job) {
    RunResult r = MlcronC({"run", job});
    ASSERT_EQ(r.exit_code, 0) << r << MlcronC({"logs", job}).out;
  }

  json Show(int version) {
    RunResult r = MlcronC({"models", "show", std::to_string(version), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r;
    return json::parse(r.out, nullptr, false);
  }

  std::unique_ptr<SqliteDb> data_;
  std::int64_t id_ = 1;
};

TEST_F(CliModelsEvalTest, EvaluatePrintsTheHoldoutMetrics) {
  Retrain("retrain_m");  // version 1: m [A], version 2: m [B]
  RunResult r = MlcronC({"models", "evaluate", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.err, "");
  json j = json::parse(r.out);
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["model"], "m");
  EXPECT_EQ(j["segment"], "A");
  EXPECT_EQ(j["rows"], 40);
  EXPECT_EQ(j["from"], "2024-02-02");
  EXPECT_EQ(j["to"], "2024-02-09");
  EXPECT_EQ(j["metric"], "log_loss");
  std::vector<std::string> names;
  for (const auto& [name, value] : j["metrics"].items()) names.push_back(name);
  EXPECT_THAT(names, ElementsAre("accuracy", "brier", "ece", "log_loss", "roc_auc"));
  EXPECT_GT(j["metrics"]["accuracy"].get<double>(), 0.6);

  RunResult table = MlcronC({"models", "evaluate", "1"});
  ASSERT_EQ(table.exit_code, 0) << table;
  std::vector<std::string> lines = Lines(table.out);
  ASSERT_EQ(lines.size(), 7u) << table.out;
  EXPECT_EQ(lines[0], "version 1 of m [A] on 40 labelled rows between 2024-02-02 and 2024-02-09");
  EXPECT_EQ(lines[1], "METRIC    VALUE");
  EXPECT_EQ(lines[2], "log_loss  " + fmt::format("{:.6f}", j["metrics"]["log_loss"].get<double>()) +
                          "  (primary)");
  EXPECT_THAT(lines[6], StartsWith("roc_auc   0."));
}

TEST_F(CliModelsEvalTest, EvaluateWritesPredictionsForAPeriod) {
  Retrain("retrain_m");
  const fs::path csv = dir() / "out" / "p.csv";
  RunResult r = MlcronC({"models", "evaluate", "2", "--from", "2024-01-03", "--to", "2024-01-04",
                         "--predictions", csv.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(json::parse(r.out)["rows"], 10);
  std::vector<std::string> lines = Lines(ReadFile(csv));
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_EQ(lines[0], "key,label,p_0,p_1");
  // Segment B's days 3 and 4 are ids 211..220.
  for (int i = 1; i <= 10; ++i) {
    EXPECT_THAT(lines[static_cast<size_t>(i)], StartsWith(std::to_string(210 + i) + ","));
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir() / "out"), fs::directory_iterator()), 1)
      << "no temporary file is left";
}

TEST_F(CliModelsEvalTest, CompareScoresBothOnTheNewerHoldout) {
  Retrain("retrain_m");
  AddDays(41, 55);  // 75 new rows per segment ≥ 50: incremental versions 3 (A) and 4 (B)
  Retrain("retrain_m");
  json v3 = Show(3);
  ASSERT_EQ(v3["kind"], "incremental");
  ASSERT_EQ(v3["segment"], "A");
  RunResult r = MlcronC({"models", "compare", "1", "3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  json j = json::parse(r.out);
  EXPECT_EQ(j["model"], "m");
  EXPECT_EQ(j["segment"], "A");
  EXPECT_EQ(j["rows"], v3["holdout_rows"]);
  EXPECT_EQ(j["from"], v3["holdout_from"]);
  EXPECT_EQ(j["to"], v3["holdout_to"]);
  EXPECT_EQ(j["a"]["version"], 1);
  EXPECT_EQ(j["b"]["version"], 3);
  const double a = j["a"]["metrics"]["log_loss"], b = j["b"]["metrics"]["log_loss"];
  ASSERT_NE(a, b);
  EXPECT_EQ(j["winner"], b < a ? 3 : 1);
  EXPECT_DOUBLE_EQ(j["b_over_a"].get<double>(), (a - b) / a);

  RunResult table = MlcronC({"models", "compare", "1", "3"});
  ASSERT_EQ(table.exit_code, 0) << table;
  std::vector<std::string> lines = Lines(table.out);
  ASSERT_EQ(lines.size(), 8u) << table.out;
  EXPECT_THAT(lines[0], StartsWith("m [A] on " + std::to_string(j["rows"].get<int>()) +
                                   " labelled rows between "));
  EXPECT_EQ(lines[1], "METRIC    VERSION 1  VERSION 3");
  const int winner = j["winner"], loser = winner == 3 ? 1 : 3;
  const double w = winner == 3 ? b : a, l = winner == 3 ? a : b;
  EXPECT_EQ(lines[7], fmt::format("log_loss (primary): version {} is better by {:.1f}% ({:.6f} vs "
                                  "{:.6f})",
                                  winner, (l - w) / l * 100, w, l))
      << loser;
}

TEST_F(CliModelsEvalTest, Errors) {
  Retrain("retrain_m");
  Retrain("retrain_n");  // version 3: n
  auto expect_error = [&](std::vector<std::string> args, const std::string& err, int code = 1) {
    RunResult r = MlcronC(args);
    EXPECT_EQ(r.exit_code, code) << r;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, err);
  };
  expect_error({"models", "evaluate", "42"}, "mlcron models evaluate: no version 42\n");
  expect_error({"models", "evaluate", "1", "--from", "2030-01-01", "--to", "2030-02-01"},
               "mlcron models evaluate: no labelled rows of model m [A] between 2030-01-01 and "
               "2030-02-01\n");
  expect_error({"models", "evaluate", "1", "--from", "soon"},
               "mlcron models evaluate: --from \"soon\": \"soon\" is not a time (expected "
               "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], with an optional Z or +HH:MM offset)\n",
               2);
  expect_error({"models", "compare", "1", "3"},
               "mlcron models compare: version 1 is of m [A] but version 3 is of n: compare needs "
               "two versions of the same model and segment\n");
  expect_error({"models", "compare", "1", "2"},
               "mlcron models compare: version 1 is of m [A] but version 2 is of m [B]: compare "
               "needs two versions of the same model and segment\n");

  // A model file changed after it was registered is never scored.
  const std::string file = Show(3)["file"];
  std::ofstream(file, std::ios::binary | std::ios::app) << "x";
  RunResult tampered = MlcronC({"models", "evaluate", "3"});
  EXPECT_EQ(tampered.exit_code, 1) << tampered;
  EXPECT_THAT(tampered.err, StartsWith("mlcron models evaluate: model file " + file +
                                       ": SHA-256 mismatch (registered "));

  // m on two features: a full retrain gives versions 4 (A) and 5 (B) of another contract,
  // once enough unseen rows have come for its holdout.
  AddDays(41, 55);
  WriteConfig(kTiers, Models("[f0, f1]"));
  Retrain("retrain_m");
  ASSERT_EQ(Show(4)["features"], json::array({"f0", "f1"}));
  expect_error({"models", "compare", "1", "4"},
               "mlcron models compare: versions 1 and 4 have different feature contracts, [f0, "
               "f1, fsum] and [f0, f1]: no rows can be scored by both\n");
  expect_error({"models", "evaluate", "1"},
               "mlcron models evaluate: the feature contract changed: version 1 was trained on "
               "[f0, f1, fsum] but model m in " +
                   config_path().string() + " now has [f0, f1]\n");
}

}  // namespace
}  // namespace mlcron::testing
