#include "jobs/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <memory>

namespace mlcron {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsNan;
using ::testing::Pair;

constexpr std::int64_t kJan1 = 1704067200;  // 2024-01-01T00:00:00Z
constexpr std::int64_t kDay = 86400;

SqlValue Text(const char* s) { return SqlValue::Text(s); }

RowFilter Filter(std::optional<SqlValue> segment, std::optional<SqlValue> after = std::nullopt,
                 std::optional<SqlValue> before = std::nullopt, bool labelled_only = true) {
  RowFilter filter;
  filter.segment = std::move(segment);
  filter.after = std::move(after);
  filter.before = std::move(before);
  filter.labelled_only = labelled_only;
  return filter;
}

DatasetSpec Spec(std::string table, std::string key, std::string time, std::string label,
                 std::vector<std::string> features) {
  DatasetSpec spec;
  spec.table = std::move(table);
  spec.key = std::move(key);
  spec.time = std::move(time);
  spec.label = std::move(label);
  spec.features = std::move(features);
  return spec;
}

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteDb::Open(":memory:", "data database", std::chrono::seconds(1));
    ASSERT_TRUE(db.ok()) << db.message();
    db_ = std::move(*db);
    // Inserted out of time order; row 3 has no label, rows 1 and 5 a missing feature.
    Exec(
        "CREATE TABLE m(id INTEGER PRIMARY KEY, seg TEXT, day TEXT, label REAL, form REAL, "
        "goals REAL);"
        "INSERT INTO m VALUES (1, 'a', '2024-01-02', 1, 0.5, NULL),"
        " (2, 'b', '2024-01-01', 0, 1.25, 3), (3, 'a', '2024-01-01', NULL, 2, 4),"
        " (4, 'a', '2024-01-03', 1, -1, 5), (5, 'b', '2024-01-02', 0, NULL, 6);");
    spec_.table = "m";
    spec_.key = "id";
    spec_.time = "day";
    spec_.label = "label";
    spec_.features = {"form", "goals"};
    spec_.segment_by = "seg";
  }

  void Exec(const std::string& sql) { ASSERT_TRUE(db_->Exec(sql).ok()) << sql; }

  Result<Dataset> Load(const RowFilter& filter = {}) { return LoadDataset(*db_, spec_, filter); }

  std::vector<std::string> Keys(const RowFilter& filter) {
    Result<Dataset> ds = Load(filter);
    EXPECT_TRUE(ds.ok()) << ds.message();
    return ds.ok() ? ds->keys : std::vector<std::string>{"error"};
  }

  std::int64_t Count(const RowFilter& filter) {
    Result<std::int64_t> n = CountRows(*db_, spec_, filter);
    EXPECT_TRUE(n.ok()) << n.message();
    return n.ok() ? *n : -1;
  }

  std::unique_ptr<SqliteDb> db_;
  DatasetSpec spec_;
};

TEST_F(DatasetTest, LoadsRowsInTimeOrderWithNullFeaturesAsNaN) {
  Result<Dataset> ds = Load();
  ASSERT_TRUE(ds.ok()) << ds.message();
  EXPECT_EQ(ds->rows, 4u);
  EXPECT_EQ(ds->cols, 2u);
  EXPECT_THAT(ds->keys, ElementsAre("2", "1", "5", "4"));  // ORDER BY day, then id
  EXPECT_THAT(ds->x, ElementsAre(1.25f, 3.0f, 0.5f, IsNan(), IsNan(), 6.0f, -1.0f, 5.0f));
  EXPECT_THAT(ds->y, ElementsAre(0.0f, 1.0f, 0.0f, 1.0f));
  EXPECT_THAT(ds->time, ElementsAre(kJan1, kJan1 + kDay, kJan1 + kDay, kJan1 + 2 * kDay));
  EXPECT_THAT(ds->segments, ElementsAre("b", "a", "b", "a"));
  EXPECT_EQ(ds->skipped_unlabelled, 1);
}

TEST_F(DatasetTest, TimeRunsKeepTheStoredValueOncePerRun) {
  Result<Dataset> ds = Load();
  ASSERT_TRUE(ds.ok()) << ds.message();
  EXPECT_THAT(ds->time_runs, ElementsAre(Pair(0u, SqlValue::Text("2024-01-01")),
                                         Pair(1u, SqlValue::Text("2024-01-02")),
                                         Pair(3u, SqlValue::Text("2024-01-03"))));
  EXPECT_EQ(ds->RawTime(0), SqlValue::Text("2024-01-01"));
  EXPECT_EQ(ds->RawTime(1), SqlValue::Text("2024-01-02"));
  EXPECT_EQ(ds->RawTime(2), SqlValue::Text("2024-01-02"));
  EXPECT_EQ(ds->RawTime(3), SqlValue::Text("2024-01-03"));
}

