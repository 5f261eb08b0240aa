// The write guard, exercised through RunFeatures: features jobs read anything but write only
// the derived tables they created, so a filtered feature run can never lose source history.
#include "jobs/features_guard.h"

#include <gtest/gtest.h>

#include "tests/jobs/features_test_util.h"

namespace mlcron {
namespace {

using testing::FeaturesTest;
using testing::FileJob;
using testing::InlineJob;
using testing::Jan2024;
using testing::Rows;
using Strings = std::vector<std::string>;

constexpr char kSourceTable[] =
    " is not allowed: features jobs write only tables they created (derived tables); ";

class FeaturesGuardTest : public FeaturesTest {
 protected:
  Result<FeaturesStats> Run(const std::string& job, const std::string& sql, int day = 1) {
    return RunFeatures(*db_, InlineJob(job, sql), Jan2024(day, 9, 50), "");
  }
  static std::string InlineError(const std::string& sql, const std::string& reason) {
    return "features job aggregate: statement 1 (inline sql of job aggregate, line 1: \"" + sql +
           "\"): " + reason;
  }
};

// The league-filter data-loss bug: a feature run meant for one league deleted the others.
TEST_F(FeaturesGuardTest, LeagueFilterCannotDeleteSourceRows) {
  const std::string path = WriteSql("form.sql",
                                    "-- E0 form: the Premier League only\n"
                                    "CREATE TABLE IF NOT EXISTS e0_form (\n"
                                    "  home TEXT, goals INTEGER\n"
                                    ");\n"
                                    "\n"
                                    "-- keep E0\n"
                                    "DELETE FROM matches WHERE league <> 'E0';\n");
  Result<FeaturesStats> stats =
      RunFeatures(*db_, FileJob("aggregate", path), Jan2024(1, 9, 50), "");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(), "features job aggregate: statement 2 (" + path +
                                 " line 7: \"DELETE FROM matches WHERE league <> 'E0'\"): DELETE "
                                 "on table \"matches\"" +
                                 kSourceTable + "\"matches\" is a source table");
  EXPECT_EQ(MatchesFingerprint(), kMatchesIntact);
  EXPECT_FALSE(HasTable("e0_form"));
}

TEST_F(FeaturesGuardTest, CreateThenDropSourceRollsBackTheWholeRun) {
  Result<FeaturesStats> stats =
      Run("aggregate",
          "CREATE TABLE e0 AS SELECT * FROM matches WHERE league = 'E0'; DROP TABLE matches");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(),
            "features job aggregate: statement 2 (inline sql of job aggregate, line 1: \"DROP "
            "TABLE matches\"): DROP TABLE on table \"matches\"" +
                std::string(kSourceTable) + "\"matches\" is a source table");
  EXPECT_EQ(MatchesFingerprint(), kMatchesIntact);
  EXPECT_FALSE(HasTable("e0"));
}

