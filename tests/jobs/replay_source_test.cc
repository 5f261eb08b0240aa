// The history a replay reveals: what a time value means (a date is its local midnight), where
// a local day ends across DST, and LoadReplaySources over an import job's CSV and over the
// operator's data database (read without a trace), with every bad input's exact message.
#include "jobs/replay_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "jobs/job_context.h"
#include "tests/jobs/replay_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::Column;
using ::mlcron::testing::London;
using ::mlcron::testing::Utc;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

Result<Instant> Text(const std::string& text) { return TimeValueInstant(text, false, 0, London()); }
Result<Instant> Number(double v) { return TimeValueInstant("", true, v, London()); }

TEST(ReplayTimeValue, ADateIsItsLocalMidnight) {
  EXPECT_EQ(*Text("2016-01-15"), Utc("2016-01-15T00:00:00Z"));  // GMT
  EXPECT_EQ(*Text("2016-08-13"), Utc("2016-08-12T23:00:00Z"));  // BST
  EXPECT_EQ(*Text("2016-03-27"), Utc("2016-03-27T00:00:00Z"));  // the day BST starts at 01:00
  EXPECT_EQ(*Text("2016-10-30"), Utc("2016-10-29T23:00:00Z"));  // the day BST ends at 02:00
}

TEST(ReplayTimeValue, AnIsoTimeIsAsWrittenAndLocalWithoutAnOffset) {
  EXPECT_EQ(*Text("2016-08-13T15:00:00+02:00"), Utc("2016-08-13T13:00:00Z"));
  EXPECT_EQ(*Text("2016-08-13T15:00:00Z"), Utc("2016-08-13T15:00:00Z"));
  EXPECT_EQ(*Text("2016-08-13T15:00"), Utc("2016-08-13T14:00:00Z"));
  EXPECT_EQ(*Text("2016-01-13T15:00:00"), Utc("2016-01-13T15:00:00Z"));
}

TEST(ReplayTimeValue, ANumberIsUnixSecondsRounded) {
  EXPECT_EQ(*Number(1471046400), Utc("2016-08-13T00:00:00Z"));
  EXPECT_EQ(*Number(1471046400.4), Utc("2016-08-13T00:00:00Z"));
  EXPECT_EQ(*Number(1471046400.6), Utc("2016-08-13T00:00:01Z"));
  EXPECT_EQ(*Number(0), Utc("1970-01-01T00:00:00Z"));
  Result<Instant> nan = Number(std::nan(""));
  ASSERT_FALSE(nan.ok());
  EXPECT_EQ(nan.message(), "is not a finite number");
}

TEST(ReplayTimeValue, BadTextSaysWhatIsAccepted) {
  for (const char* bad : {"soon", "13/08/2016", "2016-13-01", ""}) {
    Result<Instant> t = Text(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.message(), "\"" + std::string(bad) +
                               "\" is neither a date (YYYY-MM-DD), an ISO time nor unix seconds");
  }
  // Unix seconds stored as text (a CSV column without `types`) are not a number.
  EXPECT_FALSE(Text("1471046400").ok());
}

TEST(ReplayTimeValue, EndOfLocalDayAcrossDst) {
  // 2016-03-27 has 23 hours in London, 2016-10-30 has 25.
  EXPECT_EQ(EndOfLocalDay(Utc("2016-03-27T00:00:00Z"), London()), Utc("2016-03-27T23:00:00Z"));
  EXPECT_EQ(EndOfLocalDay(Utc("2016-03-27T22:59:59Z"), London()), Utc("2016-03-27T23:00:00Z"));
  EXPECT_EQ(EndOfLocalDay(Utc("2016-03-27T23:00:00Z"), London()), Utc("2016-03-28T23:00:00Z"));
  EXPECT_EQ(EndOfLocalDay(Utc("2016-10-29T23:00:00Z"), London()), Utc("2016-10-31T00:00:00Z"));
  EXPECT_EQ(EndOfLocalDay(Utc("2016-10-30T23:59:59Z"), London()), Utc("2016-10-31T00:00:00Z"));
  // Mid-day, in winter and in summer (00:30Z is already the next local day in BST).
  EXPECT_EQ(EndOfLocalDay(Utc("2016-01-15T12:34:56Z"), London()), Utc("2016-01-16T00:00:00Z"));
  EXPECT_EQ(EndOfLocalDay(Utc("2016-08-13T12:34:56Z"), London()), Utc("2016-08-13T23:00:00Z"));
  EXPECT_EQ(EndOfLocalDay(Utc("2016-08-13T23:30:00Z"), London()), Utc("2016-08-14T23:00:00Z"));
}

