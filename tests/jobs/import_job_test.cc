#include "jobs/import_job.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tests/daemon/state_test_util.h"

namespace mlcron {

// Found by argument-dependent lookup, so outside the anonymous namespace.
void PrintTo(const ImportStats& s, std::ostream* os) {
  *os << "{rows " << s.rows << ", inserted " << s.inserted << ", updated " << s.updated
      << ", unchanged " << s.unchanged << "}";
}

namespace {

using ::mlcron::testing::ScratchDir;
using ::mlcron::testing::WriteBytes;
using ::testing::ElementsAre;

constexpr char kT1[] = "2024-03-31T01:00:00Z";
constexpr char kT2[] = "2024-04-01T01:00:00Z";

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteDb::Open(dir_.File("data.db"), "data database", std::chrono::seconds(1));
    ASSERT_TRUE(db.ok()) << db.message();
    db_ = std::move(*db);
  }

  // Writes `bytes` to NAME in the scratch dir and returns import params for it.
  BuiltinJobParams Csv(const std::string& name, const std::string& bytes,
                       std::vector<std::string> key = {"id"},
                       std::map<std::string, std::string> types = {}) {
    WriteBytes(dir_.File(name), bytes);
    BuiltinJobParams p;
    p.file = dir_.File(name);
    p.table = "matches";
    p.key = std::move(key);
    p.types = std::move(types);
    return p;
  }

  ImportStats Import(const BuiltinJobParams& p, const std::string& at = kT1) {
    Result<ImportStats> stats = ImportCsv(*db_, p, at);
    EXPECT_TRUE(stats.ok()) << stats.message();
    return stats.ok() ? *stats : ImportStats{-1, -1, -1, -1};
  }

  // The error message with the scratch dir cut out ("/m.csv:3: ...").
  std::string ImportError(const BuiltinJobParams& p, const std::string& at = kT1) {
    Result<ImportStats> stats = ImportCsv(*db_, p, at);
    EXPECT_FALSE(stats.ok()) << "imported " << (stats.ok() ? stats->rows : 0) << " rows";
    std::string message = stats.message();
    const std::string prefix = dir_.path().string();
    for (auto at = message.find(prefix); at != std::string::npos; at = message.find(prefix)) {
      message.erase(at, prefix.size());
    }
    return message;
  }

