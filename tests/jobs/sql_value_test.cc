#include "jobs/sql_value.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

namespace mlcron {
namespace {

std::unique_ptr<SqliteDb> MemoryDb() {
  auto db = SqliteDb::Open(":memory:", "test database", std::chrono::seconds(1));
  EXPECT_TRUE(db.ok()) << db.message();
  return std::move(*db);
}

struct StmtDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

Stmt PrepareRaw(SqliteDb& db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db.handle(), sql, -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db.handle());
  return Stmt(stmt);
}

TEST(SqlValue, ToStringShowsEachType) {
  EXPECT_EQ(SqlValue().ToString(), "");
  EXPECT_EQ(SqlValue::Integer(1700000000).ToString(), "1700000000");
  EXPECT_EQ(SqlValue::Integer(-5).ToString(), "-5");
  EXPECT_EQ(SqlValue::Real(2.5).ToString(), "2.5");
  EXPECT_EQ(SqlValue::Real(3.0).ToString(), "3.0");
  EXPECT_EQ(SqlValue::Real(0.1).ToString(), "0.1");
  EXPECT_EQ(SqlValue::Real(1e300).ToString(), "1e+300");
  EXPECT_EQ(SqlValue::Text("2017-05-28").ToString(), "2017-05-28");
}

TEST(SqlValue, EqualityNeedsSameTypeAndValue) {
  EXPECT_EQ(SqlValue(), SqlValue());
  EXPECT_EQ(SqlValue::Integer(3), SqlValue::Integer(3));
  EXPECT_FALSE(SqlValue::Integer(3) == SqlValue::Integer(4));
  EXPECT_FALSE(SqlValue::Integer(3) == SqlValue::Real(3.0));
  EXPECT_FALSE(SqlValue::Integer(3) == SqlValue::Text("3"));
  EXPECT_FALSE(SqlValue() == SqlValue::Text(""));
  EXPECT_EQ(SqlValue::Text("a"), SqlValue::Text("a"));
  EXPECT_EQ(SqlValue::Real(2.5), SqlValue::Real(2.5));
}

TEST(SqlValue, FromColumnKeepsTheStoredType) {
  auto db = MemoryDb();
  Stmt stmt = PrepareRaw(*db, "SELECT NULL, 7, 2.5, 'x', x'6162'");
  ASSERT_EQ(sqlite3_step(stmt.get()), SQLITE_ROW);
  EXPECT_EQ(SqlValue::FromColumn(stmt.get(), 0), SqlValue());
  EXPECT_EQ(SqlValue::FromColumn(stmt.get(), 1), SqlValue::Integer(7));
  EXPECT_EQ(SqlValue::FromColumn(stmt.get(), 2), SqlValue::Real(2.5));
  EXPECT_EQ(SqlValue::FromColumn(stmt.get(), 3), SqlValue::Text("x"));
  EXPECT_EQ(SqlValue::FromColumn(stmt.get(), 4), SqlValue::Text("ab"));  // a blob's bytes
}

TEST(SqlValue, BindRoundTripsTypeAndValue) {
  auto db = MemoryDb();
  Stmt stmt = PrepareRaw(*db, "SELECT typeof(?1), ?1");
  const SqlValue values[] = {SqlValue(), SqlValue::Integer(1700000000), SqlValue::Real(-0.25),
                             SqlValue::Text("2024-01-02")};
  const char* types[] = {"null", "integer", "real", "text"};
  for (int i = 0; i < 4; ++i) {
    sqlite3_reset(stmt.get());
    values[i].Bind(stmt.get(), 1);
    ASSERT_EQ(sqlite3_step(stmt.get()), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0)), types[i]);
    EXPECT_EQ(SqlValue::FromColumn(stmt.get(), 1), values[i]);
  }
}

TEST(SqlValue, BoundTextComparesAsTextInSql) {
  // A watermark stored as text must compare as the column's text values do.
  auto db = MemoryDb();
  ASSERT_TRUE(db->Exec("CREATE TABLE t(day TEXT); INSERT INTO t VALUES ('2024-01-01'), "
                       "('2024-01-02'), ('2024-01-03')")
                  .ok());
  Stmt stmt = PrepareRaw(*db, "SELECT count(*) FROM t WHERE day > ?1");
  SqlValue::Text("2024-01-01").Bind(stmt.get(), 1);
  ASSERT_EQ(sqlite3_step(stmt.get()), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(stmt.get(), 0), 2);
}

}  // namespace
}  // namespace mlcron