constexpr char kMatches[] =
    "id,day,home,away,hs,as\n"
    "1,2016-03-26,A,B,1,0\n"
    "2,2016-03-27,C,D,2,2\n"
    "3,2016-08-13,E,F,0,3\n";

class ReplaySourceTest : public testing::ReplayDirTest {
 protected:
  Result<ReplaySources> LoadMatches(const std::string& source, const std::string& csv = kMatches) {
    Write("matches.csv", csv);
    config_ = Load(testing::kImportMatches, "replay:\n  sources:\n    - " + source + "\n");
    if (!config_) return Status::Error("config did not load");
    return LoadReplaySources(*config_, sources_path());
  }
  std::string sources_path() const { return dir_ + "/sources.db"; }

  // id|row_at|label_at of every row, as UTC text.
  std::vector<std::string> Reveal() {
    auto db = SqliteDb::Open(sources_path(), "sources", std::chrono::milliseconds(100));
    EXPECT_TRUE(db.ok()) << db.message();
    if (!db.ok()) return {};
    return Column(**db,
                  "SELECT m.id || '|' || strftime('%Y-%m-%dT%H:%M:%SZ', r.row_at, 'unixepoch') "
                  "|| '|' || strftime('%Y-%m-%dT%H:%M:%SZ', r.label_at, 'unixepoch') FROM "
                  "matches AS m JOIN _mlcron_reveal AS r ON r.tbl = 'matches' AND r.rid = "
                  "m.rowid ORDER BY m.id");
  }

  std::shared_ptr<const Config> config_;
};

TEST_F(ReplaySourceTest, ImportJobCsvRowsRangeColumnsAndRevealInstants) {
  Result<ReplaySources> s = LoadMatches("{table: matches, time: day, labels: [hs, as]}");
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(s->path, sources_path());
  ASSERT_EQ(s->tables.size(), 1u);
  const LoadedSource& t = s->tables[0];
  EXPECT_EQ(t.rows, 3);
  EXPECT_EQ(t.first, Utc("2016-03-26T00:00:00Z"));
  EXPECT_EQ(t.last, Utc("2016-08-12T23:00:00Z"));
  EXPECT_THAT(t.columns, ElementsAre("id", "day", "home", "away", "hs", "as"));
  EXPECT_EQ(t.origin, "import job import_matches (" + dir_ + "/matches.csv)");
  EXPECT_THAT(t.config.key, ElementsAre("id"));  // taken from the import job
  EXPECT_THAT(t.create_sql, HasSubstr("CREATE TABLE"));
  ASSERT_EQ(t.index_sql.size(), 1u);
  EXPECT_THAT(t.index_sql[0], HasSubstr("CREATE UNIQUE INDEX"));
  // Rows appear a day before their local midnight; labels at the end of that local day
  // (23 hours after midnight on 2016-03-27, the day BST starts).
  EXPECT_THAT(Reveal(), ElementsAre("1|2016-03-25T00:00:00Z|2016-03-27T00:00:00Z",
                                    "2|2016-03-26T00:00:00Z|2016-03-27T23:00:00Z",
                                    "3|2016-08-11T23:00:00Z|2016-08-13T23:00:00Z"));
}

TEST_F(ReplaySourceTest, RevealAheadMovesOnlyTheRowInstant) {
  Result<ReplaySources> s =
      LoadMatches("{table: matches, time: day, labels: [hs, as], reveal_ahead: 2h}");
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_THAT(Reveal(), ElementsAre("1|2016-03-25T22:00:00Z|2016-03-27T00:00:00Z",
                                    "2|2016-03-26T22:00:00Z|2016-03-27T23:00:00Z",
                                    "3|2016-08-12T21:00:00Z|2016-08-13T23:00:00Z"));
}

