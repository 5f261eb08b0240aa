// Retention of model files and the crash repair of the model store: which versions keep
// their files, the registry rows and files afterwards, the dry run, the archive, and every
// crash leftover RepairModelStore removes or reports. Model bytes are small strings: retention
// never reads a model.
#include "jobs/retention.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "daemon/sha256.h"
#include "jobs/model_store.h"

namespace mlcron {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string Entry(const RetentionEntry& e) {
  return std::to_string(e.version) + (e.remove ? " remove: " : " keep: ") + e.why;
}

// "path: why" for each action.
std::vector<std::string> Texts(const std::vector<RepairAction>& actions) {
  std::vector<std::string> out;
  for (const auto& a : actions) out.push_back(a.path + ": " + a.why);
  return out;
}

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mlcron-retention-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    config_.state_dir = (root_ / "state").string();
    auto opened = Registry::Open(config_);
    ASSERT_TRUE(opened.ok()) << opened.message();
    registry_ = std::move(opened).value();
    model_.name = "result";
    model_.keep = 2;
  }
  void TearDown() override {
    registry_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::string ModelsDir() const { return config_.state_dir + "/models"; }
  std::string PathOf(const std::string& bytes, const std::string& model = "result") const {
    return ModelsDir() + "/" + model + "/" + Sha256Hex(bytes) + ".ubj";
  }

  // Stores `bytes` and registers a version of them: promoted, or with `status`.
  std::int64_t Add(const std::string& segment, const std::string& bytes, bool promote,
                   const std::string& status = "rejected", const std::string& model = "result") {
    auto stored = StoreModelFile(ModelsDir(), model, bytes);
    EXPECT_TRUE(stored.ok()) << stored.message();
    ModelVersion v;
    v.model = model;
    v.segment = segment;
    v.kind = "full";
    v.file = stored->path;
    v.sha256 = stored->sha256;
    v.status = promote ? "" : status;
    v.reason = promote ? "better" : "worse";
    auto id = registry_->AddVersion(v, promote, "test");
    EXPECT_TRUE(id.ok()) << id.message();
    return id.ok() ? *id : -1;
  }

  void Sql(const std::string& sql) { ASSERT_TRUE(registry_->db().Exec(sql).ok()) << sql; }

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

  std::vector<std::string> Rows() {
    return Query("SELECT id, status, reason FROM model_versions ORDER BY id");
  }

  // Every file under the state folder, relative to it, sorted.
  std::vector<std::string> Files() {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(config_.state_dir)) {
      if (e.is_regular_file() && e.path().filename().string().rfind("mlcron.db", 0) != 0) {
        out.push_back(fs::relative(e.path(), config_.state_dir).string());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  static std::string Rel(const std::string& bytes, const std::string& model = "result") {
    return "models/" + model + "/" + Sha256Hex(bytes) + ".ubj";
  }

  // A leftover of a crash before this run: older than RepairModelStore's minimum age.
  static void Age(const std::string& path) {
    fs::last_write_time(path, fs::file_time_type::clock::now() - std::chrono::hours(2));
  }

  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  RetentionResult Apply(bool dry_run) {
    auto r = ApplyRetention(*registry_, config_, model_, dry_run);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? *r : RetentionResult{};
  }

  RepairReport Repair(std::chrono::seconds min_age = kRepairMinAge) {
    auto r = RepairModelStore(*registry_, config_, min_age);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? *r : RepairReport{};
  }

  // result/E0: 1 production then archived, 2 rejected (pinned), 3 production then the
  // previous production, 4 and 5 rejected, 6 production, 7 rejected; result/E1: 8
  // production; goals: 9. With keep 2, versions 1, 4 and 5 go.
  void History() {
    Add("E0", "v1", true);
    Add("E0", "v2", false);
    Add("E0", "v3", true);
    Add("E0", "v4", false);
    Add("E0", "v5", false, "candidate");
    Add("E0", "v6", true);
    Add("E0", "v7", false);
    Add("E1", "v8", true);
    Add("", "v9", false, "rejected", "goals");
    Sql("UPDATE model_versions SET pinned = 1 WHERE id = 2");
  }

  fs::path root_;
  Config config_;
  ModelConfig model_;
  std::unique_ptr<Registry> registry_;
};

TEST(DecideRetentionTest, KeepsTheNewestAndEveryProtectedVersion) {
  auto v = [](std::int64_t id, bool pinned = false) {
    RetentionEntry e;
    e.version = id;
    e.pinned = pinned;
    return e;
  };
  auto decided = DecideRetention({v(1), v(5, true), v(3), v(4), v(2)}, 1, 5, 1);
  std::vector<std::string> got;
  for (const auto& e : decided) got.push_back(Entry(e));
  EXPECT_THAT(got, ElementsAre("5 keep: production, pinned, within keep 1",
                               "4 remove: beyond keep 1", "3 remove: beyond keep 1",
                               "2 remove: beyond keep 1", "1 keep: previous production"));
  got.clear();
  for (const auto& e : DecideRetention({v(1), v(2)}, 10, std::nullopt, std::nullopt)) {
    got.push_back(Entry(e));
  }
  EXPECT_THAT(got, ElementsAre("2 keep: within keep 10", "1 keep: within keep 10"));
}

TEST_F(RetentionTest, PlanKeepsNAndProtectsProductionPreviousAndPinned) {
  History();
  auto plan = PlanRetention(*registry_, model_);
  ASSERT_TRUE(plan.ok()) << plan.message();
  std::vector<std::string> got;
  for (const auto& e : plan->entries) got.push_back(e.segment + " " + e.status + " " + Entry(e));
  EXPECT_THAT(got, ElementsAre("E0 rejected 7 keep: within keep 2",
                               "E0 production 6 keep: production, within keep 2",
                               "E0 candidate 5 remove: beyond keep 2",
                               "E0 rejected 4 remove: beyond keep 2",
                               "E0 archived 3 keep: previous production",
                               "E0 rejected 2 keep: pinned", "E0 archived 1 remove: beyond keep 2",
                               "E1 production 8 keep: production, within keep 2"));
  EXPECT_EQ(plan->Removals(), 3u);
}

TEST_F(RetentionTest, ApplyMarksRowsDeletedThenRemovesTheirFiles) {
  History();
  RetentionResult r = Apply(false);
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.deleted, 3);
  EXPECT_EQ(r.files_removed, 3);
  EXPECT_EQ(r.files_archived, 0);
  const std::string gone = "retention: beyond keep 2; file removed";
  EXPECT_THAT(Rows(), ElementsAre("1|deleted|" + gone, "2|rejected|worse",
                                  "3|archived|replaced by version 6", "4|deleted|" + gone,
                                  "5|deleted|" + gone, "6|production|better", "7|rejected|worse",
                                  "8|production|better", "9|rejected|worse"));
  std::vector<std::string> want = {Rel("v2"), Rel("v3"), Rel("v6"),
                                   Rel("v7"), Rel("v8"), Rel("v9", "goals")};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Files(), want);
  // A second run finds nothing more to do, and repair nothing to repair.
  RetentionResult again = Apply(false);
  EXPECT_EQ(again.deleted, 0);
  EXPECT_EQ(again.outcomes.size(), 5u);
  RepairReport repair = Repair(std::chrono::seconds(0));
  EXPECT_THAT(repair.removed, IsEmpty());
  EXPECT_THAT(repair.left, IsEmpty());
  EXPECT_THAT(repair.problems, IsEmpty());
}