TEST_F(DatasetTest, IntegerTimesAreUnixSecondsAndStayIntegers) {
  Exec(
      "CREATE TABLE t(k TEXT, ts INTEGER, y REAL, v REAL);"
      "INSERT INTO t VALUES ('x', 200, 1, 1), ('y', 100, 0, 2), ('z', 200, 1, 3), "
      "('w', 300.0, 1, 4)");
  spec_ = Spec("t", "k", "ts", "y", {"v"});
  Result<Dataset> ds = Load();
  ASSERT_TRUE(ds.ok()) << ds.message();
  EXPECT_THAT(ds->keys, ElementsAre("y", "x", "z", "w"));
  EXPECT_THAT(ds->time, ElementsAre(100, 200, 200, 300));
  EXPECT_THAT(ds->segments, ElementsAre("", "", "", ""));
  // 300.0 is stored as the integer 300: the column has INTEGER affinity.
  EXPECT_THAT(ds->time_runs,
              ElementsAre(Pair(0u, SqlValue::Integer(100)), Pair(1u, SqlValue::Integer(200)),
                          Pair(3u, SqlValue::Integer(300))));
}

TEST_F(DatasetTest, UnlabelledRowsAreKeptWhenAsked) {
  Result<Dataset> ds = Load(Filter({}, {}, {}, false));
  ASSERT_TRUE(ds.ok()) << ds.message();
  EXPECT_THAT(ds->keys, ElementsAre("2", "3", "1", "5", "4"));
  EXPECT_THAT(ds->y, ElementsAre(0.0f, IsNan(), 1.0f, 0.0f, 1.0f));
  EXPECT_EQ(ds->skipped_unlabelled, 0);
}

TEST_F(DatasetTest, WithoutLabelColumnYIsAllNaN) {
  spec_.label = "";
  Result<Dataset> ds = Load();
  ASSERT_TRUE(ds.ok()) << ds.message();
  EXPECT_EQ(ds->rows, 5u);
  EXPECT_THAT(ds->y, ElementsAre(IsNan(), IsNan(), IsNan(), IsNan(), IsNan()));
  EXPECT_EQ(ds->skipped_unlabelled, 0);
}

TEST_F(DatasetTest, FiltersOnSegmentAndTimeBounds) {
  EXPECT_THAT(Keys(Filter(Text("a"))), ElementsAre("1", "4"));
  EXPECT_THAT(Keys(Filter({}, Text("2024-01-01"))), ElementsAre("1", "5", "4"));
  EXPECT_THAT(Keys(Filter({}, {}, Text("2024-01-03"))), ElementsAre("2", "1", "5"));
  EXPECT_THAT(Keys(Filter(Text("b"), Text("2024-01-01"), Text("2024-01-03"))), ElementsAre("5"));
  EXPECT_THAT(Keys(Filter(Text("zz"))), ElementsAre());
  Exec("INSERT INTO m VALUES (6, NULL, '2024-01-04', 1, 1, 1)");
  EXPECT_THAT(Keys(Filter(SqlValue())), ElementsAre("6"));  // NULL segment: IS NULL
}

TEST_F(DatasetTest, QuerySourceIsWrapped) {
  spec_.table = "";
  spec_.query_label = "the query of model q";
  spec_.query = "SELECT * FROM m WHERE goals IS NOT NULL;  \n";
  EXPECT_THAT(Keys({}), ElementsAre("2", "5", "4"));
  spec_.query = "SELECT id, day, seg, label, form * 2 AS form, goals FROM m -- doubled";
  Result<Dataset> ds = Load(Filter(Text("a")));
  ASSERT_TRUE(ds.ok()) << ds.message();
  EXPECT_THAT(ds->x, ElementsAre(1.0f, IsNan(), -2.0f, 5.0f));
  EXPECT_EQ(*CountRows(*db_, spec_, Filter(Text("a"))), 2);
}

TEST_F(DatasetTest, QuotesColumnNamesThatAreKeywords) {
  Exec(
      "CREATE TABLE \"order\"(\"group\" INTEGER, \"when\" INTEGER, \"select\" REAL);"
      "INSERT INTO \"order\" VALUES (1, 10, 0.5)");
  spec_ = Spec("order", "group", "when", "", {"select"});
  Result<Dataset> ds = Load();
  ASSERT_TRUE(ds.ok()) << ds.message();
  EXPECT_THAT(ds->x, ElementsAre(0.5f));
}

