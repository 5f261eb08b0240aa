// The built-in kinds as the daemon runs them: `mlcron run --all` over import → features →
// retrain → signals spawns `mlcron job <kind>` for each, and the rows, versions and logs
// that come out are checked exactly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/sqlite_db.h"
#include "tests/integration/cli_test_util.h"

namespace mlcron {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kTiers = R"(  - tier: 1
    name: load
    at: "09:45"
    jobs:
      - {name: import_matches, kind: import, file: matches.csv, table: raw, key: id,
         types: {id: integer, f0: real, f1: real, y: integer}}
  - tier: 2
    name: features
    at: "09:50"
    after: [load]
    jobs:
      - {name: aggregate, kind: features, sql: features.sql}
  - tier: 3
    name: retrain
    at: "09:52"
    after: [features]
    jobs:
      - {name: retrain_m, kind: retrain, model: m}
  - tier: 4
    name: signals
    at: "09:55"
    after: [retrain]
    jobs:
      - {name: predict, kind: signals, model: m, input: "SELECT * FROM feats WHERE y IS NULL",
         output: signals}
)";

constexpr const char* kModels = R"(data: ./state/data.db
models:
  m:
    table: feats
    key: id
    time: day
    label: y
    features: [f0, f1, fsum]
    segment_by: seg
    objective: binary:logistic
    params: {max_depth: 2, nthread: 1}
    rounds: 10
    min_rows: 50
    incremental: {rounds: 3, min_new_rows: 50}
    holdout: {fraction: 0.2, min_rows: 10}
)";

constexpr const char* kFeaturesSql = R"(CREATE TABLE IF NOT EXISTS feats (
  id INTEGER PRIMARY KEY, seg TEXT, day TEXT, y REAL, f0 REAL, f1 REAL, fsum REAL);
INSERT OR REPLACE INTO feats
  SELECT id, seg, day, y, f0, f1, f0 + f1 FROM raw
  WHERE _ingested_at > :since AND _ingested_at <= :now;
)";

class CliPipelineTest : public testing::CliTest {
 protected:
  // 2 segments × 40 days × 5 rows, labelled; then 10 unlabelled rows of the next day.
  void WriteData() {
    std::string csv = "id,seg,day,f0,f1,y\n";
    int id = 1;
    for (const char* seg : {"A", "B"}) {
      for (int d = 1; d <= 40; ++d) {
        for (int i = 0; i < 5; ++i, ++id) {
          const double f0 = ((id * 37) % 100) / 100.0, f1 = ((id * 61) % 100) / 100.0;
          const int y = (f0 + f1 > 1) != (id % 10 == 0);
          char line[128];
          std::snprintf(line, sizeof line, "%d,%s,2024-%02d-%02d,%.2f,%.2f,%d\n", id, seg,
                        d <= 31 ? 1 : 2, d <= 31 ? d : d - 31, f0, f1, y);
          csv += line;
        }
      }
    }
    for (int i = 0; i < 10; ++i, ++id) {
      csv += std::to_string(id) + (i % 2 ? ",B" : ",A") + ",2024-02-10,0.5,0.7,\n";
    }
    testing::WriteFile(dir() / "matches.csv", csv, fs::perms::owner_read | fs::perms::owner_write);
    testing::WriteFile(dir() / "features.sql", kFeaturesSql,
                       fs::perms::owner_read | fs::perms::owner_write);
  }
  std::int64_t Count(const std::string& sql) {
    auto db = SqliteDb::Open((state_dir() / "data.db").string(), "data", std::chrono::seconds(5));
    EXPECT_TRUE(db.ok()) << db.message();
    auto st = (*db)->Prepare(sql);
    auto row = st.Step();
    EXPECT_TRUE(row.ok() && *row) << sql;
    return st.Int64(0);
  }
  std::string Log(const std::string& job) { return MlcronC({"logs", job}).out; }
};