  void Exec(const std::string& sql) {
    Status s = db_->Exec(sql);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // Every row in rowid order as SQL literals: 3 and '3' differ, NULL is NULL.
  std::vector<std::string> Dump(const std::string& table = "matches") {
    std::string expr;
    {
      SqliteStatement st = db_->Prepare("SELECT name FROM pragma_table_info(?1)");
      st.Bind(1, std::string_view(table));
      while (*st.Step())
        expr += (expr.empty() ? "" : " || '|' || ") + ("quote(\"" + st.Text(0) + "\")");
    }
    std::vector<std::string> rows;
    if (expr.empty()) return rows;
    SqliteStatement st = db_->Prepare("SELECT " + expr + " FROM " + table + " ORDER BY rowid");
    while (true) {
      Result<bool> row = st.Step();
      EXPECT_TRUE(row.ok()) << row.message();
      if (!row.ok() || !*row) return rows;
      rows.push_back(st.Text(0));
    }
  }

  std::vector<std::string> Schema(const std::string& table = "matches") {
    std::vector<std::string> sql;
    SqliteStatement st =
        db_->Prepare("SELECT sql FROM sqlite_schema WHERE tbl_name = ?1 ORDER BY type DESC, name");
    st.Bind(1, std::string_view(table));
    while (*st.Step()) sql.push_back(st.Text(0));
    return sql;
  }

  ScratchDir dir_;
  std::unique_ptr<SqliteDb> db_;
};

const std::map<std::string, std::string> kMatchTypes = {
    {"id", "integer"}, {"home_goals", "integer"}, {"xg", "real"}};
constexpr char kMatches[] =
    "id,home,away,home_goals,xg\n"
    "1,Arsenal,Chelsea,3,2.25\n"
    "2,Everton,Fulham,0,0.5\n"
    "3,Leeds,\"Brighton & Hove, Albion\",1,\n";

TEST_F(ImportTest, CreatesTableWithTypesAndKeyIndex) {
  EXPECT_EQ(Import(Csv("m.csv", kMatches, {"id"}, kMatchTypes)), (ImportStats{3, 3, 0, 0}));
  EXPECT_THAT(Schema(),
              ElementsAre("CREATE TABLE \"matches\" (\"id\" INTEGER, \"home\" TEXT, \"away\" TEXT, "
                          "\"home_goals\" INTEGER, \"xg\" REAL, \"_ingested_at\" TEXT)",
                          "CREATE UNIQUE INDEX \"matches_mlcron_key\" ON \"matches\" (\"id\")"));
  EXPECT_THAT(Dump(),
              ElementsAre("1|'Arsenal'|'Chelsea'|3|2.25|'2024-03-31T01:00:00Z'",
                          "2|'Everton'|'Fulham'|0|0.5|'2024-03-31T01:00:00Z'",
                          "3|'Leeds'|'Brighton & Hove, Albion'|1|NULL|'2024-03-31T01:00:00Z'"));
}

TEST_F(ImportTest, QuotingAndTheNullRule) {
  // Empty is NULL, except a quoted "" in a text column, which is the empty string.
  auto p = Csv("q.csv",
               "id,name,n,note\n"
               "1,,,\"say \"\"hi\"\"\"\n"
               "2,\"\",\"\",\"\"\n"
               "\"3\",\"x,y\",\"42\",plain\n",
               {"id"}, {{"id", "integer"}, {"n", "integer"}});
  EXPECT_EQ(Import(p), (ImportStats{3, 3, 0, 0}));
  EXPECT_THAT(Dump(), ElementsAre("1|NULL|NULL|'say \"hi\"'|'2024-03-31T01:00:00Z'",
                                  "2|''|NULL|''|'2024-03-31T01:00:00Z'",
                                  "3|'x,y'|42|'plain'|'2024-03-31T01:00:00Z'"));
}

TEST_F(ImportTest, EmbeddedNewlinesAndLineNumbersAfterThem) {
  const std::string head =
      "id,home_goals,note\n"
      "1,2,\"two\nlines\"\n"
      "2,0,\"three\n\nlines\"\n";
  const std::map<std::string, std::string> types = {{"id", "integer"}, {"home_goals", "integer"}};
  EXPECT_EQ(Import(Csv("n.csv", head, {"id"}, types)), (ImportStats{2, 2, 0, 0}));
  EXPECT_THAT(Dump(), ElementsAre("1|2|'two\nlines'|'2024-03-31T01:00:00Z'",
                                  "2|0|'three\n\nlines'|'2024-03-31T01:00:00Z'"));
  // The bad record starts on physical line 7, after the two multi-line records.
  EXPECT_EQ(ImportError(Csv("n.csv", head + "3,x,ok\n", {"id"}, types)),
            "/n.csv:7: field \"home_goals\" (column 2): expected an integer, got \"x\"");
}

TEST_F(ImportTest, CrlfFileImportsTheSameRows) {
  auto p = Csv("c.csv", "id,home,note\r\n1,Arsenal,\"a\r\nb\"\r\n2,Everton,\r\n", {"id"},
               {{"id", "integer"}});
  EXPECT_EQ(Import(p), (ImportStats{2, 2, 0, 0}));
  EXPECT_THAT(Dump(), ElementsAre("1|'Arsenal'|'a\r\nb'|'2024-03-31T01:00:00Z'",
                                  "2|'Everton'|NULL|'2024-03-31T01:00:00Z'"));
}

TEST_F(ImportTest, HeaderLackingAKeyColumn) {
  EXPECT_EQ(ImportError(Csv("m.csv", "home,away\nA,B\n", {"id"})),
            "/m.csv:1: key column \"id\" is not in the header (columns: home, away)");
  EXPECT_TRUE(Schema().empty());
}

TEST_F(ImportTest, HeaderColumnTheTableLacks) {
  Exec("CREATE TABLE matches (id INTEGER, home TEXT, away TEXT)");
  EXPECT_EQ(ImportError(Csv("m.csv", "id,home,xg\n1,A,0.5\n")),
            "/m.csv:1: column \"xg\" is not in table matches (its columns: id, home, away)");
  // Rolled back: no _ingested_at column, no index.
  EXPECT_THAT(Schema(), ElementsAre("CREATE TABLE matches (id INTEGER, home TEXT, away TEXT)"));
}

TEST_F(ImportTest, HeaderErrors) {
  EXPECT_EQ(ImportError(Csv("m.csv", "id,home,ID\n")),
            "/m.csv:1: column \"ID\" appears twice in the header (columns 1 and 3)");
  EXPECT_EQ(ImportError(Csv("m.csv", "id,,x\n")), "/m.csv:1: column 2 of the header has no name");
  EXPECT_EQ(ImportError(Csv("m.csv", "id,_ingested_at\n")),
            "/m.csv:1: column 2 of the header is \"_ingested_at\", which mlcron writes itself: "
            "it cannot come from the file");
  EXPECT_EQ(ImportError(Csv("m.csv", "id,home\n", {"id"}, {{"goals", "integer"}})),
            "/m.csv:1: types: column \"goals\" is not in the header (columns: id, home)");
  EXPECT_TRUE(Schema().empty());
}

TEST_F(ImportTest, BadNumberRollsBackTheWholeFile) {
  ASSERT_EQ(Import(Csv("m.csv", kMatches, {"id"}, kMatchTypes)), (ImportStats{3, 3, 0, 0}));
  const std::vector<std::string> before = Dump();
  // Row 1 changes, row 4 is new, and only then comes the bad line.
  auto p = Csv("m.csv",
               "id,home,away,home_goals,xg\n"
               "1,Arsenal,Chelsea,4,2.25\n"
               "4,Wolves,Spurs,2,1.5\n"
               "5,Leeds,Hull,x,0.1\n",
               {"id"}, kMatchTypes);
  EXPECT_EQ(ImportError(p, kT2),
            "/m.csv:4: field \"home_goals\" (column 4): expected an integer, got \"x\"");
  EXPECT_EQ(Dump(), before);
}

TEST_F(ImportTest, ConstraintOfTheTableNamesTheLine) {
  Exec("CREATE TABLE matches (id INTEGER, home TEXT NOT NULL)");
  EXPECT_EQ(ImportError(Csv("m.csv", "id,home\n1,A\n2,\n")),
            "/m.csv:3: data database /data.db: NOT NULL constraint failed: matches.home");
  EXPECT_TRUE(Dump().empty());
}

TEST_F(ImportTest, BadFileLeavesNoNewTable) {
  EXPECT_EQ(ImportError(Csv("m.csv", "id,xg\n1,0.5\n2,fast\n", {"id"}, {{"xg", "real"}})),
            "/m.csv:3: field \"xg\" (column 2): expected a real number, got \"fast\"");
  EXPECT_TRUE(Schema().empty());
}

TEST_F(ImportTest, WrongFieldCountNamesTheLine) {
  EXPECT_EQ(ImportError(Csv("m.csv", "id,home,away\n1,A,B\n2,C\n")),
            "/m.csv:3: 2 fields, but the header has 3 columns");
  EXPECT_EQ(ImportError(Csv("m.csv", "id,home\n1,A,B\n")),
            "/m.csv:2: 3 fields, but the header has 2 columns");
}

TEST_F(ImportTest, EmptyFileAndHeaderOnlyFile) {
  EXPECT_EQ(ImportError(Csv("m.csv", "")), "/m.csv: empty file (no header line)");
  EXPECT_EQ(ImportError(Csv("m.csv", "\n\r\n")), "/m.csv: empty file (no header line)");
  EXPECT_EQ(Import(Csv("m.csv", "id,home\n")), (ImportStats{0, 0, 0, 0}));
  EXPECT_EQ(Schema().size(), 2u);  // the table and its index
  EXPECT_TRUE(Dump().empty());
}

TEST_F(ImportTest, RerunChangesNothing) {
  auto p = Csv("m.csv", kMatches, {"id"}, kMatchTypes);
  ASSERT_EQ(Import(p, kT1), (ImportStats{3, 3, 0, 0}));
  const std::vector<std::string> first = Dump();
  EXPECT_EQ(Import(p, kT2), (ImportStats{3, 0, 0, 3}));
  EXPECT_EQ(Dump(), first);  // _ingested_at still kT1 everywhere
}

TEST_F(ImportTest, ChangedRowIsTheOnlyOneStamped) {
  ASSERT_EQ(Import(Csv("m.csv", kMatches, {"id"}, kMatchTypes), kT1), (ImportStats{3, 3, 0, 0}));
  // Row 2 changes, row 3's NULL xg stays NULL (unchanged), row 5 is new.
  auto p = Csv("m.csv",
               "id,home,away,home_goals,xg\n"
               "3,Leeds,\"Brighton & Hove, Albion\",1,\n"
               "2,Everton,Fulham,1,0.5\n"
               "1,Arsenal,Chelsea,3,2.25\n"
               "5,Wolves,Spurs,2,1.5\n",
               {"id"}, kMatchTypes);
  EXPECT_EQ(Import(p, kT2), (ImportStats{4, 1, 1, 2}));
  EXPECT_THAT(Dump(),
              ElementsAre("1|'Arsenal'|'Chelsea'|3|2.25|'2024-03-31T01:00:00Z'",
                          "2|'Everton'|'Fulham'|1|0.5|'2024-04-01T01:00:00Z'",
                          "3|'Leeds'|'Brighton & Hove, Albion'|1|NULL|'2024-03-31T01:00:00Z'",
                          "5|'Wolves'|'Spurs'|2|1.5|'2024-04-01T01:00:00Z'"));
  // A value becoming NULL is a change too (IS NOT, not <>).
  auto nulls = Csv("m.csv", "id,xg\n1,\n", {"id"}, {{"id", "integer"}, {"xg", "real"}});
  EXPECT_EQ(Import(nulls, kT2), (ImportStats{1, 0, 1, 0}));
  EXPECT_EQ(Dump()[0], "1|'Arsenal'|'Chelsea'|3|NULL|'2024-04-01T01:00:00Z'");
}

TEST_F(ImportTest, TypesOfAnExistingTable) {
  // Columns the header leaves out are kept; types come from the declared types.
  Exec(
      "CREATE TABLE matches (id INTEGER PRIMARY KEY, score REAL, played DATE, name VARCHAR(20),"
      " n BIGINT, extra TEXT DEFAULT 'kept')");
  auto p = Csv("m.csv", "id,score,played,name,n\n1,2.5,2024-01-01,x,7\n2,3,2024-01-02,42,\n");
  EXPECT_EQ(Import(p), (ImportStats{2, 2, 0, 0}));
  // SQLite's affinities still apply: 3 in a REAL column is 3.0, '42' in VARCHAR stays text.
  EXPECT_THAT(Dump(), ElementsAre("1|2.5|'2024-01-01'|'x'|7|'kept'|'2024-03-31T01:00:00Z'",
                                  "2|3.0|'2024-01-02'|'42'|NULL|'kept'|'2024-03-31T01:00:00Z'"));
  EXPECT_EQ(Import(p, kT2), (ImportStats{2, 0, 0, 2}));

  EXPECT_EQ(ImportError(Csv("m.csv", "id,score\n1,abc\n")),
            "/m.csv:2: field \"score\" (column 2): expected a real number, got \"abc\"");
  EXPECT_EQ(ImportError(Csv("m.csv", "id,n\n1,7.5\n")),
            "/m.csv:2: field \"n\" (column 2): expected an integer, got \"7.5\"");
  // types: wins over the declared type.
  EXPECT_EQ(ImportError(Csv("m.csv", "id,name\n1,x\n", {"id"}, {{"name", "integer"}})),
            "/m.csv:2: field \"name\" (column 2): expected an integer, got \"x\"");
}

TEST_F(ImportTest, NumberSyntax) {
  auto p = Csv("m.csv",
               "id,i,r\n"
               "1,9223372036854775807,1e3\n"
               "2,-9223372036854775808,-0.125\n"
               "3,+5,+.5\n",
               {"id"}, {{"id", "integer"}, {"i", "integer"}, {"r", "real"}});
  EXPECT_EQ(Import(p), (ImportStats{3, 3, 0, 0}));
  EXPECT_THAT(Dump(), ElementsAre("1|9223372036854775807|1000.0|'2024-03-31T01:00:00Z'",
                                  "2|-9223372036854775808|-0.125|'2024-03-31T01:00:00Z'",
                                  "3|5|0.5|'2024-03-31T01:00:00Z'"));
  const std::map<std::string, std::string> types = {{"i", "integer"}, {"r", "real"}};
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"9,9223372036854775808,1",
       "field \"i\" (column 2): expected an integer, got \"9223372036854775808\" (out of the "
       "64-bit range)"},
      {"9, 5,1", "field \"i\" (column 2): expected an integer, got \" 5\""},
      {"9,+-5,1", "field \"i\" (column 2): expected an integer, got \"+-5\""},
      {"9,0x10,1", "field \"i\" (column 2): expected an integer, got \"0x10\""},
      {"9,1,inf", "field \"r\" (column 3): expected a finite real number, got \"inf\""},
      {"9,1,nan", "field \"r\" (column 3): expected a finite real number, got \"nan\""},
      {"9,1,1e400",
       "field \"r\" (column 3): expected a real number, got \"1e400\" (out of the range of a "
       "double)"},
      {"9,1,1.5x", "field \"r\" (column 3): expected a real number, got \"1.5x\""},
  };
  for (const auto& [line, message] : bad) {
    EXPECT_EQ(ImportError(Csv("m.csv", "id,i,r\n" + line + "\n", {"id"}, types)),
              "/m.csv:2: " + message);
  }
}