TEST_F(ReplaySourceTest, MissingColumnsListWhatTheTableHas) {
  Result<ReplaySources> label = LoadMatches("{table: matches, time: day, labels: [hs, score]}");
  ASSERT_FALSE(label.ok());
  EXPECT_EQ(label.message(),
            "replay source \"matches\" (config line 12): table \"matches\" has no column "
            "\"score\" (it has id, day, home, away, hs, as, _ingested_at)");
  fs::remove(sources_path());
  Result<ReplaySources> time = LoadMatches("{table: matches, time: date, labels: [hs]}");
  ASSERT_FALSE(time.ok());
  EXPECT_EQ(time.message(),
            "replay source \"matches\" (config line 12): table \"matches\" has no column "
            "\"date\" (it has id, day, home, away, hs, as, _ingested_at)");
}

TEST_F(ReplaySourceTest, AnUnparsableTimeNamesTheRowsKey) {
  Result<ReplaySources> s =
      LoadMatches("{table: matches, time: day, labels: [hs]}",
                  "id,day,home,away,hs,as\n1,2016-03-26,A,B,1,0\n2,27/03/2016,C,D,2,2\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "replay source \"matches\" (config line 12): the row with id 2: day \"27/03/2016\" "
            "is neither a date (YYYY-MM-DD), an ISO time nor unix seconds");
}

TEST_F(ReplaySourceTest, UnixSecondsInAnIntegerColumn) {
  Write("matches.csv", "id,t,hs\n1,1471046400,1\n2,1471100000,0\n");
  config_ = Load(
      "      - {name: import_matches, kind: import, file: matches.csv, table: matches, key: "
      "[id], types: {id: integer, t: integer}}\n",
      "replay:\n  sources:\n    - {table: matches, time: t, labels: [hs]}\n");
  ASSERT_TRUE(config_);
  Result<ReplaySources> s = LoadReplaySources(*config_, sources_path());
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(s->tables[0].first, Utc("2016-08-13T00:00:00Z"));
  EXPECT_EQ(s->tables[0].last, Utc("2016-08-13T14:53:20Z"));
  // 00:00Z is 01:00 BST on the 13th: its day ends at 2016-08-13T23:00Z.
  EXPECT_THAT(Reveal(), ElementsAre("1|2016-08-12T00:00:00Z|2016-08-13T23:00:00Z",
                                    "2|2016-08-12T14:53:20Z|2016-08-13T23:00:00Z"));
}

TEST_F(ReplaySourceTest, AnEmptyTableIsAnError) {
  Result<ReplaySources> s =
      LoadMatches("{table: matches, time: day, labels: [hs]}", "id,day,home,away,hs,as\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "replay source \"matches\" (config line 12): table \"matches\" has no rows");
}

TEST_F(ReplaySourceTest, AnEmptyCsvNamesTheSourceAndTheFile) {
  Result<ReplaySources> s = LoadMatches("{table: matches, time: day, labels: [hs]}", "");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "replay source \"matches\" (config line 12): " + dir_ +
                             "/matches.csv: empty file (no header line)");
}

TEST_F(ReplaySourceTest, NoReplaySectionShowsAnExample) {
  config_ = Load(testing::kImportMatches, "");
  ASSERT_TRUE(config_);
  Result<ReplaySources> s = LoadReplaySources(*config_, sources_path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), dir_ +
                             "/mlcron.yaml: no replay: section; name the tables to reveal, "
                             "e.g.\nreplay:\n  sources:\n    - {table: matches, time: date, "
                             "labels: [home_score, away_score]}");
  EXPECT_FALSE(fs::exists(sources_path()));
}

