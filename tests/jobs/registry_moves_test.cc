// Production moves by hand: promote (with and without --force), rollback, pin and unpin, each
// checked row by row in model_versions, model_production and model_audit; refusals that move
// nothing, including a tampered model file; and which version served at a given time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "daemon/sha256.h"
#include "jobs/model_store.h"
#include "jobs/registry.h"
#include "jobs/xgb_booster.h"

namespace mlcron {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

constexpr const char* kRejected =
    "log_loss 0.9712 vs production 0.9688: -0.2% < 2% required → rejected";

// A real model file of `rounds` trees (distinct bytes per count), trained once per count.
const std::string& ModelBytes(int rounds) {
  static std::map<int, std::string> cache;
  auto it = cache.find(rounds);
  if (it != cache.end()) return it->second;
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
  EXPECT_FALSE(bytes.empty()) << "training a " << rounds << "-tree model failed";
  return cache.emplace(rounds, std::move(bytes)).first->second;
}

class RegistryMovesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mlcron-moves-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    config_.state_dir = tmpl + "/state";
    auto opened = Registry::Open(config_);
    ASSERT_TRUE(opened.ok()) << opened.message();
    registry_ = std::move(opened).value();
  }
  void TearDown() override {
    registry_.reset();
    std::error_code ec;
    fs::remove_all(fs::path(config_.state_dir).parent_path(), ec);
  }

  // Registers a version of result/<segment> with a real file of `rounds` trees, as the
  // retrain job would: promoted (reason "gate passed"), or with `status`.
  std::int64_t Add(const std::string& segment, std::int64_t created_at, int rounds, bool promote,
                   const std::string& status = "candidate", const std::string& reason = "") {
    auto stored = StoreModelFile(config_.state_dir + "/models", "result", ModelBytes(rounds));
    EXPECT_TRUE(stored.ok()) << stored.message();
    ModelVersion v;
    v.model = "result";
    v.segment = segment;
    v.kind = "full";
    v.trees = rounds;
    v.file = stored.ok() ? stored->path : "";
    v.sha256 = stored.ok() ? stored->sha256 : "";
    v.created_at = created_at;
    v.status = promote ? "" : status;
    v.reason = promote ? "gate passed" : reason;
    auto id = registry_->AddVersion(v, promote, "retrain job retrain_result");
    EXPECT_TRUE(id.ok()) << id.message();
    return id.ok() ? *id : -1;
  }

  std::string FileOf(std::int64_t id) {
    auto v = registry_->Get(id);
    EXPECT_TRUE(v.ok() && v->has_value());
    return (v.ok() && *v) ? (*v)->file : "";
  }

  // Rows of a query as "a|b|c" strings, NULL as "NULL".
  std::vector<std::string> Query(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(registry_->db().handle(), sql.c_str(), -1, &stmt, nullptr),
              SQLITE_OK);
    std::vector<std::string> rows;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::string line;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const unsigned char* t = sqlite3_column_text(stmt, c);
        line += (c ? "|" : "") + (t ? std::string(reinterpret_cast<const char*>(t)) : "NULL");
      }
      rows.push_back(line);
    }
    sqlite3_finalize(stmt);
    return rows;
  }

  std::vector<std::string> Versions() {
    return Query("SELECT id, segment, status, reason, pinned FROM model_versions ORDER BY id");
  }
  std::vector<std::string> Pointers() {
    return Query("SELECT segment, version_id, since FROM model_production ORDER BY segment");
  }
  std::vector<std::string> AuditRows() {
    return Query(
        "SELECT id, at, segment, from_version, to_version, action, reason, actor FROM "
        "model_audit ORDER BY id");
  }

  Config config_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryMovesTest, PromoteMovesThePointerArchivesTheOldAndAudits) {
  Add("E0", 1000, 1, true);
  Add("E1", 1001, 1, true);  // another segment is never touched
  Add("E0", 1100, 2, false);
  auto moved = registry_->Promote(3, "alice", "better on last week's matches", false, 2000);
  ASSERT_TRUE(moved.ok()) << moved.message();
  EXPECT_EQ(moved->previous_status, "candidate");
  EXPECT_EQ(moved->audit.id, 3);
  EXPECT_EQ(moved->audit.at, 2000);
  EXPECT_EQ(moved->audit.model, "result");
  EXPECT_EQ(moved->audit.segment, "E0");
  EXPECT_EQ(moved->audit.from_version, 1);
  EXPECT_EQ(moved->audit.to_version, 3);
  EXPECT_EQ(moved->audit.action, "promote");
  EXPECT_EQ(moved->audit.reason, "better on last week's matches");
  EXPECT_EQ(moved->audit.actor, "alice");
  EXPECT_THAT(Versions(),
              ElementsAre("1|E0|archived|replaced by version 3|0", "2|E1|production|gate passed|0",
                          "3|E0|production|better on last week's matches|0"));
  EXPECT_THAT(Pointers(), ElementsAre("E0|3|2000", "E1|2|1001"));
  EXPECT_THAT(AuditRows(),
              ElementsAre("1|1000|E0|NULL|1|promote|gate passed|retrain job retrain_result",
                          "2|1001|E1|NULL|2|promote|gate passed|retrain job retrain_result",
                          "3|2000|E0|1|3|promote|better on last week's matches|alice"));
}

