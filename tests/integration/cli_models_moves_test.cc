// `mlcron models promote|rollback|pin|unpin|audit` run as the real binary against a registry
// prepared through the Registry API with real model files: the moves, their output, the
// audit at a date, and the refusals with their exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>

#include "jobs/model_store.h"
#include "jobs/registry.h"
#include "jobs/xgb_booster.h"
#include "tests/integration/cli_test_util.h"

namespace mlcron::testing {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;

constexpr std::int64_t kJuly1 = 1'719'835'200;  // 2024-07-01T12:00:00Z, 13:00 in London
constexpr std::int64_t kDay = 86'400;
constexpr const char* kRejected =
    "log_loss 0.9712 vs production 0.9688: -0.2% < 2% required → rejected";
constexpr const char* kRetrain = "retrain job retrain_result";

// A real model file of `rounds` trees (distinct bytes per count).
std::string ModelBytes(int rounds) {
  static std::map<int, std::string> cache;
  if (auto it = cache.find(rounds); it != cache.end()) return it->second;
  std::vector<float> x, y;
  for (int i = 0; i < 40; ++i) {
    x.push_back(static_cast<float>(i % 10));
    y.push_back(i % 10 > 4 ? 1.0f : 0.0f);
  }
  std::string bytes;
  auto matrix = XgbMatrix::FromDense(x, 40, 1, y);
  auto booster = XgbBooster::New();
  if (matrix.ok() && booster.ok() &&
      booster->SetParams({{"objective", "binary:logistic"}, {"nthread", "1"}}).ok() &&
      booster->SetBaseScore(0.5).ok() && booster->Train(*matrix, rounds).ok()) {
    auto saved = booster->SaveUbj();
    if (saved.ok()) bytes = std::move(*saved);
  }
  EXPECT_FALSE(bytes.empty());
  return cache[rounds] = bytes;
}

// The actor the CLI records: this user, as the CLI works it out.
std::string Me() {
  if (::geteuid() == 0 && std::getenv("SUDO_USER") && *std::getenv("SUDO_USER")) {
    return std::getenv("SUDO_USER");
  }
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : "uid " + std::to_string(::geteuid());
}

class CliModelsMovesTest : public CliTest {
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

  // result/E0: 1 promoted (July 1), 2 rejected (July 2), 3 promoted (July 3);
  // result/E1: 4 promoted (July 2 13:00); goals: 5 promoted (July 4).
  void Prepare() {
    config_.state_dir = state_dir().string();
    auto registry = Registry::Open(config_);
    ASSERT_TRUE(registry.ok()) << registry.message();
    auto add = [&](const std::string& model, const std::string& segment, std::int64_t at,
                   int rounds, bool promote, const std::string& reason) {
      auto stored = StoreModelFile(config_.state_dir + "/models", model, ModelBytes(rounds));
      ASSERT_TRUE(stored.ok()) << stored.message();
      ModelVersion v;
      v.model = model;
      v.segment = segment;
      v.kind = "full";
      v.trees = rounds;
      v.file = stored->path;
      v.sha256 = stored->sha256;
      v.created_at = at;
      v.reason = reason;
      if (!promote) v.status = "rejected";
      auto id = (*registry)->AddVersion(v, promote, kRetrain);
      ASSERT_TRUE(id.ok()) << id.message();
    };
    add("result", "E0", kJuly1, 1, true, "gate passed");
    add("result", "E0", kJuly1 + kDay, 2, false, kRejected);
    add("result", "E0", kJuly1 + 2 * kDay, 3, true, "log_loss 0.91 vs production 0.95: 4.2%");
    add("result", "E1", kJuly1 + kDay, 4, true, "first version beats the baseline");
    add("goals", "", kJuly1 + 3 * kDay, 5, true, "first version beats the baseline");
  }

  // The production version of result/<segment>, read in-process.
  std::int64_t ProductionOf(const std::string& segment) {
    auto registry = Registry::Open(config_);
    EXPECT_TRUE(registry.ok()) << registry.message();
    auto p = (*registry)->Production("result", segment);
    EXPECT_TRUE(p.ok() && p->has_value());
    return (p.ok() && *p) ? (**p).id : -1;
  }

  std::string FileOf(std::int64_t id) {
    auto registry = Registry::Open(config_);
    auto v = (*registry)->Get(id);
    return (v.ok() && *v) ? (**v).file : "";
  }