TEST_F(ImportTest, EmptyKeyIsAnError) {
  EXPECT_EQ(ImportError(Csv("m.csv", "id,home\n1,A\n,B\n")),
            "/m.csv:3: field \"id\" (column 1): the key must not be empty");
}

TEST_F(ImportTest, CompositeKeyAndKeyChange) {
  auto p = Csv("m.csv", "league,id,home\nE0,1,A\nE1,1,B\n", {"league", "id"});
  EXPECT_EQ(Import(p), (ImportStats{2, 2, 0, 0}));
  EXPECT_EQ(Schema()[1],
            "CREATE UNIQUE INDEX \"matches_mlcron_key\" ON \"matches\" "
            "(\"league\", \"id\")");
  p = Csv("m.csv", "league,id,home\nE0,1,A\nE1,1,C\n", {"league", "id"});
  EXPECT_EQ(Import(p, kT2), (ImportStats{2, 0, 1, 1}));
  // A new key rebuilds mlcron's index; rows that collide under it are reported.
  p.key = {"id"};
  EXPECT_EQ(ImportError(p),
            "table matches: cannot create the unique index matches_mlcron_key on its key (id): "
            "data database /data.db: UNIQUE constraint failed: matches.id (the table already "
            "holds rows with the same key)");
  p.key = {"home"};
  EXPECT_EQ(Import(p, kT2), (ImportStats{2, 0, 0, 2}));
  EXPECT_EQ(Schema()[1], "CREATE UNIQUE INDEX \"matches_mlcron_key\" ON \"matches\" (\"home\")");
}

