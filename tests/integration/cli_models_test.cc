// `mlcron models list|show` run as the real binary against a state directory prepared through
// the Registry API: the table, the JSON, exit codes, and that reading never creates state.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "jobs/model_store.h"
#include "jobs/registry.h"
#include "tests/integration/cli_test_util.h"

namespace mlcron::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kNoGate = "promoted without evaluation: the promotion gate is not built yet";
constexpr std::int64_t kJuly1 = 1'719'835'200;  // 2024-07-01T12:00:00Z, 13:00 in London

class CliModelsTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    WriteFile(config_path(),
              "timezone: Europe/London\n"
              "state_dir: ./state\n"
              "tiers:\n"
              "  - {tier: 1, name: t, every: 1h, jobs: [{name: a, argv: [/bin/true]}]}\n",
              fs::perms::owner_read | fs::perms::owner_write);
  }

  // Three versions of result/E0 (a full, a rejected incremental, a promoted incremental) and
  // one of goals (unsegmented), as the retrain job would register them.
  void Prepare() {
    Config config;
    config.state_dir = state_dir().string();
    auto registry = Registry::Open(config);
    ASSERT_TRUE(registry.ok()) << registry.message();
    auto add = [&](ModelVersion v, const std::string& bytes, bool promote) {
      auto stored = StoreModelFile(config.state_dir + "/models", v.model, bytes);
      ASSERT_TRUE(stored.ok()) << stored.message();
      v.file = stored->path;
      v.sha256 = stored->sha256;
      ASSERT_TRUE((*registry)->AddVersion(v, promote, "retrain_result").ok());
    };
    ModelVersion full;
    full.model = "result";
    full.segment = "E0";
    full.kind = "full";
    full.features = {"home_form", "away_form"};
    full.params_json = R"({"eta":"0.05"})";
    full.objective = "multi:softprob";
    full.num_class = 3;
    full.trees = 300;
    full.rows = 1200;
    full.train_from = Text("2016-08-13");
    full.train_to = Text("2017-05-21");
    full.holdout_from = Text("2017-05-22");
    full.holdout_to = Text("2017-05-28");
    full.holdout_rows = 40;
    full.duration_s = 2.5;
    full.created_at = kJuly1;
    full.run_id = "11";
    full.reason = kNoGate;
    add(full, "model one", true);
    ModelVersion rejected = full;
    rejected.kind = "incremental";
    rejected.parent = 1;
    rejected.chain = 1;
    rejected.full_at = kJuly1;
    rejected.trees = 330;
    rejected.rows = 150;
    rejected.status = "rejected";
    rejected.reason = "log_loss 0.97 is not 2% better than 0.95";
    rejected.created_at = kJuly1 + 86400;
    add(rejected, "model two", false);
    ModelVersion promoted = rejected;
    promoted.status = "";
    promoted.reason = kNoGate;
    promoted.created_at = kJuly1 + 2 * 86400;
    promoted.train_to = Text("2017-06-04");
    add(promoted, "model three", true);
    ModelVersion goals;
    goals.model = "goals";
    goals.kind = "full";
    goals.objective = "count:poisson";
    goals.trees = 100;
    goals.rows = 500;
    goals.train_to = Int(1'700'000'000);
    goals.created_at = kJuly1 + 3 * 86400;
    goals.reason = kNoGate;
    add(goals, "model four", true);
  }

  static SqlValue Text(std::string s) {
    SqlValue v;
    v.type = SqlValue::Type::kText;
    v.s = std::move(s);
    return v;
  }
  static SqlValue Int(std::int64_t i) {
    SqlValue v;
    v.type = SqlValue::Type::kInteger;
    v.i = i;
    return v;
  }
};