TEST_F(RetentionTest, DryRunChangesNothing) {
  History();
  const auto rows = Rows();
  const auto files = Files();
  RetentionResult r = Apply(true);
  EXPECT_TRUE(r.dry_run);
  EXPECT_EQ(r.deleted, 3);
  EXPECT_EQ(r.files_removed, 3);
  std::vector<std::string> notes;
  for (const auto& o : r.outcomes) {
    if (o.entry.remove) notes.push_back(std::to_string(o.entry.version) + " " + o.note);
  }
  EXPECT_THAT(notes, ElementsAre("5 file would be removed", "4 file would be removed",
                                 "1 file would be removed"));
  EXPECT_EQ(Rows(), rows);
  EXPECT_EQ(Files(), files);
}

TEST_F(RetentionTest, AFileSharedByTwoRowsGoesWithTheLastOne) {
  model_.keep = 1;
  Add("E0", "same", false);  // 1
  Add("E0", "same", false);  // 2
  Add("E0", "other", true);  // 3
  Add("E0", "same", false);  // 4, newest: within keep 1
  RetentionResult dry = Apply(true);
  std::vector<std::string> notes;
  for (const auto& o : dry.outcomes)
    notes.push_back(std::to_string(o.entry.version) + " " + o.note);
  EXPECT_THAT(notes, ElementsAre("4 ", "3 ", "2 file would stay: version 4 uses the same file",
                                 "1 file would stay: version 4 uses the same file"));
  EXPECT_EQ(dry.files_removed, 0);

  RetentionResult r = Apply(false);
  EXPECT_EQ(r.deleted, 2);
  EXPECT_EQ(r.files_removed, 0);
  const std::string kept = "retention: beyond keep 1; file kept: version 4 uses the same file";
  EXPECT_THAT(Rows(), ElementsAre("1|deleted|" + kept, "2|deleted|" + kept, "3|production|better",
                                  "4|rejected|worse"));
  EXPECT_TRUE(fs::exists(PathOf("same")));

  Add("E0", "newest", false);  // 5: now 4 goes, and the file with it
  r = Apply(false);
  EXPECT_EQ(r.deleted, 1);
  EXPECT_EQ(r.files_removed, 1);
  EXPECT_THAT(Query("SELECT reason FROM model_versions WHERE id = 4"),
              ElementsAre("retention: beyond keep 1; file removed"));
  EXPECT_FALSE(fs::exists(PathOf("same")));
}

