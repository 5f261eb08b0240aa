#include "bench/synthetic_data.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <numbers>

namespace mlcron::bench {
namespace {

using ::testing::ElementsAre;

class SyntheticDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteDb::Open(":memory:", "data database", std::chrono::seconds(1));
    ASSERT_TRUE(db.ok()) << db.message();
    db_ = std::move(*db);
  }

  std::int64_t Int(const std::string& sql) {
    SqliteStatement st = db_->Prepare(sql);
    Result<bool> row = st.Step();
    EXPECT_TRUE(row.ok() && *row) << sql;
    return st.Int64(0);
  }

  std::vector<std::string> Texts(const std::string& sql) {
    std::vector<std::string> out;
    SqliteStatement st = db_->Prepare(sql);
    while (true) {
      Result<bool> row = st.Step();
      EXPECT_TRUE(row.ok()) << sql;
      if (!row.ok() || !*row) break;
      out.push_back(st.Text(0));
    }
    return out;
  }

  std::unique_ptr<SqliteDb> db_;
};

constexpr std::int64_t kJan1Noon = 1704067200 + 12 * 3600;  // 2024-01-01T12:00:00Z

TEST_F(SyntheticDataTest, LayoutDaysAndValues) {
  ASSERT_TRUE(WriteSyntheticRows(*db_, "t", 25, 2, kJan1Noon, 10, 7, 0.0).ok());
  EXPECT_THAT(Texts("SELECT name FROM pragma_table_info('t')"),
              ElementsAre("id", "seg", "day", "label", "f0", "f1"));
  EXPECT_THAT(Texts("SELECT day || ':' || count(*) FROM t GROUP BY day ORDER BY day"),
              ElementsAre("2024-01-01:10", "2024-01-02:10", "2024-01-03:5"));
  EXPECT_EQ(Int("SELECT min(id) * 100 + max(id) FROM t"), 125);
  EXPECT_EQ(Int("SELECT count(*) FROM t WHERE label NOT IN (0.0, 1.0) OR typeof(label) != 'real'"),
            0);
  EXPECT_EQ(Int("SELECT count(*) FROM t WHERE seg NOT IN ('s0', 's1', 's2', 's3')"), 0);
}

TEST_F(SyntheticDataTest, SameSeedSameRowsAndAppendContinuesIds) {
  ASSERT_TRUE(WriteSyntheticRows(*db_, "a", 500, 3, kJan1Noon, 50, 11, 0.1).ok());
  ASSERT_TRUE(WriteSyntheticRows(*db_, "b", 500, 3, kJan1Noon, 50, 11, 0.1).ok());
  ASSERT_TRUE(WriteSyntheticRows(*db_, "c", 500, 3, kJan1Noon, 50, 12, 0.1).ok());
  EXPECT_EQ(Int("SELECT count(*) FROM (SELECT * FROM a EXCEPT SELECT * FROM b)"), 0);
  EXPECT_GT(Int("SELECT count(*) FROM (SELECT * FROM a EXCEPT SELECT * FROM c)"), 490);
  ASSERT_TRUE(WriteSyntheticRows(*db_, "a", 10, 3, kJan1Noon + 10 * 86400, 50, 13, 0.1).ok());
  EXPECT_EQ(Int("SELECT count(*) FROM a WHERE id > 500 AND day = '2024-01-11'"), 10);
}

TEST_F(SyntheticDataTest, SomeFeaturesAreNull) {
  ASSERT_TRUE(WriteSyntheticRows(*db_, "t", 5000, 4, kJan1Noon, 1000, 3, 0.0).ok());
  const std::int64_t nulls =
      Int("SELECT sum((f0 IS NULL) + (f1 IS NULL) + (f2 IS NULL) + (f3 IS NULL)) FROM t");
  EXPECT_GT(nulls, 20000 * 0.015);  // kSyntheticNullRate = 2%
  EXPECT_LT(nulls, 20000 * 0.025);
}

TEST_F(SyntheticDataTest, DriftTurnsTheWeights) {
  // Two features: w0(d) = cos(drift·d) and w1 = -w0. With drift = π a day, f0 raises the
  // label's odds on day 0 and lowers them on day 1.
  ASSERT_TRUE(WriteSyntheticRows(*db_, "t", 4000, 2, kJan1Noon, 2000, 5, std::numbers::pi).ok());
  const auto rate = [&](const char* day, const char* sign) {
    return Int(std::string("SELECT round(1000 * avg(label)) FROM t WHERE day = '") + day +
               "' AND f0 " + sign + " 0");
  };
  EXPECT_GT(rate("2024-01-01", ">") - rate("2024-01-01", "<"), 200);
  EXPECT_LT(rate("2024-01-02", ">") - rate("2024-01-02", "<"), -200);
}

TEST_F(SyntheticDataTest, RejectsBadArguments) {
  EXPECT_EQ(WriteSyntheticRows(*db_, "t", 10, 0, kJan1Noon, 10, 1, 0).message(),
            "synthetic rows: need features >= 1, rows >= 0, rows_per_day >= 1");
}

}  // namespace
}  // namespace mlcron::bench
