// `kind: tune` and `mlcron models tune` as the real binaries on the import → features →
// retrain pipeline: a scheduled study per segment applied to the next retrain's plan, the
// history listings, a hand-run study that is not applied, a study killed halfway and resumed,
// and the errors (unknown model, a model without tuning:, too few rows for the folds).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "jobs/fault_point.h"
#include "tests/integration/pipeline_test_util.h"

namespace mlcron {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

using CliTuneTest = testing::PipelineTest;

constexpr const char* kTuneTier = R"(  - tier: 5
    name: tuning
    at: "10:30"
    after: [retrain]
    jobs:
      - {name: tune_m, kind: tune, model: m, apply: always}
)";

std::string Tuning(int folds) {
  return "    tuning:\n"
         "      method: random\n"
         "      trials: 4\n"
         "      folds: " +
         std::to_string(folds) +
         "\n"
         "      seed: 5\n"
         "      space:\n"
         "        max_depth: {int: [1, 4]}\n"
         "        eta: {float: [0.05, 0.5], log: true}\n";
}

TEST_F(CliTuneTest, ScheduledStudiesFeedTheNextRetrainAndAreListed) {
  WriteData();
  WriteConfig(std::string(testing::kTiers) + kTuneTier, std::string(testing::kModels) + Tuning(3));
  testing::RunResult all = MlcronC({"run", "--all"});
  ASSERT_EQ(all.exit_code, 0) << all << Log("tune_m");
  const std::string log = Log("tune_m");
  EXPECT_THAT(log, HasSubstr("m [A]: study 1, random, 4 trials (0 pruned, 0 failed) on 200 "
                             "rows: applied (--apply): best trial"));
  EXPECT_THAT(log, HasSubstr("m [B]: study 2, random, 4 trials"));
  EXPECT_THAT(log, HasSubstr("m [A]: tuned params eta="));

  // Both segments' next retrain is a full one because of the applied params; like any full
  // retrain after production it waits for rows production has not seen, for a fair holdout.
  testing::RunResult plan = MlcronC({"models", "plan", "--model", "m", "--json"});
  ASSERT_EQ(plan.exit_code, 0) << plan;
  const json plans = json::parse(plan.out);
  ASSERT_EQ(plans.size(), 2u);
  for (const json& p : plans) {
    ASSERT_EQ(p["reasons"].size(), 2u) << p.dump();
    EXPECT_THAT(p["reasons"][0].get<std::string>(),
                ::testing::StartsWith("tuned params applied (study "));
    EXPECT_THAT(p["reasons"][0].get<std::string>(), HasSubstr("params.max_depth 2 → "));
    EXPECT_EQ(p["reasons"][1], "waiting for unseen rows: 8 < 10");
    EXPECT_TRUE(p["tuned_params"].contains("max_depth"));
    EXPECT_TRUE(p["tuned_params"].contains("eta"));
  }

  testing::RunResult history = MlcronC({"models", "tune", "m", "--history"});
  ASSERT_EQ(history.exit_code, 0) << history;
  EXPECT_THAT(history.out, HasSubstr("STUDY  SEGMENT  METHOD  TRIALS  STATUS"));
  EXPECT_THAT(history.out, HasSubstr("applied (--apply): best trial"));
  testing::RunResult json_history = MlcronC({"models", "tune", "m", "--history", "--json"});
  const json studies = json::parse(json_history.out);
  ASSERT_EQ(studies.size(), 2u);
  EXPECT_EQ(studies[0]["study"], 2);  // newest first
  EXPECT_EQ(studies[0]["segment"], "B");
  EXPECT_EQ(studies[0]["status"], "finished");
  EXPECT_EQ(studies[0]["applied"], true);
  EXPECT_TRUE(studies[0]["baseline_value"].is_number());

  testing::RunResult trials = MlcronC({"models", "tune", "m", "--history", "--study", "1"});
  ASSERT_EQ(trials.exit_code, 0) << trials;
  EXPECT_THAT(trials.out, HasSubstr("study 1 of m [A]: random, seed 5, 200 rows, baseline"));
  EXPECT_THAT(trials.out, HasSubstr("TRIAL  STATE     log_loss  FOLDS  SECONDS  PARAMS"));

  // By hand, not applied: the tuned params stay those of study 1.
  testing::RunResult hand =
      MlcronC({"models", "tune", "m", "--segment", "A", "--trials", "2", "--no-apply", "--json"});
  ASSERT_EQ(hand.exit_code, 0) << hand;
  const json one = json::parse(hand.out);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["study"], 3);
  EXPECT_EQ(one[0]["trials_run"].size(), 2u);
  EXPECT_EQ(one[0]["applied"], false);
  EXPECT_THAT(one[0]["verdict"].get<std::string>(), HasSubstr("not applied (--no-apply)"));
  const json after = json::parse(MlcronC({"models", "plan", "--model", "m", "--json"}).out);
  EXPECT_EQ(after[0]["tuned_study"], 1);
}