TEST_F(FeaturesGuardTest, DeniesEveryWriteToSourceAndBookkeepingTables) {
  ASSERT_TRUE(Run("aggregate", "CREATE TABLE owned (x)").ok());  // creates _mlcron_* tables
  const std::string source = std::string(kSourceTable) + "\"matches\" is a source table";
  const std::string transaction =
      " is not allowed: mlcron runs all of a features job's statements in one transaction that "
      "it begins and commits itself";
  const struct {
    std::string sql;
    std::string reason;
  } kCases[] = {
      {"UPDATE matches SET goals = 0", "UPDATE on table \"matches\"" + source},
      {"DELETE FROM matches", "DELETE on table \"matches\"" + source},
      {"INSERT INTO matches (league) VALUES ('E2')", "INSERT on table \"matches\"" + source},
      {"REPLACE INTO matches (id, league) VALUES (1, 'E2')",
       "INSERT on table \"matches\"" + source},
      {"DROP TABLE matches", "DROP TABLE on table \"matches\"" + source},
      {"ALTER TABLE matches ADD COLUMN form REAL", "ALTER TABLE on table \"matches\"" + source},
      {"ALTER TABLE matches RENAME TO old_matches", "ALTER TABLE on table \"matches\"" + source},
      {"CREATE INDEX m_league ON matches (league)", "CREATE INDEX on table \"matches\"" + source},
      {"INSERT INTO _mlcron_watermarks (job, since) VALUES ('aggregate', '2099')",
       "INSERT on table \"_mlcron_watermarks\"" + std::string(kSourceTable) +
           "\"_mlcron_watermarks\" is mlcron's own bookkeeping table"},
      {"DELETE FROM _mlcron_derived", "DELETE on table \"_mlcron_derived\"" +
                                          std::string(kSourceTable) +
                                          "\"_mlcron_derived\" is mlcron's own bookkeeping table"},
      {"CREATE TABLE _mlcron_mine (x)",
       "CREATE TABLE \"_mlcron_mine\" is not allowed: names starting with _mlcron_ are reserved "
       "for mlcron"},
      {"CREATE TRIGGER keep AFTER INSERT ON owned BEGIN DELETE FROM matches",
       "CREATE TRIGGER \"keep\" is not allowed: a trigger would go on firing outside the "
       "features job's checks"},
      {"BEGIN", "BEGIN" + transaction},
      {"COMMIT", "COMMIT" + transaction},
      {"PRAGMA writable_schema = ON",
       "PRAGMA writable_schema is not allowed: features jobs may only read the schema with "
       "PRAGMA table_info, table_xinfo, index_list, index_info, index_xinfo, foreign_key_list "
       "or table_list"},
      {"ATTACH 'other.db' AS other",
       "ATTACH is not allowed: features jobs work on the data database only"},
  };
  for (const auto& c : kCases) {
    // A trigger body holds `;`, so the full trigger is given and quoted up to its first one.
    const std::string sql = c.sql.rfind("CREATE TRIGGER", 0) == 0 ? c.sql + "; END" : c.sql;
    Result<FeaturesStats> stats = Run("aggregate", sql);
    ASSERT_FALSE(stats.ok()) << sql;
    EXPECT_EQ(stats.message(), InlineError(c.sql, c.reason));
  }
  EXPECT_EQ(MatchesFingerprint(), kMatchesIntact);
  EXPECT_EQ(Watermarks(), (Strings{"aggregate|2024-01-01T09:50:00Z|NULL"}));
  EXPECT_EQ(Derived(), (Strings{"owned|aggregate"}));
}

TEST_F(FeaturesGuardTest, ReadsAnythingIncludingBookkeepingAndSchema) {
  Result<FeaturesStats> stats =
      Run("aggregate",
          "CREATE TABLE cols AS SELECT name FROM pragma_table_info('matches');\n"
          "PRAGMA table_info(matches);\n"
          "SELECT * FROM _mlcron_watermarks, _mlcron_derived;\n"
          "SAVEPOINT s; RELEASE s;\n"
          "ANALYZE");
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->statements, 6);
  EXPECT_EQ(Rows(*db_, "SELECT group_concat(name) FROM cols"),
            (Strings{"id,league,home,goals,_ingested_at"}));
  EXPECT_EQ(Derived(), (Strings{"cols|aggregate"}));  // not ANALYZE's sqlite_stat1
}

TEST_F(FeaturesGuardTest, CreateIfNotExistsOnASourceTableGrantsNothing) {
  Result<FeaturesStats> stats =
      Run("aggregate", "CREATE TABLE IF NOT EXISTS matches (id INTEGER); DELETE FROM matches");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(),
            "features job aggregate: statement 2 (inline sql of job aggregate, line 1: \"DELETE "
            "FROM matches\"): DELETE on table \"matches\"" +
                std::string(kSourceTable) + "\"matches\" is a source table");
  EXPECT_EQ(MatchesFingerprint(), kMatchesIntact);
}

