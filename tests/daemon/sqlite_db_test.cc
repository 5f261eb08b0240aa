#include "daemon/sqlite_db.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "tests/daemon/state_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::ScratchDir;
using ::testing::HasSubstr;

std::unique_ptr<SqliteDb> OpenDb(const std::string& path) {
  auto db = SqliteDb::Open(path, "test database", std::chrono::milliseconds(100));
  EXPECT_TRUE(db.ok()) << db.message();
  return db.ok() ? std::move(*db) : nullptr;
}

std::int64_t CountRows(SqliteDb& db, const std::string& table) {
  SqliteStatement st = db.Prepare("SELECT count(*) FROM " + table);
  Result<bool> row = st.Step();
  EXPECT_TRUE(row.ok()) << row.message();
  return row.ok() && *row ? st.Int64(0) : -1;
}

const Migration kTwoSteps[] = {
    {1, "CREATE TABLE t (a INTEGER)"},
    {2, "ALTER TABLE t ADD COLUMN b TEXT; INSERT INTO t VALUES (1, 'x')"},
};

TEST(StateSqliteDbTest, MigrationsApplyInOrderExactlyOnce) {
  ScratchDir dir;
  auto db = OpenDb(dir.File("m.db"));
  ASSERT_NE(db, nullptr);

  Result<int> v = ApplyMigrations(*db, std::span(kTwoSteps, 1));
  ASSERT_TRUE(v.ok()) << v.message();
  EXPECT_EQ(*v, 1);

  v = ApplyMigrations(*db, kTwoSteps);
  ASSERT_TRUE(v.ok()) << v.message();
  EXPECT_EQ(*v, 2);
  v = ApplyMigrations(*db, kTwoSteps);
  ASSERT_TRUE(v.ok()) << v.message();
  EXPECT_EQ(*v, 2);
  EXPECT_EQ(CountRows(*db, "t"), 1);  // step 2's INSERT ran once
  EXPECT_EQ(*UserVersion(*db), 2);
}

TEST(StateSqliteDbTest, FailingMigrationRollsBackWholeStep) {
  ScratchDir dir;
  const std::string path = dir.File("m.db");
  auto db = OpenDb(path);
  ASSERT_NE(db, nullptr);
  const Migration broken[] = {
      {1, "CREATE TABLE t (a INTEGER)"},
      {2, "CREATE TABLE u (x INTEGER); INSERT INTO nope VALUES (1)"},
  };
  Result<int> v = ApplyMigrations(*db, broken);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.message(), "test database " + path +
                             ": no such table: nope (while migrating the schema to version 2)");
  EXPECT_EQ(*UserVersion(*db), 1);
  SqliteStatement st = db->Prepare("SELECT count(*) FROM sqlite_master WHERE name = 'u'");
  ASSERT_TRUE(*st.Step());
  EXPECT_EQ(st.Int64(0), 0);
}

TEST(StateSqliteDbTest, ErrorsNameTheDatabase) {
  ScratchDir dir;
  const std::string path = dir.File("e.db");
  auto db = OpenDb(path);
  ASSERT_NE(db, nullptr);
  SqliteStatement bad = db->Prepare("SELECT * FROM missing");
  Result<bool> row = bad.Step();
  ASSERT_FALSE(row.ok());
  EXPECT_EQ(row.message(), "test database " + path + ": no such table: missing");

  SqliteStatement bind = db->Prepare("SELECT ?1");
  bind.Bind(5, 1);  // out of range: reported by Step, not lost
  row = bind.Step();
  ASSERT_FALSE(row.ok());
  EXPECT_THAT(row.message(), HasSubstr("column index out of range"));

  auto missing_dir =
      SqliteDb::Open(dir.File("no/such/dir.db"), "test database", std::chrono::milliseconds(10));
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_EQ(missing_dir.message(),
            "test database " + dir.File("no/such/dir.db") + ": unable to open database file");
}

TEST(StateSqliteDbTest, CachedStatementsStartCleanAndAreNotLentTwice) {
  ScratchDir dir;
  auto db = OpenDb(dir.File("c.db"));
  ASSERT_NE(db, nullptr);
  {
    SqliteStatement st = db->Prepare("SELECT ?1");
    st.Bind(1, std::string_view("first"));
    ASSERT_TRUE(*st.Step());
    EXPECT_EQ(st.Text(0), "first");
    SqliteStatement again = db->Prepare("SELECT ?1");
    Result<bool> row = again.Step();
    ASSERT_FALSE(row.ok());
    EXPECT_THAT(row.message(), HasSubstr("already in use"));
  }
  SqliteStatement st = db->Prepare("SELECT ?1");
  ASSERT_TRUE(*st.Step());
  EXPECT_TRUE(st.IsNull(0));  // bindings were cleared on return to the cache
}

TEST(StateSqliteDbTest, ResetLetsOneLoanRunPerRow) {
  ScratchDir dir;
  auto db = OpenDb(dir.File("r.db"));
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("CREATE TABLE t (a INTEGER)").ok());
  SqliteStatement insert = db->Prepare("INSERT INTO t VALUES (?)");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(insert.Bind(1, i).Run().ok());
    insert.Reset();
  }
  // Without Reset the second Bind is SQLite API misuse.
  ASSERT_TRUE(insert.Bind(1, 3).Run().ok());
  Status again = insert.Bind(1, 4).Run();
  EXPECT_FALSE(again.ok());
  insert.Reset();
  EXPECT_EQ(CountRows(*db, "t"), 4);
}

TEST(StateSqliteDbTest, TransactionRollsBackOnError) {
  ScratchDir dir;
  auto db = OpenDb(dir.File("t.db"));
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("CREATE TABLE t (a INTEGER)").ok());
  Status s = db->Transaction([&]() -> Status {
    if (Status e = db->Exec("INSERT INTO t VALUES (1)"); !e.ok()) return e;
    return Status::Error("body failed");
  });
  EXPECT_EQ(s.message(), "body failed");
  EXPECT_EQ(CountRows(*db, "t"), 0);
  ASSERT_TRUE(db->Transaction([&] { return db->Exec("INSERT INTO t VALUES (2)"); }).ok());
  EXPECT_EQ(CountRows(*db, "t"), 1);
}

}  // namespace
}  // namespace mlcron
