#include "jobs/features_job.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/jobs/features_test_util.h"

namespace mlcron {
namespace {

using testing::FeaturesTest;
using testing::FileJob;
using testing::InlineJob;
using testing::Jan2024;
using testing::Rows;
using Strings = std::vector<std::string>;

// One row per league of the rows ingested in (:since, :now], tagged with the window.
constexpr char kGoalTotals[] =
    "CREATE TABLE IF NOT EXISTS goal_totals (since TEXT, now TEXT, league TEXT, n INTEGER,"
    " goals INTEGER);\n"
    "INSERT INTO goal_totals\n"
    "  SELECT :since, :now, league, count(*), sum(goals) FROM matches\n"
    "  WHERE _ingested_at > :since AND _ingested_at <= :now GROUP BY league;\n";

TEST_F(FeaturesTest, TwoRunsAggregateExactlyTheRowsOfTheirWindows) {
  const JobConfig job = InlineJob("aggregate", kGoalTotals);
  Result<FeaturesStats> first = RunFeatures(*db_, job, Jan2024(1, 9, 50), "run-1");
  ASSERT_TRUE(first.ok()) << first.message();
  EXPECT_EQ(first->statements, 2);
  EXPECT_EQ(first->changes, 2);
  EXPECT_EQ(first->since, "1970-01-01T00:00:00Z");
  EXPECT_EQ(first->now, "2024-01-01T09:50:00Z");
  EXPECT_EQ(Watermarks(), (Strings{"aggregate|2024-01-01T09:50:00Z|run-1"}));

  Result<FeaturesStats> second = RunFeatures(*db_, job, Jan2024(2, 9, 50), "run-2");
  ASSERT_TRUE(second.ok()) << second.message();
  EXPECT_EQ(second->since, "2024-01-01T09:50:00Z");
  EXPECT_EQ(second->now, "2024-01-02T09:50:00Z");
  EXPECT_EQ(second->changes, 2);
  // Match 3 (12:00 on day 1) falls in the second window, match 6 (10:00 on day 2) in neither.
  EXPECT_EQ(Rows(*db_, "SELECT * FROM goal_totals ORDER BY now, league"),
            (Strings{"1970-01-01T00:00:00Z|2024-01-01T09:50:00Z|E0|1|3",
                     "1970-01-01T00:00:00Z|2024-01-01T09:50:00Z|E1|1|1",
                     "2024-01-01T09:50:00Z|2024-01-02T09:50:00Z|E0|2|3",
                     "2024-01-01T09:50:00Z|2024-01-02T09:50:00Z|E1|1|4"}));
  EXPECT_EQ(Watermarks(), (Strings{"aggregate|2024-01-02T09:50:00Z|run-2"}));
  EXPECT_EQ(Derived(), (Strings{"goal_totals|aggregate"}));
  EXPECT_EQ(MatchesFingerprint(), kMatchesIntact);
}

TEST_F(FeaturesTest, FirstRunBindsTheEpochAndStoresNullRunIdWhenRunByHand) {
  Result<FeaturesStats> stats =
      RunFeatures(*db_, InlineJob("aggregate", "CREATE TABLE w AS SELECT :since AS s, :now AS n"),
                  Jan2024(1, 9, 50), "");
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->changes, 1);  // the one row CREATE TABLE AS wrote
  EXPECT_EQ(Rows(*db_, "SELECT * FROM w"), (Strings{"1970-01-01T00:00:00Z|2024-01-01T09:50:00Z"}));
  EXPECT_EQ(Watermarks(), (Strings{"aggregate|2024-01-01T09:50:00Z|NULL"}));
}

TEST_F(FeaturesTest, FailingRunRollsBackEverythingAndKeepsTheWatermark) {
  ASSERT_TRUE(RunFeatures(*db_, InlineJob("aggregate", kGoalTotals), Jan2024(1, 9, 50), "r1").ok());
  const std::string broken = std::string(kGoalTotals) +
                             "CREATE TEMP TABLE tmp AS SELECT 1 AS x; "
                             "CREATE TABLE scratch AS SELECT 1 AS x;\n"
                             "INSERT INTO goal_totals (league) VALUES (1, 2);\n";
  Result<FeaturesStats> failed =
      RunFeatures(*db_, InlineJob("aggregate", broken), Jan2024(2, 9, 50), "r2");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.message(),
            "features job aggregate: statement 5 (inline sql of job aggregate, line 6: "
            "\"INSERT INTO goal_totals (league) VALUES (1, 2)\"): 2 values for 1 columns");
  EXPECT_EQ(Watermarks(), (Strings{"aggregate|2024-01-01T09:50:00Z|r1"}));
  EXPECT_EQ(Rows(*db_, "SELECT count(*) FROM goal_totals"), (Strings{"2"}));
  EXPECT_FALSE(HasTable("scratch"));
  EXPECT_EQ(Rows(*db_, "SELECT count(*) FROM temp.sqlite_schema"), (Strings{"0"}));
  EXPECT_EQ(Derived(), (Strings{"goal_totals|aggregate"}));