TEST_F(RegistryMovesTest, PromoteWithoutProductionAndWithoutReason) {
  Add("E0", 1000, 1, false);  // promote: manual leaves every version a candidate
  auto moved = registry_->Promote(1, "bob", "", false, 1500);
  ASSERT_TRUE(moved.ok()) << moved.message();
  EXPECT_EQ(moved->audit.from_version, std::nullopt);
  EXPECT_THAT(Versions(), ElementsAre("1|E0|production|manual promotion|0"));
  EXPECT_THAT(Pointers(), ElementsAre("E0|1|1500"));
  EXPECT_THAT(AuditRows(), ElementsAre("1|1500|E0|NULL|1|promote|manual promotion|bob"));
}

TEST_F(RegistryMovesTest, ARejectedVersionNeedsForceAndIsAuditedAsForced) {
  Add("E0", 1000, 1, true);
  Add("E0", 1100, 2, false, "rejected", kRejected);
  auto refused = registry_->Promote(2, "alice", "", false, 2000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(), std::string("version 2 is rejected (") + kRejected +
                                   "); promote it with --force to override the gate");
  EXPECT_THAT(Versions(), ElementsAre("1|E0|production|gate passed|0",
                                      std::string("2|E0|rejected|") + kRejected + "|0"));
  EXPECT_THAT(Pointers(), ElementsAre("E0|1|1000"));
  EXPECT_THAT(Query("SELECT count(*) FROM model_audit"), ElementsAre("1"));

  auto forced = registry_->Promote(2, "alice", "the holdout week was a cup week", true, 2000);
  ASSERT_TRUE(forced.ok()) << forced.message();
  EXPECT_EQ(forced->previous_status, "rejected");
  const std::string reason =
      std::string("forced: the holdout week was a cup week; it was rejected (") + kRejected + ")";
  EXPECT_THAT(Versions(), ElementsAre("1|E0|archived|replaced by version 2|0",
                                      "2|E0|production|" + reason + "|0"));
  EXPECT_THAT(Pointers(), ElementsAre("E0|2|2000"));
  EXPECT_THAT(AuditRows(), ElementsAre("1|1000|E0|NULL|1|promote|gate passed|retrain job "
                                       "retrain_result",
                                       "2|2000|E0|1|2|promote|" + reason + "|alice"));

  // The archived version 1 needs force too; without a reason the default is used.
  refused = registry_->Promote(1, "alice", "", false, 3000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(),
            "version 1 is archived (replaced by version 2); promote it with --force to bring it "
            "back");
  forced = registry_->Promote(1, "alice", "", true, 3000);
  ASSERT_TRUE(forced.ok()) << forced.message();
  EXPECT_EQ(forced->audit.reason,
            "forced: manual promotion; it was archived (replaced by version 2)");
  EXPECT_THAT(Pointers(), ElementsAre("E0|1|3000"));
}