  Config config_;
};

TEST_F(CliModelsMovesTest, PromoteNeedsForceForARejectedVersion) {
  Prepare();
  RunResult r = MlcronC({"models", "promote", "2"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, std::string("mlcron models promote: version 2 is rejected (") + kRejected +
                       "); promote it with --force to override the gate\n");
  EXPECT_EQ(ProductionOf("E0"), 3);

  r = MlcronC({"models", "promote", "2", "--force", "--reason", "cup week in the holdout"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "model result [E0]: production 3 → 2 (promote by " + Me() +
                       ": forced: cup week in the holdout; it was rejected (" + kRejected + "))\n");
  EXPECT_EQ(ProductionOf("E0"), 2);

  r = MlcronC({"models", "promote", "2"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err, "mlcron models promote: version 2 is already production\n");
  r = MlcronC({"models", "promote", "42"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err, "mlcron models promote: no version 42\n");
  r = MlcronC({"models", "promote", "latest"});
  EXPECT_EQ(r.exit_code, 2) << r;
}

TEST_F(CliModelsMovesTest, RollbackNamesTheSegmentAndPrintsJson) {
  Prepare();
  RunResult r = MlcronC({"models", "rollback", "result"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_EQ(r.err,
            "mlcron models rollback: model result has segments E0, E1; name one with "
            "--segment\n");
  r = MlcronC({"models", "rollback", "result", "--segment", "E9"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err,
            "mlcron models rollback: model result has no segment \"E9\" (segments: E0, "
            "E1)\n");
  r = MlcronC({"models", "rollback", "result", "--segment", "E1"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err,
            "mlcron models rollback: model result [E1] has no previous production "
            "version to roll back to\n");
  r = MlcronC({"models", "rollback", "nope"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err, "mlcron models rollback: model nope has no versions\n");

  r = MlcronC({"models", "rollback", "result", "--segment", "E0", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r;
  EXPECT_EQ(j["action"], "rollback");
  EXPECT_EQ(j["model"], "result");
  EXPECT_EQ(j["segment"], "E0");
  EXPECT_EQ(j["from"], 3);
  EXPECT_EQ(j["to"], 1);
  EXPECT_EQ(j["reason"], "rolled back from version 3");
  EXPECT_EQ(j["actor"], Me());
  EXPECT_EQ(j["previous_status"], "archived");
  EXPECT_EQ(j["audit_id"], 5);
  EXPECT_EQ(ProductionOf("E0"), 1);

  r = MlcronC({"models", "rollback", "goals"});  // unsegmented: no --segment needed
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err,
            "mlcron models rollback: model goals has no previous production version to "
            "roll back to\n");
}

TEST_F(CliModelsMovesTest, RollbackToATamperedFileChangesNothing) {
  Prepare();
  const std::string file = FileOf(1);
  std::string bytes = ReadFile(file);
  bytes[bytes.size() / 2] ^= 1;
  WriteFile(file, bytes, fs::perms::owner_read | fs::perms::owner_write);
  RunResult r = MlcronC({"models", "rollback", "result", "--segment", "E0"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, ::testing::StartsWith("mlcron models rollback: cannot roll back model "
                                           "result [E0] to version 1: model file " +
                                           file + ": SHA-256 mismatch (registered "));
  EXPECT_THAT(r.err, ::testing::EndsWith("the file changed after it was registered; nothing "
                                         "was loaded; production unchanged\n"));
  EXPECT_EQ(ProductionOf("E0"), 3);
  r = MlcronC({"models", "audit", "result", "--segment", "E0", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(json::parse(r.out, nullptr, false).size(), 2u) << r.out;
}

TEST_F(CliModelsMovesTest, AuditTableAndAuditAt) {
  Prepare();
  RunResult r = MlcronC({"models", "audit", "result"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(
      Lines(r.out),
      ElementsAre("AT                         SEGMENT  ACTION   FROM  TO  ACTOR                    "
                  "   REASON",
                  "2024-07-03T13:00:00+01:00  E0       promote  1     3   retrain job "
                  "retrain_result  log_loss 0.91 vs production 0.95: 4.2%",
                  "2024-07-02T13:00:00+01:00  E1       promote  -     4   retrain job "
                  "retrain_result  first version beats the baseline",
                  "2024-07-01T13:00:00+01:00  E0       promote  -     1   retrain job "
                  "retrain_result  gate passed"));
  r = MlcronC({"models", "audit", "result", "--segment", "E1", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(json::parse(r.out, nullptr, false),
            json::array({{{"id", 3},
                          {"at", "2024-07-02T13:00:00+01:00"},
                          {"model", "result"},
                          {"segment", "E1"},
                          {"action", "promote"},
                          {"from", nullptr},
                          {"to", 4},
                          {"actor", kRetrain},
                          {"reason", "first version beats the baseline"}}}))
      << r.out;

  r = MlcronC({"models", "audit", "result", "--at", "2024-07-02"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out,
            "on 2024-07-02, model result [E0] was served by version 1 (since "
            "2024-07-01T13:00:00+01:00, promoted by retrain job retrain_result: gate passed)\n"
            "on 2024-07-02, model result [E1] had no production version\n");
  r = MlcronC({"models", "audit", "result", "--segment", "E0", "--at", "2024-07-03T13:00"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out,
            "on 2024-07-03T13:00, model result [E0] was served by version 3 (since "
            "2024-07-03T13:00:00+01:00, promoted by retrain job retrain_result: log_loss 0.91 vs "
            "production 0.95: 4.2%)\n");
  r = MlcronC({"models", "audit", "goals", "--at", "2024-07-05", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(json::parse(r.out, nullptr, false),
            json::array({{{"model", "goals"},
                          {"segment", ""},
                          {"at", "2024-07-05T00:00:00+01:00"},
                          {"version", 5},
                          {"since", "2024-07-04T13:00:00+01:00"},
                          {"audit",
                           {{"id", 4},
                            {"action", "promote"},
                            {"from", nullptr},
                            {"actor", kRetrain},
                            {"reason", "first version beats the baseline"}}}}}))
      << r.out;

  // A rollback shows in the table and in --at from its time on.
  r = MlcronC({"models", "rollback", "result", "--segment", "E0"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "model result [E0]: production 3 → 1 (rollback by " + Me() +
                       ": rolled back from version 3)\n");
  r = MlcronC({"models", "audit", "result", "--segment", "E0", "-n", "1"});
  EXPECT_EQ(r.exit_code, 0) << r;
  ASSERT_EQ(Lines(r.out).size(), 2u) << r.out;
  EXPECT_THAT(Lines(r.out)[1], ::testing::HasSubstr("  E0       rollback  3     1   " + Me()));
  r = MlcronC({"models", "audit", "result", "--segment", "E0", "--at", "2099-01-01"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, ::testing::StartsWith("on 2099-01-01, model result [E0] was served by "
                                           "version 1 (since "));
  EXPECT_THAT(r.out,
              ::testing::EndsWith(", rolled back by " + Me() + ": rolled back from version 3)\n"));

  r = MlcronC({"models", "audit", "result", "--at", "yesterday"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, ::testing::StartsWith("mlcron models audit: --at: "));
  r = MlcronC({"models", "audit", "nope"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err, "mlcron models audit: model nope has no versions\n");
}

TEST_F(CliModelsMovesTest, PinAndUnpin) {
  Prepare();
  RunResult r = MlcronC({"models", "pin", "2"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "version 2 of model result [E0] pinned: retention keeps its file\n");
  r = MlcronC({"models", "pin", "2"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err, "mlcron models pin: version 2 is already pinned\n");
  r = MlcronC({"models", "unpin", "2", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(json::parse(r.out, nullptr, false), json({{"version", 2},
                                                      {"model", "result"},
                                                      {"segment", "E0"},
                                                      {"pinned", false},
                                                      {"actor", Me()}}))
      << r.out;
  r = MlcronC({"models", "unpin", "2"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err, "mlcron models unpin: version 2 is not pinned\n");
  r = MlcronC({"models", "audit", "result", "--segment", "E0", "--json", "-n", "2"});
  json j = json::parse(r.out, nullptr, false);
  ASSERT_EQ(j.size(), 2u) << r.out;
  EXPECT_EQ(j[0]["action"], "unpin");
  EXPECT_EQ(j[1]["action"], "pin");
  EXPECT_EQ(j[1]["from"], 2);
  EXPECT_EQ(j[1]["to"], 2);
  EXPECT_EQ(j[1]["actor"], Me());
}

TEST_F(CliModelsMovesTest, WithoutStateNothingMovesAndNothingIsCreated) {
  RunResult r = MlcronC({"models", "promote", "1"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err, "mlcron models promote: no models trained yet (" + state_dir().string() +
                       "/mlcron.db does not exist)\n");
  r = MlcronC({"models", "audit", "result"});
  EXPECT_EQ(r.exit_code, 1) << r;
  r = MlcronC({"models", "rollback", "result", "--bogus"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_FALSE(fs::exists(state_dir()));
}

}  // namespace
}  // namespace mlcron::testing