TEST_F(RetentionTest, TwoRemovedRowsOfOneFileRemoveItOnce) {
  model_.keep = 1;
  Add("E0", "same", false);  // 1
  Add("E0", "same", false);  // 2
  Add("E0", "prod", true);   // 3
  RetentionResult r = Apply(false);
  EXPECT_THAT(Rows(), ElementsAre("1|deleted|retention: beyond keep 1; file removed",
                                  "2|deleted|retention: beyond keep 1; file kept: version 1 uses "
                                  "the same file",
                                  "3|production|better"));
  EXPECT_EQ(r.files_removed, 1);
  EXPECT_THAT(Files(), ElementsAre(Rel("prod")));
}

TEST_F(RetentionTest, ArchiveMovesTheFile) {
  model_.keep = 1;
  model_.archive = true;
  Add("E0", "old", false);
  Add("E0", "prod", true);
  const std::string to = config_.state_dir + "/archive/result/" + Sha256Hex("old") + ".ubj";
  RetentionResult dry = Apply(true);
  EXPECT_EQ(dry.outcomes.at(1).note, "file would be archived to " + to);
  RetentionResult r = Apply(false);
  EXPECT_EQ(r.files_archived, 1);
  EXPECT_EQ(r.files_removed, 0);
  EXPECT_EQ(r.outcomes.at(1).fate, FileFate::kArchived);
  EXPECT_THAT(Rows(), ElementsAre("1|deleted|retention: beyond keep 1; file archived to " + to,
                                  "2|production|better"));
  EXPECT_THAT(Files(), ElementsAre("archive/result/" + Sha256Hex("old") + ".ubj", Rel("prod")));
  EXPECT_EQ(Read(to), "old");
}

TEST_F(RetentionTest, AVersionWhoseFileIsAlreadyGoneIsStillDeleted) {
  model_.keep = 1;
  Add("E0", "old", false);
  Add("E0", "prod", true);
  fs::remove(PathOf("old"));
  RetentionResult r = Apply(false);
  EXPECT_EQ(r.outcomes.at(1).fate, FileFate::kMissing);
  EXPECT_THAT(Rows(), ElementsAre("1|deleted|retention: beyond keep 1; file already missing",
                                  "2|production|better"));
}

TEST_F(RetentionTest, RepairRemovesTheFileOfARowMarkedBeforeACrash) {
  Add("E0", "old", false);
  Add("E0", "prod", true);
  // The crash: the row is marked, the file is still there.
  Sql("UPDATE model_versions SET status = 'deleted', reason = 'retention: beyond keep 1; file "
      "removed' WHERE id = 1");
  Age(PathOf("old"));
  RepairReport report = Repair();
  EXPECT_THAT(Texts(report.removed),
              ElementsAre(PathOf("old") + ": file of deleted version 1: a retention that was "
                                          "interrupted"));
  EXPECT_THAT(report.left, IsEmpty());
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_THAT(Files(), ElementsAre(Rel("prod")));
}

TEST_F(RetentionTest, RepairFinishesAnInterruptedArchive) {
  model_.archive = true;
  config_.models.push_back(model_);
  Add("E0", "old", false);
  Add("E0", "prod", true);
  Sql("UPDATE model_versions SET status = 'deleted' WHERE id = 1");
  Age(PathOf("old"));
  const std::string to = config_.state_dir + "/archive/result/" + Sha256Hex("old") + ".ubj";
  RepairReport report = Repair();
  EXPECT_THAT(Texts(report.removed),
              ElementsAre(PathOf("old") +
                          ": file of deleted version 1: a retention that was interrupted; moved "
                          "to " +
                          to));
  EXPECT_EQ(Read(to), "old");
  EXPECT_FALSE(fs::exists(PathOf("old")));
}