TEST_F(FeaturesGuardTest, TempTablesAreScratchSpaceAndAreDroppedAfterTheRun) {
  Result<FeaturesStats> stats =
      Run("aggregate",
          "CREATE TEMP TABLE matches AS SELECT * FROM main.matches WHERE league = 'E0';\n"
          "DELETE FROM matches WHERE goals = 0;\n"
          "CREATE TEMP VIEW best AS SELECT * FROM matches WHERE goals > 1;\n"
          "CREATE TABLE e0_goals AS SELECT id, home, goals FROM temp.matches ORDER BY id");
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->changes, 4 + 1 + 3);  // temp copy, its delete, the derived table
  EXPECT_EQ(Rows(*db_, "SELECT * FROM e0_goals"),
            (Strings{"1|Arsenal|3", "3|Chelsea|2", "4|Arsenal|1"}));
  EXPECT_EQ(MatchesFingerprint(), kMatchesIntact);
  EXPECT_EQ(Derived(), (Strings{"e0_goals|aggregate"}));
  EXPECT_EQ(Rows(*db_, "SELECT count(*) FROM temp.sqlite_schema"), (Strings{"0"}));
}

// A legit filtered table: created once from one league, then maintained incrementally.
TEST_F(FeaturesGuardTest, DerivedTablesStayWritableByTheirJobAcrossRuns) {
  Result<FeaturesStats> first = Run("aggregate",
                                    "CREATE TABLE e0_form AS SELECT id, home, goals FROM matches"
                                    " WHERE league = 'E0' AND _ingested_at <= :now",
                                    1);
  ASSERT_TRUE(first.ok()) << first.message();
  EXPECT_EQ(first->changes, 1);
  Result<FeaturesStats> second =
      Run("aggregate",
          "DELETE FROM e0_form WHERE goals > 2;\n"
          "INSERT INTO e0_form SELECT id, home, goals FROM matches\n"
          "  WHERE league = 'E0' AND _ingested_at > :since AND _ingested_at <= :now;\n"
          "UPDATE e0_form SET goals = goals * 10 WHERE id = 4;\n"
          "CREATE INDEX e0_form_home ON e0_form (home)",
          2);
  ASSERT_TRUE(second.ok()) << second.message();
  EXPECT_EQ(second->changes, 1 + 2 + 1);
  EXPECT_EQ(Rows(*db_, "SELECT * FROM e0_form ORDER BY id"),
            (Strings{"3|Chelsea|2", "4|Arsenal|10"}));
  EXPECT_EQ(Derived(), (Strings{"e0_form|aggregate"}));
  EXPECT_EQ(MatchesFingerprint(), kMatchesIntact);
}

// The incremental filter pattern docs/jobs-features.md recommends.
TEST_F(FeaturesGuardTest, FilteredCopyGrowsByWindow) {
  const std::string sql =
      "CREATE TABLE IF NOT EXISTS e0_matches AS SELECT * FROM matches WHERE 0;\n"
      "INSERT INTO e0_matches SELECT * FROM matches\n"
      "  WHERE league = 'E0' AND _ingested_at > :since AND _ingested_at <= :now;";
  ASSERT_TRUE(Run("aggregate", sql, 1).ok());
  EXPECT_EQ(Rows(*db_, "SELECT group_concat(id) FROM e0_matches"), (Strings{"1"}));
  Result<FeaturesStats> second = Run("aggregate", sql, 2);
  ASSERT_TRUE(second.ok()) << second.message();
  EXPECT_EQ(second->changes, 2);
  EXPECT_EQ(Rows(*db_, "SELECT group_concat(id) FROM (SELECT id FROM e0_matches ORDER BY id)"),
            (Strings{"1,3,4"}));
  EXPECT_EQ(MatchesFingerprint(), kMatchesIntact);
}