  // The failed window is aggregated by the next successful run, none of it twice.
  ASSERT_TRUE(RunFeatures(*db_, InlineJob("aggregate", kGoalTotals), Jan2024(2, 9, 50), "r3").ok());
  EXPECT_EQ(Rows(*db_, "SELECT sum(n), sum(goals) FROM goal_totals"), (Strings{"5|11"}));
}

TEST_F(FeaturesTest, SqlErrorNamesStatementNumberFileAndLine) {
  const std::string path = WriteSql("form.sql",
                                    "-- team form\n"
                                    "CREATE TABLE IF NOT EXISTS form (team TEXT, goals INTEGER);\n"
                                    "\n"
                                    ";;\n"
                                    "INSERT INTO form\n"
                                    "  SELECT home, sum(gols) FROM matches\n"
                                    "  GROUP BY home;\n");
  Result<FeaturesStats> stats =
      RunFeatures(*db_, FileJob("aggregate", path), Jan2024(1, 9, 50), "");
  ASSERT_FALSE(stats.ok());
  // Empty statements (`;;`) are not numbered; SQLite's error offset gives the line inside.
  EXPECT_EQ(stats.message(),
            "features job aggregate: statement 2 (" + path +
                " line 5: \"INSERT INTO form SELECT home, sum(gols) FROM matches GROUP BY "
                "home\"): no such column: gols (at line 6)");
}

TEST_F(FeaturesTest, RuntimeErrorInInlineSqlNamesTheJobsInlineSql) {
  Result<FeaturesStats> stats = RunFeatures(
      *db_,
      InlineJob("inline_job",
                "CREATE TABLE t (id INTEGER PRIMARY KEY);\n"
                "INSERT INTO t VALUES (1); INSERT INTO t SELECT id FROM matches WHERE id < 3"),
      Jan2024(1, 9, 50), "");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(),
            "features job inline_job: statement 3 (inline sql of job inline_job, line 2: "
            "\"INSERT INTO t SELECT id FROM matches WHERE id < 3\"): UNIQUE constraint failed: "
            "t.id");
}

TEST_F(FeaturesTest, LongStatementsAreQuotedUpTo80Characters) {
  Result<FeaturesStats> stats = RunFeatures(
      *db_,
      InlineJob(
          "aggregate",
          "SELECT home, league, goals, _ingested_at, id, home, league, goals, id, home FROM nope"),
      Jan2024(1, 9, 50), "");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(),
            "features job aggregate: statement 1 (inline sql of job aggregate, line 1: "
            "\"SELECT home, league, goals, _ingested_at, id, home, league, goals, id, home F...\"):"
            " no such table: nope");
}