// A source no import job writes: copied from the operator's data database, read-only.
class ReplayDataDbSourceTest : public testing::ReplayDirTest {
 protected:
  void SetUp() override {
    testing::ReplayDirTest::SetUp();
    config_ = Load("      - {name: noop, argv: [/bin/true]}\n",
                   "replay:\n  sources:\n    - {table: odds, time: at, labels: [closing], key: "
                   "[match_id, book]}\n");
    ASSERT_TRUE(config_);
  }
  // The operator's data database as the daemon makes it (WAL mode), closed.
  void MakeDataDb(bool with_table) {
    auto db = OpenDataDb(*config_);
    ASSERT_TRUE(db.ok()) << db.message();
    if (!with_table) return;
    ASSERT_TRUE((*db)
                    ->Exec("CREATE TABLE odds (match_id INTEGER, book TEXT, at TEXT, price REAL, "
                           "closing REAL);"
                           "INSERT INTO odds VALUES (1, 'x', '2016-08-13T15:00:00Z', 1.5, 1.4),"
                           " (1, 'y', '2016-08-13T15:00:00Z', 1.6, 1.7),"
                           " (2, 'x', '2016-08-14T12:00:00+01:00', 2.0, NULL)")
                    .ok());
  }
  static std::string Bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  std::shared_ptr<const Config> config_;
};

TEST_F(ReplayDataDbSourceTest, CopiedWithItsKeyAndTheDataDbIsUntouched) {
  MakeDataDb(true);
  const std::string data = dir_ + "/data.db";
  ASSERT_FALSE(fs::exists(data + "-wal"));
  ASSERT_FALSE(fs::exists(data + "-shm"));
  const std::string bytes = Bytes(data);
  const auto mtime = fs::last_write_time(data);

  Result<ReplaySources> s = LoadReplaySources(*config_, dir_ + "/sources.db");
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(s->tables.size(), 1u);
  const LoadedSource& t = s->tables[0];
  EXPECT_EQ(t.rows, 3);
  EXPECT_EQ(t.origin, "the data database " + data);
  EXPECT_THAT(t.columns, ElementsAre("match_id", "book", "at", "price", "closing"));
  EXPECT_EQ(t.first, Utc("2016-08-13T15:00:00Z"));
  EXPECT_EQ(t.last, Utc("2016-08-14T11:00:00Z"));
  ASSERT_EQ(t.index_sql.size(), 1u);
  EXPECT_EQ(t.index_sql[0],
            "CREATE UNIQUE INDEX \"odds_mlcron_key\" ON \"odds\" (\"match_id\", \"book\")");

  EXPECT_EQ(Bytes(data), bytes);
  EXPECT_EQ(fs::last_write_time(data), mtime);
  EXPECT_FALSE(fs::exists(data + "-wal"));
  EXPECT_FALSE(fs::exists(data + "-shm"));
  EXPECT_FALSE(fs::exists(data + "-journal"));
}

TEST_F(ReplayDataDbSourceTest, WhileAWriterHasItOpenCommitsInItsWalAreRead) {
  MakeDataDb(true);
  auto writer = OpenDataDb(*config_);
  ASSERT_TRUE(writer.ok()) << writer.message();
  ASSERT_TRUE((*writer)
                  ->Exec("PRAGMA wal_autocheckpoint = 0; INSERT INTO odds VALUES (3, 'x', "
                         "'2016-08-20', 3.0, 2.9)")
                  .ok());
  ASSERT_TRUE(fs::exists(dir_ + "/data.db-wal"));
  Result<ReplaySources> s = LoadReplaySources(*config_, dir_ + "/sources.db");
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(s->tables[0].rows, 4);
  EXPECT_EQ(s->tables[0].last, Utc("2016-08-19T23:00:00Z"));
}

TEST_F(ReplayDataDbSourceTest, AMissingTableOrDatabaseIsNamed) {
  Result<ReplaySources> none = LoadReplaySources(*config_, dir_ + "/sources.db");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.message(),
            "replay source \"odds\" (config line 12): no import job writes it "
            "and the data database " +
                dir_ + "/data.db does not exist");
  EXPECT_FALSE(fs::exists(dir_ + "/data.db"));

  MakeDataDb(false);
  fs::remove(dir_ + "/sources.db");
  Result<ReplaySources> table = LoadReplaySources(*config_, dir_ + "/sources.db");
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.message(), "replay source \"odds\" (config line 12): the data database " + dir_ +
                                 "/data.db has no table \"odds\"");
}

}  // namespace
}  // namespace mlcron