TEST_F(CliPipelineTest, WholePipelineRunsThroughTheBuiltInKinds) {
  WriteData();
  WriteConfig(kTiers, kModels);
  testing::RunResult r = MlcronC({"run", "--all"});
  ASSERT_EQ(r.exit_code, 0) << r << Log("import_matches") << Log("aggregate") << Log("retrain_m")
                            << Log("predict");
  json runs = History();
  ASSERT_EQ(runs.size(), 4u) << runs.dump(2);
  for (const auto& run : runs) EXPECT_EQ(run["status"], "succeeded") << run.dump();

  EXPECT_THAT(Log("import_matches"), HasSubstr("410 rows, 410 inserted"));
  EXPECT_EQ(Count("SELECT count(*) FROM raw"), 410);
  EXPECT_EQ(Count("SELECT count(*) FROM feats"), 410);
  const std::string retrain = Log("retrain_m");
  EXPECT_THAT(retrain, HasSubstr("m [A]: no production model"));
  EXPECT_THAT(retrain, HasSubstr("m [B]: no production model"));
  EXPECT_THAT(retrain, HasSubstr("(full, 10 trees on 160 rows 2024-01-01..2024-02-01, holdout 40 "
                                 "rows 2024-02-02..2024-02-09)"));
  EXPECT_EQ(Count("SELECT count(*) FROM signals"), 10);
  EXPECT_EQ(Count("SELECT count(DISTINCT version) FROM signals"), 2);
}

TEST_F(CliPipelineTest, SecondRunChangesNothingAndSkipsRetraining) {
  WriteData();
  WriteConfig(kTiers, kModels);
  ASSERT_EQ(MlcronC({"run", "--all"}).exit_code, 0);
  ASSERT_EQ(MlcronC({"run", "--all"}).exit_code, 0);
  EXPECT_THAT(Log("import_matches"), HasSubstr("410 rows, 0 inserted, 0 updated, 410 unchanged"));
  const std::string retrain = Log("retrain_m");
  EXPECT_THAT(retrain, HasSubstr("m [A]: "));
  EXPECT_THAT(retrain, HasSubstr("→ skip"));
  EXPECT_THAT(retrain, ::testing::Not(HasSubstr("version")));
  EXPECT_EQ(Count("SELECT count(*) FROM signals"), 20);
}

TEST_F(CliPipelineTest, MalformedCsvFailsImportAndLosesNothing) {
  WriteData();
  WriteConfig(kTiers, kModels);
  ASSERT_EQ(MlcronC({"run", "--all"}).exit_code, 0);
  testing::WriteFile(dir() / "matches.csv", "id,seg,day,f0,f1,y\n1,A,2024-01-01,zero,0.5,1\n",
                     fs::perms::owner_read | fs::perms::owner_write);
  testing::RunResult r = MlcronC({"run", "import_matches"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(Log("import_matches"), HasSubstr("matches.csv:2"));
  EXPECT_THAT(Log("import_matches"), HasSubstr("f0"));
  EXPECT_EQ(Count("SELECT count(*) FROM raw"), 410);
}

}  // namespace
}  // namespace mlcron

namespace mlcron {
namespace {

TEST_F(CliPipelineTest, PlanShowsTheNextDecisionsWithoutTraining) {
  WriteData();
  WriteConfig(kTiers, kModels);
  ASSERT_EQ(MlcronC({"run", "--all"}).exit_code, 0);
  testing::RunResult plan = MlcronC({"models", "plan", "--json"});
  ASSERT_EQ(plan.exit_code, 0) << plan;
  json decisions = json::parse(plan.out);
  ASSERT_EQ(decisions.size(), 2u) << plan.out;
  EXPECT_EQ(decisions[0]["segment"], "A");
  EXPECT_EQ(decisions[0]["decision"], "skip");
  EXPECT_EQ(decisions[0]["new_rows"], 0);
  EXPECT_EQ(decisions[0]["labelled_rows"], 200);
  // The old holdout (40 rows) is all production has not seen: 20% of it is too few.
  testing::RunResult full = MlcronC({"models", "plan", "--full", "--segment", "B"});
  ASSERT_EQ(full.exit_code, 0) << full;
  EXPECT_THAT(full.out, HasSubstr("m [B]"));
  EXPECT_THAT(full.out, HasSubstr("forced by --full"));
  EXPECT_THAT(full.out, HasSubstr("waiting for unseen rows: 8 < 10"));
  EXPECT_EQ(Count("SELECT count(*) FROM signals"), 10);
  json versions = json::parse(MlcronC({"models", "list", "--json"}).out);
  EXPECT_EQ(versions.size(), 2u);
}

}  // namespace
}  // namespace mlcron
