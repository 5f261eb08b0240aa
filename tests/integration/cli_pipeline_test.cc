// The built-in kinds as the daemon runs them: `mlcron run --all` over import → features →
// retrain → signals spawns `mlcron job <kind>` for each, and the rows, versions and logs
// that come out are checked exactly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/pipeline_test_util.h"

namespace mlcron {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

using CliPipelineTest = testing::PipelineTest;
using testing::kModels;
using testing::kTiers;

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
  // The scheduler's own log echoes what built-in jobs print: the decisions and their reasons.
  EXPECT_THAT(r.err, ::testing::ContainsRegex("job retrain_m run [0-9]+: m \\[A\\]: no production "
                                              "model"));
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
