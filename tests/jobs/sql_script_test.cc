#include "jobs/sql_script.h"

#include <gtest/gtest.h>

namespace mlcron {
namespace {

TEST(SqlScript, SkipsWhitespaceAndBothCommentKinds) {
  const std::string sql = "  -- a 'now' comment\n /* block\n ; */\n\tSELECT 1";
  EXPECT_EQ(SkipSpaceAndComments(sql, 0), sql.find("SELECT"));
  EXPECT_EQ(SkipSpaceAndComments("-- only a comment", 0), 17u);
  EXPECT_EQ(SkipSpaceAndComments("/* unterminated", 0), 15u);
  EXPECT_EQ(SkipSpaceAndComments("x", 5), 1u);
}

TEST(SqlScript, StatementEndIgnoresSemicolonsInStringsNamesAndComments) {
  const std::string sql = "SELECT ';', \"a;b\", [c;d] -- ;\n /* ; */ FROM t; SELECT 2";
  EXPECT_EQ(StatementEnd(sql, 0), sql.find("t;") + 2);
  EXPECT_EQ(StatementEnd("SELECT 1", 0), 8u);
}

TEST(SqlScript, LineAtCountsNewlinesBefore) {
  const std::string sql = "a\nb\n\nc";
  EXPECT_EQ(LineAt(sql, 0), 1);
  EXPECT_EQ(LineAt(sql, 2), 2);
  EXPECT_EQ(LineAt(sql, 5), 4);
  EXPECT_EQ(LineAt(sql, 99), 4);
}

TEST(SqlScript, AbbreviateCollapsesWhitespaceAndCutsOnCharBoundary) {
  EXPECT_EQ(Abbreviate("DELETE  FROM\n\t matches ;"), "DELETE FROM matches");
  EXPECT_EQ(Abbreviate("SELECT 1234567890", 10), "SELECT ...");
  // "é" is bytes 7-8; a cut at byte 8 would split it, so the cut backs off to byte 7.
  EXPECT_EQ(Abbreviate("SELECT \xC3\xA9tat FROM t", 11), "SELECT ...");
  EXPECT_EQ(Abbreviate(std::string(200, 'x')).size(), 80u);
}

TEST(SqlScript, FindsEveryWayOfReadingTheWallClock) {
  EXPECT_EQ(FindWallClockUse("SELECT date('now')"), "'now' in date()");
  EXPECT_EQ(FindWallClockUse("SELECT datetime ( 'NOW', '-1 day')"), "'now' in datetime()");
  EXPECT_EQ(FindWallClockUse("SELECT strftime('%s', coalesce(x, 'now')) FROM t"),
            "'now' in strftime()");
  EXPECT_EQ(FindWallClockUse("SELECT julianday()"), "julianday() without arguments");
  EXPECT_EQ(FindWallClockUse("SELECT unixepoch(\n)"), "unixepoch() without arguments");
  EXPECT_EQ(FindWallClockUse("INSERT INTO t VALUES (current_timestamp)"), "CURRENT_TIMESTAMP");
  EXPECT_EQ(FindWallClockUse("SELECT 1 WHERE d < Current_Date"), "CURRENT_DATE");
}

TEST(SqlScript, IgnoresNowThatDoesNotReadTheClock) {
  EXPECT_EQ(FindWallClockUse("SELECT date(:now), datetime(:now, '-7 days')"), std::nullopt);
  EXPECT_EQ(FindWallClockUse("SELECT * FROM t WHERE status = 'now'"), std::nullopt);
  EXPECT_EQ(FindWallClockUse("SELECT date(d) FROM t WHERE note = 'now'"), std::nullopt);
  EXPECT_EQ(FindWallClockUse("SELECT date(\"now\") FROM t"), std::nullopt);  // a column
  EXPECT_EQ(FindWallClockUse("SELECT \"current_date\" FROM t -- date('now')"), std::nullopt);
  EXPECT_EQ(FindWallClockUse("SELECT date('now''s')"), std::nullopt);
  EXPECT_EQ(FindWallClockUse("SELECT mydate()"), std::nullopt);
}

}  // namespace
}  // namespace mlcron