TEST_F(DatasetTest, MissingColumnNamesSourceAndListsColumns) {
  spec_.features = {"form", "away_form"};
  Result<Dataset> ds = Load();
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.message(),
            "table m: no column \"away_form\" (columns: id, seg, day, label, form, goals)");
  EXPECT_EQ(CountRows(*db_, spec_, {}).message(), ds.message());

  spec_.table = "";
  spec_.query = "SELECT id, day FROM m";
  spec_.query_label = "the query of model q";
  EXPECT_EQ(Load().message(), "the query of model q: no column \"label\" (columns: id, day)");
}

TEST_F(DatasetTest, ColumnNamesMatchWithoutCase) {
  spec_.features = {"FORM", "Goals"};
  Result<Dataset> ds = Load();
  ASSERT_TRUE(ds.ok()) << ds.message();
  EXPECT_EQ(ds->rows, 4u);
}

TEST_F(DatasetTest, MissingTableIsNamed) {
  spec_.table = "nope";
  EXPECT_EQ(Load().message(), "table nope: data database :memory:: no such table: nope");
}

TEST_F(DatasetTest, NonNumericFeatureNamesRowAndColumn) {
  Exec("INSERT INTO m VALUES (17, 'a', '2024-01-05', 1, 'abc', 1)");
  EXPECT_EQ(Load().message(),
            "table m: row key 17: column \"form\": expected a number, got \"abc\"");
  Exec("UPDATE m SET form = 1, goals = x'0102' WHERE id = 17");
  EXPECT_EQ(Load().message(),
            "table m: row key 17: column \"goals\": expected a number, got a blob of 2 bytes");
  Exec("UPDATE m SET goals = 1, label = 'yes' WHERE id = 17");
  EXPECT_EQ(Load().message(),
            "table m: row key 17: column \"label\": expected a number, got \"yes\"");
}

TEST_F(DatasetTest, NumericTextIsAcceptedOnlyWhenWhollyANumber) {
  // A column without affinity keeps text as text, as a CSV import into untyped columns does.
  Exec(
      "CREATE TABLE c(k, t, y, v); INSERT INTO c VALUES (1, 1, '1', ' 1.5 '), (2, 2, '0', '+2'),"
      "(3, 3, '1', '-3e2')");
  spec_ = Spec("c", "k", "t", "y", {"v"});
  Result<Dataset> ds = Load();
  ASSERT_TRUE(ds.ok()) << ds.message();
  EXPECT_THAT(ds->x, ElementsAre(1.5f, 2.0f, -300.0f));
  EXPECT_THAT(ds->y, ElementsAre(1.0f, 0.0f, 1.0f));
  for (const char* bad : {"", "1.5x", "nan", "0x10", "1,5"}) {
    Exec(std::string("UPDATE c SET v = '") + bad + "' WHERE k = 2");
    EXPECT_EQ(
        Load().message(),
        std::string("table c: row key 2: column \"v\": expected a number, got \"") + bad + "\"");
  }
}

TEST_F(DatasetTest, InfiniteAndOutOfRangeValuesAreRejected) {
  Exec("INSERT INTO m VALUES (17, 'a', '2024-01-05', 1, 9e999, 1)");
  EXPECT_EQ(Load().message(),
            "table m: row key 17: column \"form\": expected a finite number, got inf");
  Exec("UPDATE m SET form = -9e999 WHERE id = 17");
  EXPECT_EQ(Load().message(),
            "table m: row key 17: column \"form\": expected a finite number, got -inf");
  Exec("UPDATE m SET form = 1e300 WHERE id = 17");
  EXPECT_EQ(Load().message(),
            "table m: row key 17: column \"form\": 1e+300 is out of the float range");
}

TEST_F(DatasetTest, BadTimeNamesRowAndColumn) {
  Exec("INSERT INTO m VALUES (17, 'a', 'yesterday', 1, 1, 1)");
  EXPECT_EQ(Load().message(),
            "table m: row key 17: column \"day\": \"yesterday\" is not a time (expected YYYY-MM-DD "
            "or YYYY-MM-DDTHH:MM[:SS], with an optional Z or +HH:MM offset)");
  Exec("UPDATE m SET day = NULL WHERE id = 17");
  EXPECT_EQ(Load().message(), "table m: row key 17: column \"day\": the time is NULL");
}

