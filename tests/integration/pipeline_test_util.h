// A whole pipeline for integration tests of the built-in kinds: import (a generated CSV of
// 2 segments × 40 days × 5 labelled rows plus 10 unlabelled) → features → retrain → signals,
// with helpers to count rows in the data database and read a job's last log.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "daemon/sqlite_db.h"
#include "tests/integration/cli_test_util.h"

namespace mlcron::testing {

inline constexpr const char* kTiers = R"(  - tier: 1
    name: load
    at: "09:45"
    jobs:
      - {name: import_matches, kind: import, file: matches.csv, table: raw, key: id,
         types: {id: integer, f0: real, f1: real, y: integer}}
  - tier: 2
    name: features
    at: "09:50"
    after: [load]
    jobs:
      - {name: aggregate, kind: features, sql: features.sql}
  - tier: 3
    name: retrain
    at: "09:52"
    after: [features]
    jobs:
      - {name: retrain_m, kind: retrain, model: m}
  - tier: 4
    name: signals
    at: "09:55"
    after: [retrain]
    jobs:
      - {name: predict, kind: signals, model: m, input: "SELECT * FROM feats WHERE y IS NULL",
         output: signals}
)";

inline constexpr const char* kModels = R"(data: ./state/data.db
models:
  m:
    table: feats
    key: id
    time: day
    label: y
    features: [f0, f1, fsum]
    segment_by: seg
    objective: binary:logistic
    params: {max_depth: 2, nthread: 1}
    rounds: 10
    min_rows: 50
    incremental: {rounds: 3, min_new_rows: 50}
    holdout: {fraction: 0.2, min_rows: 10}
)";

inline constexpr const char* kFeaturesSql = R"(CREATE TABLE IF NOT EXISTS feats (
  id INTEGER PRIMARY KEY, seg TEXT, day TEXT, y REAL, f0 REAL, f1 REAL, fsum REAL);
INSERT OR REPLACE INTO feats
  SELECT id, seg, day, y, f0, f1, f0 + f1 FROM raw
  WHERE _ingested_at > :since AND _ingested_at <= :now;
)";

class PipelineTest : public CliTest {
 protected:
  // 2 segments × 40 days × 5 rows, labelled; then 10 unlabelled rows of the next day.
  void WriteData() {
    std::string csv = "id,seg,day,f0,f1,y\n";
    int id = 1;
    for (const char* seg : {"A", "B"}) {
      for (int d = 1; d <= 40; ++d) {
        for (int i = 0; i < 5; ++i, ++id) {
          const double f0 = ((id * 37) % 100) / 100.0, f1 = ((id * 61) % 100) / 100.0;
          const int y = (f0 + f1 > 1) != (id % 10 == 0);
          char line[128];
          std::snprintf(line, sizeof line, "%d,%s,2024-%02d-%02d,%.2f,%.2f,%d\n", id, seg,
                        d <= 31 ? 1 : 2, d <= 31 ? d : d - 31, f0, f1, y);
          csv += line;
        }
      }
    }
    for (int i = 0; i < 10; ++i, ++id) {
      csv += std::to_string(id) + (i % 2 ? ",B" : ",A") + ",2024-02-10,0.5,0.7,\n";
    }
    WriteFile(dir() / "matches.csv", csv, fs::perms::owner_read | fs::perms::owner_write);
    WriteFile(dir() / "features.sql", kFeaturesSql, fs::perms::owner_read | fs::perms::owner_write);
  }
  std::int64_t Count(const std::string& sql) {
    auto db = SqliteDb::Open((state_dir() / "data.db").string(), "data", std::chrono::seconds(5));
    EXPECT_TRUE(db.ok()) << db.message();
    auto st = (*db)->Prepare(sql);
    auto row = st.Step();
    EXPECT_TRUE(row.ok() && *row) << sql;
    return st.Int64(0);
  }
  std::string Log(const std::string& job) { return MlcronC({"logs", job}).out; }
};

}  // namespace mlcron::testing
