// The model registry in mlcron.db: versions, the production pointer, the audit trail and
// retrain decisions, checked row by row; and migration 2 over a v1 database.
#include "jobs/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "daemon/state_migrations.h"
#include "daemon/state_store.h"
#include "jobs/model_store.h"

namespace mlcron {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

constexpr const char* kNoGate = "promoted without evaluation: the promotion gate is not built yet";

// SqlValue's factories live in sql_value.cc; these tests build values field by field.
SqlValue Int(std::int64_t i) {
  SqlValue v;
  v.type = SqlValue::Type::kInteger;
  v.i = i;
  return v;
}

SqlValue Text(std::string s) {
  SqlValue v;
  v.type = SqlValue::Type::kText;
  v.s = std::move(s);
  return v;
}

SqlValue Real(double r) {
  SqlValue v;
  v.type = SqlValue::Type::kReal;
  v.r = r;
  return v;
}

// "integer:5", "text:2017-05-28", "real:2.5", "null".
std::string Typed(const SqlValue& v) {
  switch (v.type) {
    case SqlValue::Type::kNull:
      return "null";
    case SqlValue::Type::kInteger:
      return "integer:" + std::to_string(v.i);
    case SqlValue::Type::kReal:
      return "real:" + std::to_string(v.r);
    case SqlValue::Type::kText:
      return "text:" + v.s;
  }
  return "?";
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mlcron-registry-XXXXXX").string();
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

  static ModelVersion Version(const std::string& segment, std::int64_t created_at) {
    ModelVersion v;
    v.model = "result";
    v.segment = segment;
    v.kind = "full";
    v.fingerprint = "fp1";
    v.file = "/m/result/" + std::to_string(created_at) + ".ubj";
    v.sha256 = "ab" + std::to_string(created_at);
    v.created_at = created_at;
    v.reason = kNoGate;
    return v;
  }

  std::int64_t Add(ModelVersion v, bool promote) {
    auto id = registry_->AddVersion(std::move(v), promote, "retrain_result");
    EXPECT_TRUE(id.ok()) << id.message();
    return id.ok() ? *id : -1;
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

  Config config_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, FirstPromotionMovesThePointerAndAudits) {
  const std::int64_t id = Add(Version("E0", 1000), true);
  EXPECT_EQ(id, 1);
  EXPECT_THAT(Query("SELECT id, model, segment, status, reason, created_at FROM model_versions"),
              ElementsAre(std::string("1|result|E0|production|") + kNoGate + "|1000"));
  EXPECT_THAT(Query("SELECT model, segment, version_id, since FROM model_production"),
              ElementsAre("result|E0|1|1000"));
  EXPECT_THAT(
      Query("SELECT id, at, model, segment, from_version, to_version, action, reason, "
            "actor FROM model_audit"),
      ElementsAre(std::string("1|1000|result|E0|NULL|1|promote|") + kNoGate + "|retrain_result"));
  auto production = registry_->Production("result", "E0");
  ASSERT_TRUE(production.ok() && production->has_value()) << production.message();
  EXPECT_EQ((*production)->id, 1);
  EXPECT_EQ((*production)->status, "production");
}

TEST_F(RegistryTest, PromotionArchivesTheOldProductionInOneStep) {
  Add(Version("E0", 1000), true);
  Add(Version("E1", 1001), true);  // another segment is never touched
  ModelVersion next = Version("E0", 2000);
  next.kind = "incremental";
  next.parent = 1;
  next.chain = 1;
  next.full_at = 1000;
  next.reason = "log_loss 0.91 < 0.95 by 4.2%";
  const std::int64_t id = Add(next, true);
  EXPECT_EQ(id, 3);
  EXPECT_THAT(Query("SELECT id, segment, status, reason, parent FROM model_versions ORDER BY id"),
              ElementsAre("1|E0|archived|replaced by version 3|NULL",
                          std::string("2|E1|production|") + kNoGate + "|NULL",
                          "3|E0|production|log_loss 0.91 < 0.95 by 4.2%|1"));
  EXPECT_THAT(Query("SELECT model, segment, version_id, since FROM model_production "
                    "ORDER BY segment"),
              ElementsAre("result|E0|3|2000", "result|E1|2|1001"));
  EXPECT_THAT(Query("SELECT id, at, segment, from_version, to_version, action, reason, actor "
                    "FROM model_audit ORDER BY id"),
              ElementsAre(std::string("1|1000|E0|NULL|1|promote|") + kNoGate + "|retrain_result",
                          std::string("2|1001|E1|NULL|2|promote|") + kNoGate + "|retrain_result",
                          "3|2000|E0|1|3|promote|log_loss 0.91 < 0.95 by 4.2%|retrain_result"));
  auto audit = registry_->AuditOf(1);
  ASSERT_TRUE(audit.ok()) << audit.message();
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].id, 1);
  EXPECT_EQ((*audit)[0].from_version, std::nullopt);
  EXPECT_EQ((*audit)[0].to_version, 1);
  EXPECT_EQ((*audit)[1].id, 3);
  EXPECT_EQ((*audit)[1].from_version, 1);
  EXPECT_EQ((*audit)[1].to_version, 3);
  EXPECT_EQ((*audit)[1].at, 2000);
  EXPECT_EQ((*audit)[1].action, "promote");
  EXPECT_EQ((*audit)[1].actor, "retrain_result");
  EXPECT_EQ((**registry_->Production("result", "E0")).id, 3);
  EXPECT_EQ((**registry_->Production("result", "E1")).id, 2);
}