TEST_F(DatasetTest, TimesInMixedFormsThatSortWronglyAreAnError) {
  // SQL sorts integers before text: text 1970-01-01T00:00:10Z comes after 5000 but is earlier.
  Exec(
      "CREATE TABLE t(k INTEGER, ts, v REAL);"
      "INSERT INTO t VALUES (1, 5000, 1), (2, '1970-01-01T00:00:10Z', 2)");
  spec_ = Spec("t", "k", "ts", "", {"v"});
  EXPECT_EQ(Load().message(),
            "table t: row key 2: column \"ts\": \"1970-01-01T00:00:10Z\" sorts after \"5000\" but "
            "is an earlier time; store every time in one form (unix seconds or UTC ISO-8601 text)");
}

TEST(TimeToUnix, AcceptsSecondsAndIsoText) {
  EXPECT_EQ(*TimeToUnix(SqlValue::Integer(1700000000)), 1700000000);
  EXPECT_EQ(*TimeToUnix(SqlValue::Real(1700000000.0)), 1700000000);
  EXPECT_EQ(*TimeToUnix(SqlValue::Text("1700000000")), 1700000000);
  EXPECT_EQ(*TimeToUnix(SqlValue::Text("2024-03-31")), 1711843200);
  EXPECT_EQ(*TimeToUnix(SqlValue::Text("2024-03-31 01:00")), 1711846800);
  EXPECT_EQ(*TimeToUnix(SqlValue::Text("2024-03-31T01:00:30")), 1711846830);
  EXPECT_EQ(*TimeToUnix(SqlValue::Text("2024-03-31T01:00:30Z")), 1711846830);
  EXPECT_EQ(*TimeToUnix(SqlValue::Text("2024-03-31T03:00:30+02:00")), 1711846830);
}

TEST(TimeToUnix, RejectsWhatIsNotATime) {
  EXPECT_EQ(TimeToUnix(SqlValue()).message(), "the time is NULL");
  EXPECT_EQ(TimeToUnix(SqlValue::Real(1.5)).message(), "1.5 is not a whole number of unix seconds");
  EXPECT_EQ(TimeToUnix(SqlValue::Text("2024-02-30")).message(),
            "\"2024-02-30\": there is no such date");
  EXPECT_EQ(TimeToUnix(SqlValue::Text("31/03/2024")).message(),
            "\"31/03/2024\" is not a time (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], with an "
            "optional Z or +HH:MM offset)");
}

TEST_F(DatasetTest, CountRowsMatchesTheFilter) {
  EXPECT_EQ(Count({}), 4);
  EXPECT_EQ(Count(Filter({}, {}, {}, false)), 5);
  EXPECT_EQ(Count(Filter(Text("a"))), 2);
  EXPECT_EQ(Count(Filter(Text("a"), {}, {}, false)), 3);
  EXPECT_EQ(Count(Filter({}, Text("2024-01-01"), Text("2024-01-03"))), 2);
}

// Records the SQL (with bound values inlined) of every statement the connection runs.
int Trace(unsigned, void* ctx, void* stmt, void*) {
  char* sql = sqlite3_expanded_sql(static_cast<sqlite3_stmt*>(stmt));
  static_cast<std::vector<std::string>*>(ctx)->push_back(sql != nullptr ? sql : "");
  sqlite3_free(sql);
  return 0;
}

// EXPLAIN QUERY PLAN of the last traced statement that starts with `prefix`.
std::string PlanOfLast(SqliteDb& db, const std::vector<std::string>& traced,
                       const std::string& prefix) {
  std::string sql;
  for (const std::string& s : traced) {
    if (s.starts_with(prefix)) sql = s;
  }
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(
      sqlite3_prepare_v2(db.handle(), ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr),
      SQLITE_OK)
      << sql;
  std::string plan;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
    plan += "\n";
  }
  sqlite3_finalize(stmt);
  return plan;
}

TEST_F(DatasetTest, CountRowsIsIndexOnlyOnceTheIndexExists) {
  bool created = false;
  ASSERT_TRUE(EnsureSegmentTimeIndex(*db_, spec_, &created).ok());
  std::vector<std::string> traced;
  sqlite3_trace_v2(db_->handle(), SQLITE_TRACE_STMT, Trace, &traced);
  EXPECT_EQ(Count(Filter(Text("a"), Text("2024-01-01"))), 2);
  EXPECT_EQ(PlanOfLast(*db_, traced, "SELECT count(*)"),
            "SEARCH m USING COVERING INDEX m_mlcron_seg_time (seg=? AND day>?)\n");
  EXPECT_EQ(Count({}), 4);
  EXPECT_THAT(PlanOfLast(*db_, traced, "SELECT count(*)"),
              HasSubstr("USING COVERING INDEX m_mlcron_seg_time"));
  sqlite3_trace_v2(db_->handle(), 0, nullptr, nullptr);
}