TEST_F(RegistryMovesTest, ForceOnACandidateIsNotAForcedPromotion) {
  Add("E0", 1000, 1, true);
  Add("E0", 1100, 2, false);
  auto moved = registry_->Promote(2, "alice", "", true, 2000);
  ASSERT_TRUE(moved.ok()) << moved.message();
  EXPECT_EQ(moved->audit.reason, "manual promotion");
}

TEST_F(RegistryMovesTest, RefusalsMoveNothing) {
  Add("E0", 1000, 1, true);
  Add("E0", 1100, 2, false);
  ASSERT_TRUE(registry_->db()
                  .Exec("UPDATE model_versions SET status = 'deleted', reason = 'file removed "
                        "by retention (keep 3)' WHERE id = 2")
                  .ok());
  const auto versions = Versions();
  for (const bool force : {false, true}) {
    auto refused = registry_->Promote(2, "alice", "", force, 2000);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.message(),
              "version 2 is deleted (file removed by retention (keep 3)): its file is gone, so it "
              "cannot be promoted");
  }
  auto again = registry_->Promote(1, "alice", "", true, 2000);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.message(), "version 1 is already production");
  auto missing = registry_->Promote(42, "alice", "", false, 2000);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.message(), "no version 42");
  EXPECT_EQ(Versions(), versions);
  EXPECT_THAT(Pointers(), ElementsAre("E0|1|1000"));
  EXPECT_THAT(Query("SELECT count(*) FROM model_audit"), ElementsAre("1"));
}

TEST_F(RegistryMovesTest, PromoteVerifiesTheFileFirst) {
  Add("E0", 1000, 1, true);
  Add("E0", 1100, 2, false);
  const std::string file = FileOf(2);
  const std::string sha = (**registry_->Get(2)).sha256;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << ModelBytes(3);
  auto refused = registry_->Promote(2, "alice", "", false, 2000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(), "cannot promote version 2: model file " + file +
                                   ": SHA-256 mismatch (registered " + sha.substr(0, 12) +
                                   "…, found " + Sha256Hex(ModelBytes(3)).substr(0, 12) +
                                   "…): the file changed after it was registered; nothing was "
                                   "loaded; production unchanged");
  EXPECT_THAT(Pointers(), ElementsAre("E0|1|1000"));
  EXPECT_THAT(Query("SELECT status FROM model_versions WHERE id = 2"), ElementsAre("candidate"));
  EXPECT_THAT(Query("SELECT count(*) FROM model_audit"), ElementsAre("1"));
}

TEST_F(RegistryMovesTest, PromoteRefusesAFileThatIsNoModel) {
  Add("E0", 1000, 1, true);
  // Registered with its true SHA-256, so only parsing it can tell.
  auto stored = StoreModelFile(config_.state_dir + "/models", "result", "not a model");
  ASSERT_TRUE(stored.ok()) << stored.message();
  ModelVersion v;
  v.model = "result";
  v.segment = "E0";
  v.kind = "full";
  v.file = stored->path;
  v.sha256 = stored->sha256;
  v.created_at = 1100;
  ASSERT_TRUE(registry_->AddVersion(v, false, "me").ok());
  auto refused = registry_->Promote(2, "alice", "", false, 2000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(), "cannot promote version 2: model file " + stored->path +
                                   ": not a UBJ model: parse error at byte 1: syntax error while "
                                   "parsing UBJSON value: invalid byte: 0x6E; production "
                                   "unchanged");
  EXPECT_THAT(Pointers(), ElementsAre("E0|1|1000"));
  EXPECT_THAT(Query("SELECT count(*) FROM model_audit"), ElementsAre("1"));
}