TEST_F(RegistryTest, WithoutPromoteTheStatusIsKeptAndProductionUntouched) {
  Add(Version("", 1000), true);
  ModelVersion candidate = Version("", 2000);
  candidate.status = "";  // the default
  ModelVersion rejected = Version("", 3000);
  rejected.status = "rejected";
  rejected.reason = "log_loss 0.97 is not 2% better than 0.95";
  EXPECT_EQ(Add(candidate, false), 2);
  EXPECT_EQ(Add(rejected, false), 3);
  EXPECT_THAT(
      Query("SELECT id, status, reason FROM model_versions ORDER BY id"),
      ElementsAre(std::string("1|production|") + kNoGate, std::string("2|candidate|") + kNoGate,
                  "3|rejected|log_loss 0.97 is not 2% better than 0.95"));
  EXPECT_THAT(Query("SELECT version_id FROM model_production"), ElementsAre("1"));
  EXPECT_THAT(Query("SELECT count(*) FROM model_audit"), ElementsAre("1"));
}

TEST_F(RegistryTest, RefusesANewVersionInAFinalStatus) {
  ModelVersion v = Version("E0", 1000);
  v.status = "archived";
  auto id = registry_->AddVersion(v, false, "me");
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.message(), "state database " + config_.state_dir +
                              "/mlcron.db: model_versions: new version of result/E0: cannot "
                              "start as \"archived\" (candidate or rejected, or promote it)");
  v.status = "candidate";
  v.file = "";
  id = registry_->AddVersion(v, false, "me");
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.message(), "state database " + config_.state_dir +
                              "/mlcron.db: model_versions: new version of result/E0: file and "
                              "sha256 are required (store the model file first)");
  EXPECT_THAT(Query("SELECT count(*) FROM model_versions"), ElementsAre("0"));
}

TEST_F(RegistryTest, AFailedPromotionChangesNothing) {
  Add(Version("E0", 1000), true);
  ModelVersion bad = Version("E0", 2000);
  bad.parent = 99;  // no such version: the foreign key fails inside the transaction
  auto id = registry_->AddVersion(bad, true, "me");
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(id.message(), ::testing::HasSubstr("FOREIGN KEY constraint failed"));
  EXPECT_THAT(Query("SELECT id, status FROM model_versions"), ElementsAre("1|production"));
  EXPECT_THAT(Query("SELECT version_id FROM model_production"), ElementsAre("1"));
  EXPECT_THAT(Query("SELECT count(*) FROM model_audit"), ElementsAre("1"));
}