TEST_F(CliModelsTest, WithoutStateThereAreNoModelsAndNothingIsCreated) {
  RunResult r = MlcronC({"models", "list"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "no models trained yet\n");
  EXPECT_EQ(r.err, "");
  r = MlcronC({"models", "list", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "[]\n");
  r = MlcronC({"models", "show", "3"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "mlcron models show: no version 3 (no models trained yet)\n");
  EXPECT_FALSE(fs::exists(state_dir()));
}

TEST_F(CliModelsTest, ListIsATableNewestFirstWithProductionMarked) {
  Prepare();
  RunResult r = MlcronC({"models", "list"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.err, "");
  const auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_EQ(lines[0],
            "   ID  MODEL   SEGMENT  KIND         STATUS      TREES  ROWS  CREATED              "
            "      WATERMARK   PARENT  SHA256");
  EXPECT_THAT(lines[1],
              ::testing::StartsWith("*  4   goals   -        full         production  100    500   "
                                    "2024-07-04T13:00:00+01:00  1700000000  -       "));
  EXPECT_THAT(lines[2],
              ::testing::StartsWith("*  3   result  E0       incremental  production  330    150   "
                                    "2024-07-03T13:00:00+01:00  2017-06-04  1       "));
  EXPECT_THAT(lines[3],
              ::testing::StartsWith("   2   result  E0       incremental  rejected    330    150   "
                                    "2024-07-02T13:00:00+01:00  2017-05-21  1       "));
  EXPECT_THAT(lines[4],
              ::testing::StartsWith("   1   result  E0       full         archived    300    1200  "
                                    "2024-07-01T13:00:00+01:00  2017-05-21  -       "));
  EXPECT_EQ(lines[5], "* = production");
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(lines[i].size(), lines[0].size() + 6) << lines[i];

  r = MlcronC({"models", "list", "--model", "result", "--segment", "E0", "-n", "1"});
  EXPECT_EQ(r.exit_code, 0) << r;
  ASSERT_EQ(Lines(r.out).size(), 3u) << r.out;
  EXPECT_THAT(Lines(r.out)[1], ::testing::StartsWith("*  3 "));

  r = MlcronC({"models", "list", "--model", "nope"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "no versions of model nope\n");
}

TEST_F(CliModelsTest, ListJsonKeepsTheWatermarkType) {
  Prepare();
  RunResult r = MlcronC({"models", "list", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << r;
  ASSERT_EQ(j.size(), 4u);
  const std::string sha = j[0]["sha256"].get<std::string>();
  EXPECT_EQ(sha.size(), 64u);
  EXPECT_EQ(j[0], json({{"id", 4},
                        {"model", "goals"},
                        {"segment", ""},
                        {"kind", "full"},
                        {"status", "production"},
                        {"production", true},
                        {"trees", 100},
                        {"rows", 500},
                        {"created", "2024-07-04T13:00:00+01:00"},
                        {"watermark", 1700000000},
                        {"parent", nullptr},
                        {"file", (state_dir() / "models" / "goals" / (sha + ".ubj")).string()},
                        {"sha256", sha}}));
  EXPECT_EQ(j[2]["watermark"], "2017-05-21");
  EXPECT_EQ(j[2]["production"], false);
  EXPECT_EQ(j[2]["parent"], 1);
  EXPECT_EQ(j[3]["status"], "archived");
}

TEST_F(CliModelsTest, ShowPrintsEveryFieldAndTheAudit) {
  Prepare();
  RunResult r = MlcronC({"models", "show", "1"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.err, "");
  const std::string file = (state_dir() / "models" / "result").string() + "/";
  const auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 26u) << r.out;
  EXPECT_EQ(lines[0], "version           1");
  EXPECT_EQ(lines[1], "model             result");
  EXPECT_EQ(lines[2], "segment           E0");
  EXPECT_EQ(lines[3], "status            archived");
  EXPECT_EQ(lines[4], "reason            replaced by version 3");
  EXPECT_EQ(lines[5], "kind              full");
  EXPECT_EQ(lines[6], "parent            -");
  EXPECT_EQ(lines[7], "chain             0 (full trained 2024-07-01T13:00:00+01:00)");
  EXPECT_EQ(lines[8], "created           2024-07-01T13:00:00+01:00");
  EXPECT_EQ(lines[9], "run               11");
  EXPECT_EQ(lines[10], "objective         multi:softprob (3 classes)");
  EXPECT_EQ(lines[11], "trees             300");
  EXPECT_EQ(lines[12],
            "training          1200 rows, 2016-08-13 .. 2017-05-21 (watermark 2017-05-21)");
  EXPECT_EQ(lines[13], "holdout           40 rows, 2017-05-22 .. 2017-05-28 (horizon 2017-05-28)");
  EXPECT_EQ(lines[14], "duration          2.500 s");
  EXPECT_EQ(lines[15], "features          home_form, away_form");
  EXPECT_EQ(lines[16], "params            {\"eta\":\"0.05\"}");
  EXPECT_EQ(lines[17], "fingerprint       -");
  EXPECT_EQ(lines[18], "fingerprint text  -");
  EXPECT_THAT(lines[19], ::testing::StartsWith("file              " + file));
  EXPECT_THAT(lines[19], ::testing::EndsWith(".ubj"));
  EXPECT_EQ(lines[20].size(), std::string("sha256            ").size() + 64);
  EXPECT_EQ(lines[21], "metrics           {}");
  EXPECT_EQ(lines[22], "audit");
  EXPECT_EQ(lines[23], "  AT                         ACTION   FROM  TO  ACTOR           REASON");
  EXPECT_EQ(lines[24], "  2024-07-01T13:00:00+01:00  promote  -     1   retrain_result  " +
                           std::string(kNoGate));
  EXPECT_EQ(lines[25], "  2024-07-03T13:00:00+01:00  promote  1     3   retrain_result  " +
                           std::string(kNoGate));
}

TEST_F(CliModelsTest, ShowJsonHasTypedWindowsAndTheAudit) {
  Prepare();
  RunResult r = MlcronC({"models", "show", "3", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r;
  EXPECT_EQ(j["id"], 3);
  EXPECT_EQ(j["status"], "production");
  EXPECT_EQ(j["production"], true);
  EXPECT_EQ(j["parent"], 1);
  EXPECT_EQ(j["kind"], "incremental");
  EXPECT_EQ(j["chain"], 1);
  EXPECT_EQ(j["full_at"], kJuly1);
  EXPECT_EQ(j["features"], json({"home_form", "away_form"}));
  EXPECT_EQ(j["params"], json({{"eta", "0.05"}}));
  EXPECT_EQ(j["metrics"], json::object());
  EXPECT_EQ(j["train_from"], "2016-08-13");
  EXPECT_EQ(j["train_to"], "2017-06-04");
  EXPECT_EQ(j["holdout_rows"], 40);
  EXPECT_EQ(j["reason"], kNoGate);
  EXPECT_EQ(j["created"], "2024-07-03T13:00:00+01:00");
  EXPECT_EQ(j["audit"], json::array({{{"id", 2},
                                      {"at", "2024-07-03T13:00:00+01:00"},
                                      {"action", "promote"},
                                      {"from", 1},
                                      {"to", 3},
                                      {"reason", kNoGate},
                                      {"actor", "retrain_result"}}}));

  r = MlcronC({"models", "show", "4", "--json"});
  j = json::parse(r.out, nullptr, false);
  EXPECT_EQ(j["train_to"], 1700000000) << r.out;
  EXPECT_EQ(j["train_from"], nullptr);
  EXPECT_EQ(j["segment"], "");
  EXPECT_EQ(j["params"], nullptr);  // never trained with params: nothing to show
}

TEST_F(CliModelsTest, UnknownVersionAndBadUsage) {
  Prepare();
  RunResult r = MlcronC({"models", "show", "42"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "mlcron models show: no version 42\n");
  r = MlcronC({"models", "show", "latest"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("version"));
  r = MlcronC({"models"});
  EXPECT_EQ(r.exit_code, 2) << r;
  r = MlcronC({"models", "list", "--bogus"});
  EXPECT_EQ(r.exit_code, 2) << r;
  r = Mlcron({"models", "list", "-c", (dir() / "missing.yaml").string()});
  EXPECT_EQ(r.exit_code, 2) << r;
}

}  // namespace
}  // namespace mlcron::testing
