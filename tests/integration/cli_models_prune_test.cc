// `mlcron models prune` run as the real binary against a registry prepared through the
// Registry API: the dry run changes nothing, real pruning deletes rows and files, --json,
// and the exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/sha256.h"
#include "jobs/model_store.h"
#include "jobs/registry.h"
#include "tests/integration/cli_test_util.h"

namespace mlcron::testing {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;

class CliModelsPruneTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    WriteConfig("  - {tier: 1, name: t, every: 1h, jobs: [{name: a, argv: [/bin/true]}]}\n",
                "models:\n"
                "  result:\n"
                "    table: feats\n"
                "    key: id\n"
                "    time: day\n"
                "    label: y\n"
                "    features: [f0]\n"
                "    segment_by: seg\n"
                "    objective: binary:logistic\n"
                "    keep: 1\n");
  }

  std::string PathOf(const std::string& bytes) const {
    return (state_dir() / "models" / "result" / (Sha256Hex(bytes) + ".ubj")).string();
  }

  // result/E0: 1 rejected, 2 production, 3 rejected; result/E1: 4 production; goals (not in
  // the config): 5. With keep 1 only version 1 goes.
  void Prepare() {
    Config config;
    config.state_dir = state_dir().string();
    auto registry = Registry::Open(config);
    ASSERT_TRUE(registry.ok()) << registry.message();
    auto add = [&](const std::string& model, const std::string& segment, const std::string& bytes,
                   bool promote) {
      auto stored = StoreModelFile(config.state_dir + "/models", model, bytes);
      ASSERT_TRUE(stored.ok()) << stored.message();
      ModelVersion v;
      v.model = model;
      v.segment = segment;
      v.kind = "full";
      v.file = stored->path;
      v.sha256 = stored->sha256;
      v.status = promote ? "" : "rejected";
      ASSERT_TRUE((*registry)->AddVersion(v, promote, "test").ok());
    };
    add("result", "E0", "one", false);
    add("result", "E0", "two", true);
    add("result", "E0", "three", false);
    add("result", "E1", "four", true);
    add("goals", "", "five", true);
  }

  // "id status reason" of every version, oldest first, read in-process (fast).
  std::vector<std::string> Statuses() {
    Config config;
    config.state_dir = state_dir().string();
    auto registry = Registry::Open(config);
    EXPECT_TRUE(registry.ok()) << registry.message();
    if (!registry.ok()) return {};
    auto versions = (*registry)->List("", "", 0);
    EXPECT_TRUE(versions.ok()) << versions.message();
    if (!versions.ok()) return {};
    std::vector<std::string> out;
    for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
      out.push_back(std::to_string(it->id) + " " + it->status + " " + it->reason);
    }
    return out;
  }
};

TEST_F(CliModelsPruneTest, WithoutStateNothingIsCreated) {
  RunResult r = MlcronC({"models", "prune"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "no models trained yet\n");
  EXPECT_FALSE(fs::exists(state_dir()));
}

TEST_F(CliModelsPruneTest, AnUnknownModelIsBadUsage) {
  RunResult r = MlcronC({"models", "prune", "--model", "nope"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "mlcron models prune: no model \"nope\" in " + config_path().string() + "\n");
}

TEST_F(CliModelsPruneTest, DryRunPrintsThePlanAndChangesNothing) {
  Prepare();
  const auto before = Statuses();
  RunResult r = MlcronC({"models", "prune", "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(
      Lines(r.out),
      ElementsAre("MODEL   SEGMENT  VERSION  STATUS      ACTION        WHY",
                  "result  E0       3        rejected    keep          within keep 1",
                  "result  E0       2        production  keep          production",
                  "result  E0       1        rejected    would delete  beyond keep 1; file would "
                  "be removed",
                  "result  E1       4        production  keep          production, within keep 1",
                  "result: would delete 1 version (1 file to remove, 0 to archive), keep 3",
                  "goals: not in the config; its versions are left alone",
                  "dry run: nothing was changed"));
  EXPECT_EQ(Statuses(), before);
  EXPECT_TRUE(fs::exists(PathOf("one")));

  r = MlcronC({"models", "prune", "--dry-run", "--json", "--model", "result"});
  EXPECT_EQ(r.exit_code, 0) << r;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r;
  EXPECT_EQ(j["dry_run"], true);
  EXPECT_EQ(j["unconfigured"], json::array());  // only listed when every model is pruned
  ASSERT_EQ(j["versions"].size(), 4u) << j.dump(2);
  EXPECT_EQ(j["versions"][2], json({{"model", "result"},
                                    {"segment", "E0"},
                                    {"version", 1},
                                    {"status", "rejected"},
                                    {"pinned", false},
                                    {"action", "delete"},
                                    {"why", "beyond keep 1; file would be removed"},
                                    {"file", PathOf("one")},
                                    {"file_fate", "removed"},
                                    {"error", nullptr}}));
  EXPECT_EQ(j["versions"][0]["action"], "keep");
  EXPECT_EQ(j["versions"][0]["why"], "within keep 1");
  EXPECT_EQ(Statuses(), before);
}

TEST_F(CliModelsPruneTest, PruneDeletesBeyondKeepAndIsIdempotent) {
  Prepare();
  RunResult r = MlcronC({"models", "prune", "--model", "result"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(
      Lines(r.out),
      ElementsAre("MODEL   SEGMENT  VERSION  STATUS      ACTION   WHY",
                  "result  E0       3        rejected    keep     within keep 1",
                  "result  E0       2        production  keep     production",
                  "result  E0       1        rejected    deleted  beyond keep 1; file removed",
                  "result  E1       4        production  keep     production, within keep 1",
                  "result: deleted 1 version (1 file removed, 0 archived), kept 3"));
  EXPECT_THAT(Statuses(),
              ElementsAre("1 deleted retention: beyond keep 1; file removed", "2 production ",
                          "3 rejected ", "4 production ", "5 production "));
  EXPECT_FALSE(fs::exists(PathOf("one")));
  EXPECT_TRUE(fs::exists(PathOf("two")));

  r = MlcronC({"models", "prune", "--model", "result"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(Lines(r.out).back(),
            "result: deleted 0 versions (0 files removed, 0 archived), kept 3");
}

TEST_F(CliModelsPruneTest, AFileThatCannotBeRemovedExitsOne) {
  Prepare();
  // Version 6's "file" is a folder: unlink fails with EISDIR even for root.
  const fs::path folder = state_dir() / "models" / "result" / "folder.ubj";
  fs::create_directories(folder);
  {
    Config config;
    config.state_dir = state_dir().string();
    auto registry = Registry::Open(config);
    ASSERT_TRUE(registry.ok()) << registry.message();
    ModelVersion v;
    v.model = "result";
    v.segment = "E1";
    v.kind = "full";
    v.file = folder.string();
    v.sha256 = "00";
    v.status = "rejected";
    ASSERT_TRUE((*registry)->AddVersion(v, false, "test").ok());
    ModelVersion newer = v;
    newer.file = PathOf("four");
    newer.sha256 = Sha256Hex("four");
    ASSERT_TRUE((*registry)->AddVersion(newer, false, "test").ok());  // 7: within keep 1
  }
  RunResult r = MlcronC({"models", "prune", "--model", "result"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err, "mlcron models prune: result: version 6 is deleted but model file " +
                       folder.string() +
                       ": cannot remove: Is a directory (the next repair retries)\n");
  EXPECT_FALSE(fs::exists(PathOf("one")));
  EXPECT_TRUE(fs::is_directory(folder));
}

}  // namespace
}  // namespace mlcron::testing