TEST_F(RegistryMovesTest, RollbackReturnsToTheVersionProductionReplaced) {
  Add("E0", 1000, 1, true);
  Add("E0", 2000, 2, true);
  auto moved = registry_->Rollback("result", "E0", "alice", 3000);
  ASSERT_TRUE(moved.ok()) << moved.message();
  EXPECT_EQ(moved->previous_status, "archived");
  EXPECT_EQ(moved->audit.action, "rollback");
  EXPECT_EQ(moved->audit.from_version, 2);
  EXPECT_EQ(moved->audit.to_version, 1);
  EXPECT_THAT(Versions(), ElementsAre("1|E0|production|rolled back from version 2|0",
                                      "2|E0|archived|rolled back to version 1|0"));
  EXPECT_THAT(Pointers(), ElementsAre("E0|1|3000"));
  EXPECT_THAT(AuditRows(),
              ElementsAre("1|1000|E0|NULL|1|promote|gate passed|retrain job retrain_result",
                          "2|2000|E0|1|2|promote|gate passed|retrain job retrain_result",
                          "3|3000|E0|2|1|rollback|rolled back from version 2|alice"));
  // The row that made version 1 production came from version 2: a second rollback undoes the
  // first.
  moved = registry_->Rollback("result", "E0", "bob", 4000);
  ASSERT_TRUE(moved.ok()) << moved.message();
  EXPECT_THAT(Pointers(), ElementsAre("E0|2|4000"));
  EXPECT_THAT(AuditRows().back(), "4|4000|E0|1|2|rollback|rolled back from version 1|bob");
}

TEST_F(RegistryMovesTest, RollbackWithoutAPreviousVersionIsRefused) {
  Add("E0", 1000, 1, true);
  Add("E1", 1000, 2, false);
  auto refused = registry_->Rollback("result", "E0", "alice", 3000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(),
            "model result [E0] has no previous production version to roll back to");
  refused = registry_->Rollback("result", "E1", "alice", 3000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(), "model result [E1] has no production version to roll back");

  Add("E0", 2000, 3, true);
  ASSERT_TRUE(
      registry_->db().Exec("UPDATE model_versions SET status = 'deleted' WHERE id = 1").ok());
  refused = registry_->Rollback("result", "E0", "alice", 3000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(),
            "model result [E0] has no previous production version to roll back to: version 1 is "
            "deleted (its file is gone)");
  EXPECT_THAT(Pointers(), ElementsAre("E0|3|2000"));
  EXPECT_THAT(Query("SELECT count(*) FROM model_audit"), ElementsAre("2"));
}

TEST_F(RegistryMovesTest, RollbackToATamperedFileLeavesProductionAlone) {
  Add("E0", 1000, 1, true);
  Add("E0", 2000, 2, true);
  const std::string file = FileOf(1);
  const std::string sha = (**registry_->Get(1)).sha256;
  std::string bytes = ModelBytes(1);
  bytes[bytes.size() / 2] ^= 1;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  const auto versions = Versions();
  auto refused = registry_->Rollback("result", "E0", "alice", 3000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(), "cannot roll back model result [E0] to version 1: model file " +
                                   file + ": SHA-256 mismatch (registered " + sha.substr(0, 12) +
                                   "…, found " + Sha256Hex(bytes).substr(0, 12) +
                                   "…): the file changed after it was registered; nothing was "
                                   "loaded; production unchanged");
  EXPECT_EQ(Versions(), versions);
  EXPECT_THAT(Pointers(), ElementsAre("E0|2|2000"));
  EXPECT_THAT(Query("SELECT count(*) FROM model_audit"), ElementsAre("2"));

  fs::remove(file);
  refused = registry_->Rollback("result", "E0", "alice", 3000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(), "cannot roll back model result [E0] to version 1: model file " +
                                   file +
                                   ": cannot open: No such file or directory; production "
                                   "unchanged");
  EXPECT_THAT(Pointers(), ElementsAre("E0|2|2000"));
}

