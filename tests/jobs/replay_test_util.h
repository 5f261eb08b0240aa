// Helpers for the replay unit tests: a temp folder holding a config (Europe/London, one
// 09:45 tier with the given jobs, a `replay:` section with the given sources) and its CSVs,
// instants written as UTC text, and single-column query results as strings.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "daemon/config_loader.h"
#include "daemon/sqlite_db.h"
#include "daemon/time_format.h"

namespace mlcron::testing {

inline const date::time_zone* London() {
  static const date::time_zone* tz = *FindZone("Europe/London");
  return tz;
}

// "2016-03-27T23:00:00Z" (or any text ParseInstant takes, read in UTC).
inline Instant Utc(const std::string& text) {
  static const date::time_zone* utc = *FindZone("UTC");
  Result<Instant> t = ParseInstant(text, utc);
  EXPECT_TRUE(t.ok()) << text << ": " << t.message();
  return t.ok() ? *t : Instant{};
}

inline std::int64_t Unix(const std::string& text) { return Utc(text).time_since_epoch().count(); }

// Each row's first column as text ("NULL" for NULL).
inline std::vector<std::string> Column(SqliteDb& db, const std::string& sql) {
  std::vector<std::string> out;
  SqliteStatement st = db.Prepare(sql);
  for (;;) {
    Result<bool> row = st.Step();
    EXPECT_TRUE(row.ok()) << sql << ": " << row.message();
    if (!row.ok() || !*row) break;
    out.push_back(st.IsNull(0) ? "NULL" : st.Text(0));
  }
  return out;
}

class ReplayDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mlcron-replay-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << text;
  }

  // `jobs`: the 09:45 tier's job lines (each "      - {...}\n"); `replay`: everything after
  // the tiers, usually "replay:\n  sources:\n    - {...}\n". With one job line the first
  // source is on config line 12.
  std::shared_ptr<const Config> Load(const std::string& jobs, const std::string& replay) {
    const std::string yaml = "timezone: Europe/London\nstate_dir: " + dir_ +
                             "/state\ndata: " + dir_ +
                             "/data.db\ntiers:\n  - tier: 3\n    name: load\n    at: \"09:45\"\n"
                             "    jobs:\n" +
                             jobs + replay;
    LoadResult r = LoadConfigText(yaml, dir_ + "/mlcron.yaml");
    EXPECT_TRUE(r.ok()) << r.ErrorText() << "\n" << yaml;
    return r.config;
  }

  std::string dir_;
};

// The import job of the source tests: matches.csv into table matches by id.
inline constexpr char kImportMatches[] =
    "      - {name: import_matches, kind: import, file: matches.csv, table: matches, key: "
    "[id]}\n";

}  // namespace mlcron::testing