TEST_F(FeaturesTest, InlineAndFileSqlRunAlike) {
  // A byte order mark, as some editors write, is not part of the SQL.
  const std::string path = WriteSql("totals.sql", "\xEF\xBB\xBF" + std::string(kGoalTotals));
  Result<FeaturesStats> from_file =
      RunFeatures(*db_, FileJob("from_file", path), Jan2024(1, 9, 50), "");
  ASSERT_TRUE(from_file.ok()) << from_file.message();
  ASSERT_TRUE(db_->Exec("ALTER TABLE goal_totals RENAME TO file_totals;"
                        "UPDATE _mlcron_derived SET table_name = 'file_totals'")
                  .ok());
  Result<FeaturesStats> inline_sql =
      RunFeatures(*db_, InlineJob("inline_sql", kGoalTotals), Jan2024(1, 9, 50), "");
  ASSERT_TRUE(inline_sql.ok()) << inline_sql.message();
  EXPECT_EQ(from_file->statements, inline_sql->statements);
  EXPECT_EQ(from_file->changes, inline_sql->changes);
  EXPECT_EQ(Rows(*db_, "SELECT * FROM file_totals EXCEPT SELECT * FROM goal_totals"), Strings{});
  EXPECT_EQ(Rows(*db_, "SELECT count(*) FROM goal_totals"), (Strings{"2"}));
}

TEST_F(FeaturesTest, FileWithoutStatementsIsAnErrorAndMovesNothing) {
  const std::string path = WriteSql("empty.sql", "-- nothing yet\n;;\n/* later */\n");
  Result<FeaturesStats> stats =
      RunFeatures(*db_, FileJob("aggregate", path), Jan2024(1, 9, 50), "");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(), "features job aggregate: " + path +
                                 " holds no SQL statements (only whitespace and comments)");
  EXPECT_FALSE(HasTable("_mlcron_watermarks"));  // created in the rolled-back transaction

  const std::string zero = WriteSql("zero.sql", "");
  stats = RunFeatures(*db_, FileJob("aggregate", zero), Jan2024(1, 9, 50), "");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(), "features job aggregate: " + zero +
                                 " holds no SQL statements (only whitespace and comments)");
}

TEST_F(FeaturesTest, MissingFileIsNamed) {
  const std::string path = dir_.File("missing.sql");
  Result<FeaturesStats> stats =
      RunFeatures(*db_, FileJob("aggregate", path), Jan2024(1, 9, 50), "");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(), "features job aggregate: SQL file " + path +
                                 ": cannot be read: No such file or directory");
}

TEST_F(FeaturesTest, RerunOfAnOlderOccurrenceHasAnEmptyWindowAndKeepsTheWatermark) {
  const JobConfig job = InlineJob("aggregate", kGoalTotals);
  ASSERT_TRUE(RunFeatures(*db_, job, Jan2024(2, 9, 50), "new").ok());
  Result<FeaturesStats> rerun = RunFeatures(*db_, job, Jan2024(1, 9, 50), "old");
  ASSERT_TRUE(rerun.ok()) << rerun.message();
  EXPECT_EQ(rerun->since, "2024-01-02T09:50:00Z");
  EXPECT_EQ(rerun->now, "2024-01-01T09:50:00Z");
  EXPECT_EQ(rerun->changes, 0);
  EXPECT_EQ(Watermarks(), (Strings{"aggregate|2024-01-02T09:50:00Z|new"}));
  EXPECT_EQ(Rows(*db_, "SELECT sum(n) FROM goal_totals"), (Strings{"5"}));
}

TEST_F(FeaturesTest, UnknownParameterIsReportedNotBoundToNull) {
  Result<FeaturesStats> stats =
      RunFeatures(*db_, InlineJob("aggregate", "SELECT * FROM matches WHERE _ingested_at > :sinse"),
                  Jan2024(1, 9, 50), "");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(),
            "features job aggregate: statement 1 (inline sql of job aggregate, line 1: "
            "\"SELECT * FROM matches WHERE _ingested_at > :sinse\"): unknown parameter :sinse: "
            "features SQL may use only :since and :now");
  stats = RunFeatures(*db_, InlineJob("aggregate", "SELECT @now"), Jan2024(1, 9, 50), "");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(),
            "features job aggregate: statement 1 (inline sql of job aggregate, line 1: "
            "\"SELECT @now\"): unknown parameter @now (write it :now): features SQL may use "
            "only :since and :now");
}