TEST_F(RetentionTest, RepairRemovesAFileSavedButNeverRegistered) {
  Add("E0", "prod", true);
  auto stored = StoreModelFile(ModelsDir(), "result", "orphan");
  ASSERT_TRUE(stored.ok()) << stored.message();
  // Just saved: it may belong to a retrain about to register it.
  RepairReport fresh = Repair();
  EXPECT_THAT(fresh.removed, IsEmpty());
  EXPECT_THAT(Texts(fresh.left),
              ElementsAre(stored->path + ": named by no version but younger than 1h: may be a save "
                                         "about to be registered"));
  Age(stored->path);
  RepairReport report = Repair();
  EXPECT_THAT(
      Texts(report.removed),
      ElementsAre(stored->path + ": named by no version: a save that was never registered"));
  EXPECT_THAT(report.left, IsEmpty());
  EXPECT_THAT(Files(), ElementsAre(Rel("prod")));
}

TEST_F(RetentionTest, StoringTheSameBytesAgainMakesAnOrphanYoungAgain) {
  auto stored = StoreModelFile(ModelsDir(), "result", "orphan");
  ASSERT_TRUE(stored.ok()) << stored.message();
  Age(stored->path);
  // A retrain produced the same bytes and is about to register them: repair must wait.
  ASSERT_TRUE(StoreModelFile(ModelsDir(), "result", "orphan").ok());
  RepairReport report = Repair();
  EXPECT_THAT(report.removed, IsEmpty());
  EXPECT_EQ(report.left.size(), 1u);
  EXPECT_TRUE(fs::exists(stored->path));
}

TEST_F(RetentionTest, RepairRemovesOldTemporaryFilesAndLeavesOthers) {
  Add("E0", "prod", true);
  const std::string dir = ModelsDir() + "/result/";
  const std::string old_tmp = dir + "." + Sha256Hex("x") + ".ubj.tmp.4242.77";
  const std::string new_tmp = dir + "." + Sha256Hex("y") + ".ubj.tmp.4243.78";
  const std::string notes = dir + "notes.txt";
  for (const auto& p : {old_tmp, new_tmp, notes}) std::ofstream(p) << "partial";
  Age(old_tmp);
  Age(notes);
  RepairReport report = Repair();
  EXPECT_THAT(Texts(report.removed),
              ElementsAre(old_tmp + ": temporary file of an interrupted save"));
  EXPECT_THAT(Texts(report.left),
              ElementsAre(new_tmp + ": temporary file younger than 1h: may be a save in progress",
                          notes + ": not a name mlcron writes; left alone"));
  EXPECT_FALSE(fs::exists(old_tmp));
  EXPECT_TRUE(fs::exists(new_tmp));
  EXPECT_TRUE(fs::exists(notes));
}

TEST_F(RetentionTest, ALiveRowWithAMissingFileIsReportedNotRepaired) {
  Add("E0", "prod", true);
  Add("E1", "cand", false, "candidate");
  fs::remove(PathOf("prod"));
  // An archived copy of the candidate's file is named in its message.
  fs::create_directories(config_.state_dir + "/archive/result");
  fs::rename(PathOf("cand"), config_.state_dir + "/archive/result/" + Sha256Hex("cand") + ".ubj");
  RepairReport report = Repair(std::chrono::seconds(0));
  EXPECT_THAT(report.removed, IsEmpty());
  ASSERT_EQ(report.problems.size(), 2u);
  EXPECT_EQ(report.problems[0].version, 1);
  EXPECT_EQ(report.problems[0].path, PathOf("prod"));
  EXPECT_EQ(report.problems[0].message,
            "version 1 (result [E0], production): model file " + PathOf("prod") + " is missing");
  EXPECT_EQ(report.problems[1].version, 2);
  EXPECT_EQ(report.problems[1].message,
            "version 2 (result [E1], candidate): model file " + PathOf("cand") +
                " is missing (a copy is in the archive: " + config_.state_dir + "/archive/result/" +
                Sha256Hex("cand") + ".ubj)");
  EXPECT_THAT(Rows(), ElementsAre("1|production|better", "2|candidate|worse"));
}

}  // namespace
}  // namespace mlcron