TEST_F(CliTuneTest, AStudyKilledHalfwayKeepsItsTrialsAndResumes) {
  WriteData();
  WriteConfig(testing::kTiers, std::string(testing::kModels) + Tuning(3));
  ASSERT_EQ(MlcronC({"run", "--all"}).exit_code, 0);
  setenv("MLCRON_FAULT_AT", "tune_after_trial_1", 1);
  testing::RunResult killed = MlcronC({"models", "tune", "m", "--segment", "A"});
  unsetenv("MLCRON_FAULT_AT");
  ASSERT_EQ(killed.exit_code, kFaultExitCode) << killed;

  json studies = json::parse(MlcronC({"models", "tune", "m", "--history", "--json"}).out);
  ASSERT_EQ(studies.size(), 1u);
  EXPECT_EQ(studies[0]["status"], "running");
  json kept =
      json::parse(MlcronC({"models", "tune", "m", "--history", "--study", "1", "--json"}).out);
  ASSERT_EQ(kept["trials_run"].size(), 2u);  // trials 0 and 1 were stored before the kill

  testing::RunResult resumed =
      MlcronC({"models", "tune", "m", "--segment", "A", "--resume", "--no-apply", "--json"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed;
  const json r = json::parse(resumed.out);
  EXPECT_EQ(r[0]["study"], 1);
  EXPECT_EQ(r[0]["resumed"], true);
  ASSERT_EQ(r[0]["trials_run"].size(), 4u);
  EXPECT_EQ(r[0]["trials_run"][0], kept["trials_run"][0]);
  EXPECT_EQ(r[0]["trials_run"][1], kept["trials_run"][1]);
  EXPECT_EQ(r[0]["status"], "finished");

  testing::RunResult again = MlcronC({"models", "tune", "m", "--segment", "A", "--resume"});
  EXPECT_EQ(again.exit_code, 1) << again;
  EXPECT_THAT(again.out, HasSubstr("m [A]: study failed: m [A]: no unfinished study to resume"));
}

TEST_F(CliTuneTest, BadRequestsSayWhatIsWrong) {
  WriteData();
  WriteConfig(testing::kTiers, std::string(testing::kModels) + Tuning(500));
  ASSERT_EQ(MlcronC({"run", "--all"}).exit_code, 0);
  testing::RunResult unknown = MlcronC({"models", "tune", "nosuch"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("mlcron models tune: no model \"nosuch\" in "));

  testing::RunResult few = MlcronC({"models", "tune", "m", "--segment", "B"});
  EXPECT_EQ(few.exit_code, 1) << few;
  EXPECT_THAT(few.out, HasSubstr("m [B]: study failed: m [B]: 200 labelled rows: Cannot have "
                                 "number of folds=501 greater than the number of samples=200."));
  // Nothing was stored for it.
  EXPECT_EQ(MlcronC({"models", "tune", "m", "--history", "--json"}).out, "[]\n");

  WriteConfig(testing::kTiers, testing::kModels);
  testing::RunResult untuned = MlcronC({"models", "tune", "m"});
  EXPECT_EQ(untuned.exit_code, 2);
  EXPECT_THAT(untuned.err, HasSubstr("mlcron models tune: model m has no tuning: section in "));
}

}  // namespace
}  // namespace mlcron