TEST_F(DatasetTest, WithoutSegmentsTheIndexIsOnTimeKeyAndLabel) {
  spec_.segment_by = "";
  bool created = false;
  ASSERT_TRUE(EnsureSegmentTimeIndex(*db_, spec_, &created).ok());
  EXPECT_TRUE(created);
  std::vector<std::string> traced;
  sqlite3_trace_v2(db_->handle(), SQLITE_TRACE_STMT, Trace, &traced);
  EXPECT_EQ(Count(Filter({}, Text("2024-01-02"))), 1);
  EXPECT_EQ(PlanOfLast(*db_, traced, "SELECT count(*)"),
            "SEARCH m USING COVERING INDEX m_mlcron_seg_time (day>?)\n");
  EXPECT_THAT(Keys(Filter({})), ElementsAre("2", "1", "5", "4"));
  EXPECT_EQ(PlanOfLast(*db_, traced, "SELECT \"id\""), "SCAN m USING INDEX m_mlcron_seg_time\n");
  sqlite3_trace_v2(db_->handle(), 0, nullptr, nullptr);
}

TEST_F(DatasetTest, LoadReadsASegmentInIndexOrderWithoutSorting) {
  std::vector<std::string> traced;
  sqlite3_trace_v2(db_->handle(), SQLITE_TRACE_STMT, Trace, &traced);
  EXPECT_THAT(Keys(Filter(Text("a"), Text("2024-01-01"))), ElementsAre("1", "4"));
  EXPECT_THAT(PlanOfLast(*db_, traced, "SELECT \"id\""), HasSubstr("USE TEMP B-TREE FOR ORDER BY"));
  bool created = false;
  ASSERT_TRUE(EnsureSegmentTimeIndex(*db_, spec_, &created).ok());
  EXPECT_THAT(Keys(Filter(Text("a"), Text("2024-01-01"))), ElementsAre("1", "4"));
  EXPECT_EQ(PlanOfLast(*db_, traced, "SELECT \"id\""),
            "SEARCH m USING INDEX m_mlcron_seg_time (seg=? AND day>?)\n");
  sqlite3_trace_v2(db_->handle(), 0, nullptr, nullptr);
}

TEST_F(DatasetTest, EnsureSegmentTimeIndexTellsWhetherItCreated) {
  bool created = false;
  ASSERT_TRUE(EnsureSegmentTimeIndex(*db_, spec_, &created).ok());
  EXPECT_TRUE(created);
  auto cols = db_->Prepare("SELECT group_concat(name, ',') FROM pragma_index_info(?1)");
  cols.Bind(1, std::string_view("m_mlcron_seg_time"));
  ASSERT_TRUE(*cols.Step());
  EXPECT_EQ(cols.Text(0), "seg,day,id,label");
  ASSERT_TRUE(EnsureSegmentTimeIndex(*db_, spec_, &created).ok());
  EXPECT_FALSE(created);

  spec_.table = "";
  spec_.query = "SELECT * FROM m";
  created = true;
  ASSERT_TRUE(EnsureSegmentTimeIndex(*db_, spec_, &created).ok());
  EXPECT_FALSE(created);  // a query has nothing to index
}

TEST_F(DatasetTest, ListSegmentsOfLabelledRows) {
  Exec("INSERT INTO m VALUES (6, 'c', '2024-01-04', NULL, 1, 1), (7, NULL, '2024-01-04', 0, 1, 1)");
  Result<std::vector<SqlValue>> segments = ListSegments(*db_, spec_);
  ASSERT_TRUE(segments.ok()) << segments.message();
  EXPECT_THAT(*segments, ElementsAre(SqlValue(), SqlValue::Text("a"), SqlValue::Text("b")));
  spec_.segment_by = "";
  EXPECT_THAT(*ListSegments(*db_, spec_), ElementsAre(SqlValue()));
}

TEST(DatasetSpec, FromModelAndSourceName) {
  ModelConfig model;
  model.name = "result";
  model.query = "SELECT * FROM x";
  model.key = "k";
  model.time = "t";
  model.label = "y";
  model.features = {"a", "b"};
  model.segment_by = "s";
  DatasetSpec spec = DatasetSpec::FromModel(model);
  EXPECT_EQ(spec.query, "SELECT * FROM x");
  EXPECT_THAT(spec.features, ElementsAre("a", "b"));
  EXPECT_EQ(spec.segment_by, "s");
  EXPECT_EQ(spec.SourceName(), "the query of model result");
  model.query = "";
  model.table = "match_features";
  EXPECT_EQ(DatasetSpec::FromModel(model).SourceName(), "table match_features");
}

}  // namespace
}  // namespace mlcron