TEST_F(FeaturesGuardTest, OtherJobsMayReadButNotWriteADerivedTable) {
  ASSERT_TRUE(Run("aggregate", "CREATE TABLE e0_form AS SELECT * FROM matches").ok());
  const std::string owned_by =
      std::string(kSourceTable) + "\"e0_form\" is a derived table of job \"aggregate\"";
  Result<FeaturesStats> stats = Run("other", "INSERT INTO e0_form (id) VALUES (9)");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(),
            "features job other: statement 1 (inline sql of job other, line 1: \"INSERT INTO "
            "e0_form (id) VALUES (9)\"): INSERT on table \"e0_form\"" +
                owned_by);
  stats = Run("other", "DROP TABLE e0_form");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(),
            "features job other: statement 1 (inline sql of job other, line 1: \"DROP TABLE "
            "e0_form\"): DROP TABLE on table \"e0_form\"" +
                owned_by);
  ASSERT_TRUE(Run("other", "CREATE TABLE e0_copy AS SELECT * FROM e0_form").ok());
  EXPECT_EQ(Derived(), (Strings{"e0_copy|other", "e0_form|aggregate"}));
}

TEST_F(FeaturesGuardTest, RebuildKeepsOwnershipAndRenameOrDropMovesIt) {
  const std::string rebuild =
      "DROP TABLE IF EXISTS e0_form; CREATE TABLE e0_form AS SELECT * FROM matches";
  ASSERT_TRUE(Run("aggregate", rebuild, 1).ok());
  ASSERT_TRUE(Run("aggregate", rebuild, 2).ok());
  EXPECT_EQ(Derived(), (Strings{"e0_form|aggregate"}));

  ASSERT_TRUE(Run("aggregate", "ALTER TABLE e0_form RENAME TO E0_History", 3).ok());
  EXPECT_EQ(Derived(), (Strings{"E0_History|aggregate"}));

  // Dropped outside mlcron, the name stays the job's until one of its runs ends without it.
  ASSERT_TRUE(db_->Exec("DROP TABLE E0_History").ok());
  Result<FeaturesStats> stats = Run("other", "CREATE TABLE e0_history (x)", 4);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(),
            "features job other: statement 1 (inline sql of job other, line 1: \"CREATE TABLE "
            "e0_history (x)\"): CREATE TABLE \"e0_history\" is not allowed: \"e0_history\" is a "
            "derived table of job \"aggregate\"");
  ASSERT_TRUE(Run("other", "CREATE TABLE o (x)", 4).ok());
  // Nor can a rename take the name of another job's table, or a reserved one.
  stats = Run("other", "ALTER TABLE o RENAME TO e0_history", 4);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(),
            "features job other: statement 1 (inline sql of job other, line 1: \"ALTER TABLE o "
            "RENAME TO e0_history\"): RENAME TO \"e0_history\" is not allowed: \"e0_history\" "
            "is a derived table of job \"aggregate\"");
  stats = Run("other", "ALTER TABLE o RENAME TO _mlcron_o", 4);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(),
            "features job other: statement 1 (inline sql of job other, line 1: \"ALTER TABLE o "
            "RENAME TO _mlcron_o\"): RENAME TO \"_mlcron_o\" is not allowed: names starting "
            "with _mlcron_ are reserved for mlcron");
  ASSERT_TRUE(Run("aggregate", "SELECT 1", 4).ok());
  ASSERT_TRUE(Run("other", "DROP TABLE o", 4).ok());
  EXPECT_EQ(Derived(), Strings{});
  ASSERT_TRUE(Run("other", "CREATE TABLE e0_history (x)", 5).ok());
  EXPECT_EQ(Derived(), (Strings{"e0_history|other"}));
}

TEST_F(FeaturesGuardTest, ViewsAreOwnedLikeTables) {
  ASSERT_TRUE(Run("aggregate", "CREATE VIEW e0 AS SELECT * FROM matches WHERE league = 'E0'").ok());
  EXPECT_EQ(Derived(), (Strings{"e0|aggregate"}));
  Result<FeaturesStats> stats = Run("other", "DROP VIEW e0");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(),
            "features job other: statement 1 (inline sql of job other, line 1: \"DROP VIEW "
            "e0\"): DROP VIEW on view \"e0\"" +
                std::string(kSourceTable) + "\"e0\" is a derived table of job \"aggregate\"");
  ASSERT_TRUE(Run("aggregate", "DROP VIEW e0", 2).ok());
  EXPECT_EQ(Derived(), Strings{});
}

}  // namespace
}  // namespace mlcron