TEST_F(ImportTest, AllColumnsInTheKey) {
  auto p = Csv("m.csv", "a,b\n1,2\n1,3\n", {"a", "b"});
  EXPECT_EQ(Import(p), (ImportStats{2, 2, 0, 0}));
  EXPECT_EQ(Import(p, kT2), (ImportStats{2, 0, 0, 2}));
  EXPECT_THAT(Dump(),
              ElementsAre("'1'|'2'|'2024-03-31T01:00:00Z'", "'1'|'3'|'2024-03-31T01:00:00Z'"));
}

TEST_F(ImportTest, RunImportJobPrintsOneLine) {
  auto config = std::make_shared<Config>();
  config->data_path = dir_.File("data.db");
  JobConfig job;
  job.name = "load";
  job.kind = "import";
  job.builtin = Csv("matches.csv", kMatches, {"id"}, kMatchTypes);
  config->jobs.push_back(job);
  JobContext ctx;
  ctx.config = config;
  ctx.job = &config->jobs[0];
  ctx.now = std::chrono::sys_seconds(std::chrono::seconds(1711846900));  // ran late
  ctx.scheduled = std::chrono::sys_seconds(std::chrono::seconds(1711846800));
  std::ostringstream out;
  ctx.out = &out;
  EXPECT_EQ(RunImportJob(ctx), 0);
  EXPECT_EQ(out.str(),
            "import matches.csv into matches: 3 rows, 3 inserted, 0 updated, 0 unchanged\n");
  EXPECT_EQ(Dump()[0], "1|'Arsenal'|'Chelsea'|3|2.25|'2024-03-31T01:00:00Z'");

  out.str("");
  config->jobs[0].builtin = Csv("matches.csv", "id,home\n1,Arsenal,x\n");
  EXPECT_EQ(RunImportJob(ctx), 1);
  EXPECT_EQ(out.str(), "import matches.csv into matches failed, nothing was written: " +
                           dir_.File("matches.csv") +
                           ":2: 3 fields, but the header has 2 columns\n");
}

}  // namespace
}  // namespace mlcron