TEST_F(RegistryMovesTest, PinAndUnpinAreAudited) {
  Add("E0", 1000, 1, true);
  Add("E0", 1100, 2, false);
  ASSERT_TRUE(registry_->Pin(2, "alice", 2000).ok());
  EXPECT_EQ(*registry_->Pinned(2), true);
  EXPECT_EQ(*registry_->Pinned(1), false);
  Status again = registry_->Pin(2, "alice", 2001);
  EXPECT_EQ(again.message(), "version 2 is already pinned");
  ASSERT_TRUE(registry_->Unpin(2, "bob", 3000).ok());
  again = registry_->Unpin(2, "bob", 3001);
  EXPECT_EQ(again.message(), "version 2 is not pinned");
  EXPECT_EQ(registry_->Pin(9, "alice", 3002).message(), "no version 9");
  ASSERT_TRUE(
      registry_->db().Exec("UPDATE model_versions SET status = 'deleted' WHERE id = 2").ok());
  EXPECT_EQ(registry_->Pin(2, "alice", 3003).message(),
            "version 2 is deleted (its file is gone); there is nothing to pin");
  EXPECT_THAT(Query("SELECT id, pinned FROM model_versions ORDER BY id"),
              ElementsAre("1|0", "2|0"));
  EXPECT_THAT(AuditRows(),
              ElementsAre("1|1000|E0|NULL|1|promote|gate passed|retrain job retrain_result",
                          "2|2000|E0|2|2|pin|pinned: retention keeps its file|alice",
                          "3|3000|E0|2|2|unpin|unpinned: retention may remove its file|bob"));
  // Pin rows never count as moves: production and its previous version are unchanged.
  EXPECT_THAT(Pointers(), ElementsAre("E0|1|1000"));
  auto refused = registry_->Rollback("result", "E0", "alice", 4000);
  EXPECT_EQ(refused.message(),
            "model result [E0] has no previous production version to roll back to");
}

TEST_F(RegistryMovesTest, ProductionAtFollowsPromotionsAndRollbacks) {
  Add("E0", 1000, 1, true);
  Add("E1", 1500, 1, true);
  Add("E0", 2000, 2, true);
  ASSERT_TRUE(registry_->Rollback("result", "E0", "alice", 3000).ok());
  ASSERT_TRUE(registry_->Pin(3, "alice", 3500).ok());
  auto at = [&](std::int64_t t) -> std::string {
    auto found = registry_->ProductionAt("result", "E0", t);
    EXPECT_TRUE(found.ok()) << found.message();
    if (!found.ok() || !*found) return "none";
    const AuditRecord& a = **found;
    return std::to_string(*a.to_version) + " by row " + std::to_string(a.id) + " (" + a.action +
           " at " + std::to_string(a.at) + ")";
  };
  EXPECT_EQ(at(999), "none");
  EXPECT_EQ(at(1000), "1 by row 1 (promote at 1000)");
  EXPECT_EQ(at(1999), "1 by row 1 (promote at 1000)");
  EXPECT_EQ(at(2000), "3 by row 3 (promote at 2000)");
  EXPECT_EQ(at(2999), "3 by row 3 (promote at 2000)");
  EXPECT_EQ(at(3000), "1 by row 4 (rollback at 3000)");
  EXPECT_EQ(at(9999), "1 by row 4 (rollback at 3000)");  // the pin row at 3500 is no move
  auto e1 = registry_->ProductionAt("result", "E1", 9999);
  ASSERT_TRUE(e1.ok() && e1->has_value());
  EXPECT_EQ((*e1)->to_version, 2);
  auto other = registry_->ProductionAt("goals", "", 9999);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TEST_F(RegistryMovesTest, AuditIsNewestFirstPerModelAndSegment) {
  Add("E0", 1000, 1, true);
  Add("E1", 1500, 1, true);
  Add("E0", 2000, 2, true);
  auto all = registry_->Audit("result", "", 0);
  ASSERT_TRUE(all.ok()) << all.message();
  std::vector<std::string> ids;
  for (const auto& a : *all) ids.push_back(std::to_string(a.id) + a.segment);
  EXPECT_THAT(ids, ElementsAre("3E0", "2E1", "1E0"));
  auto e0 = registry_->Audit("result", "E0", 1);
  ASSERT_TRUE(e0.ok()) << e0.message();
  ASSERT_EQ(e0->size(), 1u);
  EXPECT_EQ((*e0)[0].id, 3);
  EXPECT_EQ((*e0)[0].from_version, 1);
  auto none = registry_->Audit("goals", "", 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_THAT(*registry_->Segments("result"), ElementsAre("E0", "E1"));
  EXPECT_TRUE(registry_->Segments("goals")->empty());
}

}  // namespace
}  // namespace mlcron
