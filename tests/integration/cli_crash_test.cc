// Crash safety of a retrain (issue: model registry, item 7): the job is killed (_exit, no
// cleanup) right after each step — train, save, register/gate/promote, retention mark,
// retention — through MLCRON_FAULT_AT. After every abort the registry and the model files
// agree, production still loads, and a re-run completes the work.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/sha256.h"
#include "tests/integration/pipeline_test_util.h"

namespace mlcron {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

class CliCrashTest : public testing::PipelineTest,
                     public ::testing::WithParamInterface<const char*> {
 protected:
  // Every live row's file exists with its SHA-256. Every file under models/ belongs to a live
  // row, except (right after an abort) an unregistered one, which the next retrain's start
  // removes.
  void ExpectRegistryAndFilesAgree(bool allow_orphans) {
    json versions = json::parse(MlcronC({"models", "list", "--json", "-n", "0"}).out);
    std::set<std::string> live;
    for (const auto& v : versions) {
      if (v["status"] == "deleted") continue;
      const std::string file = v["file"];
      live.insert(file);
      Result<std::string> sha = Sha256File(file);
      ASSERT_TRUE(sha.ok()) << file << ": " << sha.message();
      EXPECT_EQ(*sha, v["sha256"].get<std::string>()) << file;
    }
    for (const auto& entry : fs::recursive_directory_iterator(state_dir() / "models")) {
      if (entry.is_regular_file() && !allow_orphans) {
        EXPECT_TRUE(live.count(entry.path().string())) << entry.path();
      }
    }
  }
  testing::RunResult RunRetrain(const std::string& fault) {
    setenv("MLCRON_FAULT_AT", fault.c_str(), 1);
    testing::RunResult r = MlcronC({"run", "retrain_m"});
    unsetenv("MLCRON_FAULT_AT");
    return r;
  }
};

TEST_P(CliCrashTest, AbortAtEachStepLeavesAConsistentStoreAndARerunCompletes) {
  WriteData();
  // A holdout of half the rows leaves production's holdout large enough for a forced full
  // retrain to be feasible straight away.
  std::string models = std::string(testing::kModels) + "    keep: 1\n";
  models.replace(models.find("fraction: 0.2"), 13, "fraction: 0.5");
  WriteConfig(testing::kTiers, models);
  ASSERT_EQ(MlcronC({"run", "load"}).exit_code, 0);
  ASSERT_EQ(MlcronC({"run", "features"}).exit_code, 0);
  ASSERT_EQ(MlcronC({"run", "retrain_m"}).exit_code, 0);  // first versions, production
  // Forced full retrains so that every step, including retention (keep: 1), has work to do.
  setenv("MLCRON_FORCE_FULL", "1", 1);
  // A second version per segment first, so that the aborted run's retention (keep: 1) has
  // a version that is neither production nor the previous production to delete.
  ASSERT_EQ(MlcronC({"run", "retrain_m"}).exit_code, 0) << Log("retrain_m");
  const json before = json::parse(MlcronC({"models", "list", "--json", "-n", "0"}).out);
  testing::RunResult aborted = RunRetrain(GetParam());
  EXPECT_EQ(aborted.exit_code, 1) << aborted;
  EXPECT_THAT(MlcronC({"history", "--json", "--job", "retrain_m"}).out,
              HasSubstr("\"exit_code\": 86"));
  ExpectRegistryAndFilesAgree(/*allow_orphans=*/true);

  // Production of each segment still loads and scores.
  ASSERT_EQ(MlcronC({"run", "predict"}).exit_code, 0) << Log("predict");

  testing::RunResult rerun = MlcronC({"run", "retrain_m"});
  unsetenv("MLCRON_FORCE_FULL");
  ASSERT_EQ(rerun.exit_code, 0) << rerun << Log("retrain_m");
  ExpectRegistryAndFilesAgree(/*allow_orphans=*/false);
  const json after = json::parse(MlcronC({"models", "list", "--json", "-n", "0"}).out);
  EXPECT_GT(after.size(), before.size());
  ASSERT_EQ(MlcronC({"run", "predict"}).exit_code, 0) << Log("predict");
}

INSTANTIATE_TEST_SUITE_P(Steps, CliCrashTest,
                         ::testing::Values("after_train", "after_save", "after_register",
                                           "after_retention_mark", "after_retention"));

}  // namespace
}  // namespace mlcron
