// Fixtures shared by the features job tests: a scratch data database holding a small
// `matches` source table with `_ingested_at` stamps, features JobConfigs, and a row dumper
// for exact comparisons.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/sqlite_db.h"
#include "jobs/features_job.h"
#include "tests/daemon/state_test_util.h"

namespace mlcron::testing {

// 2024-01-DAY at HH:MM UTC.
inline Instant Jan2024(int day, int hour, int minute) {
  using namespace std::chrono;
  return sys_days(year(2024) / January / day) + hours(hour) + minutes(minute);
}

inline JobConfig InlineJob(const std::string& name, const std::string& sql) {
  JobConfig job;
  job.name = name;
  job.kind = "features";
  job.builtin.sql = sql;
  return job;
}

inline JobConfig FileJob(const std::string& name, const std::string& path) {
  JobConfig job;
  job.name = name;
  job.kind = "features";
  job.builtin.sql_file = path;
  return job;
}

// Every row of `query`, columns joined by '|', NULL as "NULL".
inline std::vector<std::string> Rows(SqliteDb& db, const std::string& query) {
  std::vector<std::string> rows;
  char* err = nullptr;
  auto collect = [](void* out, int n, char** values, char**) {
    std::string row;
    for (int i = 0; i < n; ++i) row += (i ? "|" : "") + std::string(values[i] ? values[i] : "NULL");
    static_cast<std::vector<std::string>*>(out)->push_back(row);
    return 0;
  };
  if (sqlite3_exec(db.handle(), query.c_str(), collect, &rows, &err) != SQLITE_OK) {
    ADD_FAILURE() << query << ": " << (err ? err : "?");
    sqlite3_free(err);
  }
  return rows;
}

class FeaturesTest : public ::testing::Test {
 protected:
  // Six matches over two days; the 10:00 one on day 2 arrives after that day's 09:50 run.
  static constexpr char kMatches[] =
      "CREATE TABLE matches (id INTEGER PRIMARY KEY, league TEXT, home TEXT, goals INTEGER,"
      " _ingested_at TEXT);"
      "INSERT INTO matches VALUES"
      " (1, 'E0', 'Arsenal', 3, '2024-01-01T08:00:00Z'),"
      " (2, 'E1', 'Leeds',   1, '2024-01-01T08:00:00Z'),"
      " (3, 'E0', 'Chelsea', 2, '2024-01-01T12:00:00Z'),"
      " (4, 'E0', 'Arsenal', 1, '2024-01-02T08:00:00Z'),"
      " (5, 'E1', 'Leeds',   4, '2024-01-02T08:00:00Z'),"
      " (6, 'E0', 'Spurs',   0, '2024-01-02T10:00:00Z')";
  static constexpr char kMatchesIntact[] = "6|11|1,2,3,4,5,6";

  void SetUp() override {
    auto db = SqliteDb::Open(dir_.File("data.db"), "data database", std::chrono::seconds(1));
    ASSERT_TRUE(db.ok()) << db.message();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Exec(kMatches).ok());
  }

  std::string MatchesFingerprint() {
    std::vector<std::string> rows =
        Rows(*db_, "SELECT count(*), sum(goals), group_concat(id) FROM main.matches");
    return rows.empty() ? "" : rows[0];
  }

  bool HasTable(const std::string& name) {
    return Rows(*db_, "SELECT count(*) FROM sqlite_schema WHERE name = '" + name + "'") ==
           std::vector<std::string>{"1"};
  }

  std::string WriteSql(const std::string& name, const std::string& sql) {
    const std::string path = dir_.File(name);
    WriteBytes(path, sql);
    return path;
  }

  std::vector<std::string> Derived() {
    return Rows(*db_, "SELECT table_name, job FROM _mlcron_derived ORDER BY table_name");
  }

  std::vector<std::string> Watermarks() {
    return Rows(*db_, "SELECT job, since, run_id FROM _mlcron_watermarks ORDER BY job");
  }

  ScratchDir dir_;
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace mlcron::testing