TEST_F(RegistryTest, WindowBoundsKeepTheirStoredType) {
  ModelVersion v = Version("E0", 1000);
  v.train_from = Int(1'600'000'000);
  v.train_to = Int(1'700'000'000);
  v.holdout_from = Text("2017-05-28");
  v.holdout_to = Real(2.5);
  const std::int64_t id = Add(v, false);
  EXPECT_THAT(Query("SELECT typeof(train_from), typeof(train_to), typeof(holdout_from), "
                    "typeof(holdout_to) FROM model_versions"),
              ElementsAre("integer|integer|text|real"));
  // Compared in SQL as the data's time column compares: an integer never equals its text.
  EXPECT_THAT(Query("SELECT train_to = 1700000000, train_to = '1700000000', "
                    "holdout_from = '2017-05-28' FROM model_versions"),
              ElementsAre("1|0|1"));
  auto got = registry_->Get(id);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.message();
  EXPECT_EQ(Typed((*got)->train_from), "integer:1600000000");
  EXPECT_EQ(Typed((*got)->train_to), "integer:1700000000");
  EXPECT_EQ(Typed((*got)->holdout_from), "text:2017-05-28");
  EXPECT_EQ(Typed((*got)->holdout_to), "real:2.500000");
  ModelVersion empty = Version("E0", 2000);
  auto got_empty = registry_->Get(Add(empty, false));
  ASSERT_TRUE(got_empty.ok() && got_empty->has_value());
  EXPECT_EQ(Typed((*got_empty)->train_to), "null");
}

TEST_F(RegistryTest, EveryFieldRoundTrips) {
  Add(Version("E0", 1000), true);
  ModelVersion v;
  v.model = "result";
  v.segment = "E0";
  v.parent = 1;
  v.kind = "incremental";
  v.fingerprint = "9f86d081884c";
  v.fingerprint_text = R"({"features":["a","b"]})";
  v.params_json = R"({"eta":"0.05","max_depth":"4"})";
  v.features = {"home_form", "away_form", "goal_diff_5"};
  v.objective = "multi:softprob";
  v.num_class = 3;
  v.trees = 330;
  v.rows = 1200;
  v.train_from = Text("2016-08-13");
  v.train_to = Text("2017-05-21");
  v.holdout_from = Text("2017-05-22");
  v.holdout_to = Text("2017-05-28");
  v.holdout_rows = 40;
  v.duration_s = 1.25;
  v.file = "/s/models/result/ab.ubj";
  v.sha256 = "ab";
  v.status = "rejected";
  v.reason = "worse";
  v.created_at = 2000;
  v.chain = 2;
  v.full_at = 1000;
  v.run_id = "77";
  v.metrics_json = R"({"holdout":{"log_loss":0.97}})";
  const std::int64_t id = Add(v, false);
  auto got = registry_->Get(id);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.message();
  const ModelVersion& g = **got;
  EXPECT_EQ(g.id, 2);
  EXPECT_EQ(g.model, v.model);
  EXPECT_EQ(g.segment, v.segment);
  EXPECT_EQ(g.parent, 1);
  EXPECT_EQ(g.kind, v.kind);
  EXPECT_EQ(g.fingerprint, v.fingerprint);
  EXPECT_EQ(g.fingerprint_text, v.fingerprint_text);
  EXPECT_EQ(g.params_json, v.params_json);
  EXPECT_EQ(g.features, v.features);
  EXPECT_EQ(g.objective, v.objective);
  EXPECT_EQ(g.num_class, 3);
  EXPECT_EQ(g.trees, 330);
  EXPECT_EQ(g.rows, 1200);
  EXPECT_EQ(Typed(g.train_from), "text:2016-08-13");
  EXPECT_EQ(Typed(g.train_to), "text:2017-05-21");
  EXPECT_EQ(Typed(g.holdout_from), "text:2017-05-22");
  EXPECT_EQ(Typed(g.holdout_to), "text:2017-05-28");
  EXPECT_EQ(g.holdout_rows, 40);
  EXPECT_EQ(g.duration_s, 1.25);
  EXPECT_EQ(g.file, v.file);
  EXPECT_EQ(g.sha256, v.sha256);
  EXPECT_EQ(g.status, "rejected");
  EXPECT_EQ(g.reason, "worse");
  EXPECT_EQ(g.created_at, 2000);
  EXPECT_EQ(g.chain, 2);
  EXPECT_EQ(g.full_at, 1000);
  EXPECT_EQ(g.run_id, "77");
  EXPECT_EQ(g.metrics_json, v.metrics_json);
  EXPECT_THAT(Query("SELECT features_json FROM model_versions WHERE id = 2"),
              ElementsAre(R"(["home_form","away_form","goal_diff_5"])"));
}

TEST_F(RegistryTest, AFullVersionStartsItsOwnChain) {
  ModelVersion v = Version("", 0);  // created_at 0: now
  const auto before = std::chrono::system_clock::now();
  auto got = registry_->Get(Add(v, false));
  ASSERT_TRUE(got.ok() && got->has_value());
  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(before.time_since_epoch()).count();
  EXPECT_GE((*got)->created_at, now_s);
  EXPECT_LE((*got)->created_at, now_s + 5);
  EXPECT_EQ((*got)->full_at, (*got)->created_at);
}

TEST_F(RegistryTest, LastAttemptIsTheNewestWhateverItsStatus) {
  EXPECT_FALSE(registry_->LastAttempt("result", "E0")->has_value());
  Add(Version("E0", 1000), true);
  ModelVersion rejected = Version("E0", 2000);
  rejected.status = "rejected";
  Add(rejected, false);
  Add(Version("E1", 3000), true);
  auto last = registry_->LastAttempt("result", "E0");
  ASSERT_TRUE(last.ok() && last->has_value()) << last.message();
  EXPECT_EQ((*last)->id, 2);
  EXPECT_EQ((*last)->status, "rejected");
  EXPECT_EQ((**registry_->Production("result", "E0")).id, 1);
  EXPECT_EQ((**registry_->LastAttempt("result", "E1")).id, 3);
  EXPECT_FALSE(registry_->LastAttempt("result", "")->has_value());
  EXPECT_FALSE(registry_->Production("result", "E2")->has_value());
}

TEST_F(RegistryTest, ListIsNewestFirstAndFiltered) {
  Add(Version("E0", 1000), true);
  Add(Version("E1", 1001), true);
  Add(Version("E0", 1002), false);
  ModelVersion other = Version("E0", 1003);
  other.model = "goals";
  Add(other, true);
  auto ids = [&](const std::string& model, const std::string& segment, int limit) {
    std::vector<std::int64_t> out;
    auto listed = registry_->List(model, segment, limit);
    EXPECT_TRUE(listed.ok()) << listed.message();
    if (listed.ok()) {
      for (const auto& v : *listed) out.push_back(v.id);
    }
    return out;
  };
  EXPECT_THAT(ids("", "", 0), ElementsAre(4, 3, 2, 1));
  EXPECT_THAT(ids("", "", 2), ElementsAre(4, 3));
  EXPECT_THAT(ids("result", "", 0), ElementsAre(3, 2, 1));
  EXPECT_THAT(ids("result", "E0", 0), ElementsAre(3, 1));
  EXPECT_THAT(ids("", "E0", 0), ElementsAre(4, 3, 1));
  EXPECT_THAT(ids("nope", "", 0), ElementsAre());
}

TEST_F(RegistryTest, DecisionsAreNewestFirst) {
  Add(Version("E0", 1000), true);
  DecisionRecord d;
  d.model = "result";
  d.segment = "E0";
  d.run_id = "5";
  d.decided_at = 1000;
  d.decision = "full";
  d.summary = "no production model → full";
  d.new_rows = 300;
  d.version = 1;
  ASSERT_TRUE(registry_->RecordDecision(d).ok());
  d.decided_at = 2000;
  d.decision = "skip";
  d.summary = "fingerprint unchanged; 42 new rows < 100; model 3 d old < 7 d → skip";
  d.new_rows = 42;
  d.version.reset();
  ASSERT_TRUE(registry_->RecordDecision(d).ok());
  d.model = "goals";
  d.decided_at = 1500;  // recorded later with an earlier time: order is by insertion
  ASSERT_TRUE(registry_->RecordDecision(d).ok());

  auto all = registry_->Decisions("", 0);
  ASSERT_TRUE(all.ok()) << all.message();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, 3);
  EXPECT_EQ((*all)[0].model, "goals");
  auto result = registry_->Decisions("result", 10);
  ASSERT_TRUE(result.ok()) << result.message();
  ASSERT_EQ(result->size(), 2u);
  const DecisionRecord& skip = (*result)[0];
  EXPECT_EQ(skip.id, 2);
  EXPECT_EQ(skip.segment, "E0");
  EXPECT_EQ(skip.run_id, "5");
  EXPECT_EQ(skip.decided_at, 2000);
  EXPECT_EQ(skip.decision, "skip");
  EXPECT_EQ(skip.summary, "fingerprint unchanged; 42 new rows < 100; model 3 d old < 7 d → skip");
  EXPECT_EQ(skip.new_rows, 42);
  EXPECT_EQ(skip.version, std::nullopt);
  EXPECT_EQ((*result)[1].id, 1);
  EXPECT_EQ((*result)[1].decision, "full");
  EXPECT_EQ((*result)[1].version, 1);
  EXPECT_EQ(registry_->Decisions("result", 1)->size(), 1u);
}

// What the retrain job does: store the file, then register it. A full disk fails the first
// step, so the registry never names a file that is not there.
TEST_F(RegistryTest, AFullDiskLeavesTheRegistryUntouched) {
  Add(Version("E0", 1000), true);
  const std::string models = config_.state_dir + "/models";
  auto full_disk = [](int fd, std::string_view b) -> Status {
    if (Status s = WriteAllToFd(fd, b.substr(0, b.size() / 2)); !s.ok()) return s;
    return Status::Error(std::strerror(ENOSPC));
  };
  auto stored = StoreModelFile(models, "result", std::string(1000, 'm'), full_disk);
  ASSERT_FALSE(stored.ok());
  EXPECT_THAT(stored.message(), ::testing::EndsWith(": writing failed: No space left on device"));
  EXPECT_TRUE(fs::is_empty(models + "/result"));
  EXPECT_THAT(Query("SELECT id, status FROM model_versions"), ElementsAre("1|production"));
  EXPECT_THAT(Query("SELECT version_id FROM model_production"), ElementsAre("1"));
}

// A database the daemon created before the registry existed: migration 2 adds the registry
// and keeps every run.
TEST(RegistryMigrationTest, AVersionOneDatabaseKeepsItsRuns) {
  std::string tmpl = (fs::temp_directory_path() / "mlcron-registry-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  Config config;
  config.state_dir = tmpl;
  const std::string path = tmpl + "/mlcron.db";
  {
    auto raw = SqliteDb::Open(path, "state database", std::chrono::seconds(1));
    ASSERT_TRUE(raw.ok()) << raw.message();
    ASSERT_EQ(*ApplyMigrations(**raw, StateMigrations().first(1)), 1);
    ASSERT_TRUE((*raw)
                    ->Exec("INSERT INTO runs (id, job, scheduled, \"trigger\", attempt, status) "
                           "VALUES (7, 'train', 1700000000, 'schedule', 1, 'succeeded')")
                    .ok());
  }
  {
    auto registry = Registry::Open(config);
    ASSERT_TRUE(registry.ok()) << registry.message();
    EXPECT_EQ(*UserVersion((*registry)->db()), LatestStateSchemaVersion());
    EXPECT_TRUE((*registry)->List("", "", 0)->empty());
    ModelVersion v;
    v.model = "m";
    v.kind = "full";
    v.file = "/f.ubj";
    v.sha256 = "ab";
    v.created_at = 1;
    EXPECT_EQ(*(*registry)->AddVersion(v, true, "me"), 1);
  }
  auto store = StateStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.message();
  EXPECT_EQ((*store)->SchemaVersion(), LatestStateSchemaVersion());
  auto run = (*store)->GetRun(7);
  ASSERT_TRUE(run.ok() && run->has_value()) << run.message();
  EXPECT_EQ((*run)->job, "train");
  EXPECT_EQ((*run)->status, RunStatus::kSucceeded);
  std::error_code ec;
  fs::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace mlcron