TEST_F(FeaturesTest, WallClockReadsAreRejected) {
  Result<FeaturesStats> stats =
      RunFeatures(*db_,
                  InlineJob("aggregate",
                            "CREATE TABLE t AS SELECT 1 AS x;\n"
                            "INSERT INTO t SELECT 2 WHERE date('now') > '2000-01-01'"),
                  Jan2024(1, 9, 50), "");
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.message(),
            "features job aggregate: statement 2 (inline sql of job aggregate, line 2: "
            "\"INSERT INTO t SELECT 2 WHERE date('now') > '2000-01-01'\"): 'now' in date() reads "
            "the wall clock: use :now (this run's scheduled instant) so that re-runs and replay "
            "compute the same features");
  EXPECT_FALSE(HasTable("t"));
}

class FeaturesJobTest : public FeaturesTest {
 protected:
  int Run(const JobConfig& job, Instant scheduled) {
    auto config = std::make_shared<Config>();
    config->data_path = dir_.File("data.db");
    config->jobs.push_back(job);
    JobContext ctx;
    ctx.config = config;
    ctx.job = &config->jobs[0];
    ctx.scheduled = scheduled;
    ctx.run_id = "r";
    out_.str("");
    ctx.out = &out_;
    return RunFeaturesJob(ctx);
  }
  std::ostringstream out_;
};

TEST_F(FeaturesJobTest, PrintsOneSummaryLine) {
  EXPECT_EQ(Run(InlineJob("aggregate", kGoalTotals), Jan2024(1, 9, 50)), 0);
  EXPECT_EQ(out_.str(),
            "features aggregate: 2 statements, 2 rows changed, since 1970-01-01T00:00:00Z now "
            "2024-01-01T09:50:00Z\n");
  EXPECT_EQ(
      Run(InlineJob("aggregate", "DELETE FROM goal_totals WHERE league = 'E1'"), Jan2024(2, 9, 50)),
      0);
  EXPECT_EQ(out_.str(),
            "features aggregate: 1 statement, 1 row changed, since 2024-01-01T09:50:00Z now "
            "2024-01-02T09:50:00Z\n");
}

TEST_F(FeaturesJobTest, SaysWhenAReRunHasAnEmptyWindow) {
  EXPECT_EQ(Run(InlineJob("aggregate", kGoalTotals), Jan2024(2, 9, 50)), 0);
  EXPECT_EQ(Run(InlineJob("aggregate", kGoalTotals), Jan2024(2, 9, 50)), 0);
  EXPECT_EQ(out_.str(),
            "features aggregate: 2 statements, 0 rows changed, since 2024-01-02T09:50:00Z now "
            "2024-01-02T09:50:00Z\n"
            "features aggregate: note: 2024-01-02T09:50:00Z is not after the watermark (a re-run "
            "of an earlier occurrence), so windows such as \"> :since AND <= :now\" are empty "
            "and the watermark stays at 2024-01-02T09:50:00Z\n");
}

TEST_F(FeaturesJobTest, PrintsTheErrorAndFails) {
  EXPECT_EQ(Run(InlineJob("aggregate", "DROP TABLE matches"), Jan2024(1, 9, 50)), 1);
  EXPECT_EQ(out_.str(),
            "features job aggregate: statement 1 (inline sql of job aggregate, line 1: \"DROP "
            "TABLE matches\"): DROP TABLE on table \"matches\" is not allowed: features jobs "
            "write only tables they created (derived tables); \"matches\" is a source table\n");
  EXPECT_EQ(MatchesFingerprint(), kMatchesIntact);
}

}  // namespace
}  // namespace mlcron
