// The bundled football example (config/examples/football) run by the real binaries in a
// copy of its folder: each job as the daemon runs it (`mlcron run JOB --at` one fixed day), and
// the facts that come out checked exactly: the 6,508 imported matches, a match's form
// worked out by hand from the CSV (no look-ahead), the labels, 5 leagues × 3 models in
// production, the signals of the 4 matches without a result and the exported CSV.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <set>
#include <sstream>

#include "daemon/sqlite_db.h"
#include "tests/integration/cli_test_util.h"

namespace mlcron {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

const fs::path kExample = testing::kSourceDir / "config" / "examples" / "football";

class FootballExampleTest : public testing::CliTest {
 protected:
  // Copies the example's own files (never a state folder left by a run in the checkout).
  // One change: no retries, so a failing job fails the test at once instead of after the
  // 30 s retry_delay.
  void SetUp() override {
    CliTest::SetUp();
    for (const char* file : {"features.sql", "bin/export-signals", "data/matches.csv"}) {
      fs::create_directories((dir() / file).parent_path());
      fs::copy_file(kExample / file, dir() / file);
    }
    std::string yaml = testing::ReadFile(kExample / "mlcron.yaml");
    const size_t at = yaml.find("retries: 1,");
    ASSERT_NE(at, std::string::npos);
    yaml.replace(at, 11, "retries: 0,");
    testing::WriteFile(config_path(), yaml, fs::perms::owner_read | fs::perms::owner_write);
  }

  // `mlcron run JOB --at "2017-06-01 HH:MM"`: the job's occurrence on one fixed day.
  void Run(const std::string& job, const std::string& at) {
    testing::RunResult r = MlcronC({"run", job, "--at", at});
    ASSERT_EQ(r.exit_code, 0) << r << MlcronC({"logs", job}).out;
  }

  void RunPipeline() {
    Run("import", "2017-06-01 09:45");
    Run("form", "2017-06-01 09:50");
    for (const char* job : {"retrain_result", "retrain_home_goals", "retrain_away_goals"}) {
      Run(job, "2017-06-01 09:52");
    }
    for (const char* job : {"score_result", "score_home_goals", "score_away_goals", "export"}) {
      Run(job, "2017-06-01 09:55");
    }
  }

  std::string Log(const std::string& job) { return MlcronC({"logs", job}).out; }

  // The rows of a query on the data database, each row's columns joined by "|" (NULL as
  // "NULL", numbers as SQLite prints them).
  std::vector<std::string> Query(const std::string& sql) {
    auto db = SqliteDb::Open((state_dir() / "data.db").string(), "data", std::chrono::seconds(5));
    EXPECT_TRUE(db.ok()) << db.message();
    if (!db.ok()) return {};
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2((*db)->handle(), sql.c_str(), -1, &st, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg((*db)->handle());
    std::vector<std::string> rows;
    while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
      std::string line;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const unsigned char* text = sqlite3_column_text(st, c);
        line += (c ? "|" : "") + std::string(text ? reinterpret_cast<const char*>(text) : "NULL");
      }
      rows.push_back(line);
    }
    sqlite3_finalize(st);
    return rows;
  }
};

TEST_F(FootballExampleTest, FeaturesUseOnlyEarlierMatchesAndAreIncremental) {
  Run("import", "2017-06-01 09:45");
  EXPECT_THAT(Log("import"), HasSubstr("6508 rows, 6508 inserted, 0 updated, 0 unchanged"));
  Run("form", "2017-06-01 09:50");
  EXPECT_THAT(Query("SELECT count(*), count(result) FROM match_features"),
              ElementsAre("6508|6504"));

  // Match 4016, Arsenal v Bournemouth on 2015-12-28 (2-0), by hand from matches.csv.
  // Arsenal's 5 matches before it: at Southampton 0-4 (lost), v Manchester City 2-1 (won),
  // at Aston Villa 0-2 (won), v Sunderland 3-1 (won), at Norwich 1-1 (drew): goals for
  // 8/5 = 1.6, against 7/5 = 1.4, points 10/5 = 2.0; the last was 2 days before.
  // Bournemouth's: v Crystal Palace 0-0, at West Brom 1-2 (won), v Manchester United 2-1,
  // at Chelsea 0-1 (won), v Everton 3-3: for 8/5 = 1.6, against 5/5 = 1.0, points 11/5 = 2.2;
  // promoted in 2015, it had 18 Premier League matches before this one.
  // Had the match itself (2-0) or Arsenal's next (1-0 v Newcastle, 2016-01-02) leaked in,
  // these would differ.
  EXPECT_THAT(Query("SELECT date, home_team, away_team, h_gf5, h_ga5, h_ppg5, h_rest, h_n20, "
                    "a_gf5, a_ga5, a_ppg5, a_rest, a_n20, result, home_goals, away_goals "
                    "FROM match_features WHERE match_id = 4016"),
              ElementsAre("2015-12-28|Arsenal|Bournemouth|1.6|1.4|2.0|2.0|20|1.6|1.0|2.2|2.0|18|"
                          "0|2|0"));
  // A league's first matchday has no history at all.
  EXPECT_THAT(Query("SELECT h_gf5, h_n20, h_rating, a_n20, result FROM match_features "
                    "WHERE match_id = 1"),
              ElementsAre("NULL|0|NULL|0|0"));

  // Labels follow the source: 0/1/2 where both scores are known, NULL for the 4 without.
  EXPECT_THAT(Query("SELECT result, count(*) FROM match_features GROUP BY result ORDER BY 1"),
              ElementsAre("NULL|4", "0|3011", "1|1568", "2|1925"));
  EXPECT_THAT(Query("SELECT match_id, home_goals, away_goals FROM match_features "
                    "WHERE result IS NULL ORDER BY match_id"),
              ElementsAre("4752|NULL|NULL", "4787|NULL|NULL", "4828|NULL|NULL", "4867|NULL|NULL"));
  EXPECT_THAT(Query("SELECT count(*) FROM match_features f JOIN matches m USING (match_id) "
                    "WHERE f.result IS NOT CASE WHEN m.home_score > m.away_score THEN 0 "
                    "WHEN m.home_score = m.away_score THEN 1 WHEN m.home_score < m.away_score "
                    "THEN 2 END"),
              ElementsAre("0"));

  // Nothing new the next day: the fixtures are recomputed, nothing differs, nothing written.
  const std::vector<std::string> before = Query("SELECT * FROM match_features ORDER BY 1");
  Run("form", "2017-06-02 09:50");
  EXPECT_THAT(Log("form"), HasSubstr("features form: 8 statements, 0 rows changed, since "
                                     "2017-06-01T08:50:00Z now 2017-06-02T08:50:00Z"));
  EXPECT_EQ(Query("SELECT * FROM match_features ORDER BY 1"), before);
}

TEST_F(FootballExampleTest, PipelineTrainsEveryLeagueAndExportsTheUnlabelledMatches) {
  RunPipeline();
  const std::vector<std::string> leagues = {"Deutsche Bundesliga", "English Premier League",
                                            "Primera Division", "Serie A",
                                            "Österreichische Bundesliga"};
  for (const char* model : {"result", "home_goals", "away_goals"}) {
    const std::string log = Log(std::string("retrain_") + model);
    for (const std::string& league : leagues) {
      EXPECT_THAT(log,
                  HasSubstr(std::string(model) + " [" + league + "]: no production model → full"));
    }
  }
  testing::RunResult list = MlcronC({"models", "list", "--json", "-n", "0"});
  ASSERT_EQ(list.exit_code, 0) << list;
  std::set<std::string> production;
  for (const json& v : json::parse(list.out)) {
    if (v["status"] == "production") {
      production.insert(v["model"].get<std::string>() + "/" + v["segment"].get<std::string>());
    }
  }
  EXPECT_EQ(production.size(), 15u);
  for (const char* model : {"result", "home_goals", "away_goals"}) {
    for (const std::string& league : leagues) {
      EXPECT_TRUE(production.count(std::string(model) + "/" + league)) << model << " " << league;
    }
  }

  EXPECT_THAT(Query("SELECT model, group_concat(key, ' ') FROM (SELECT * FROM signals "
                    "ORDER BY model, CAST(key AS INTEGER)) GROUP BY model ORDER BY model"),
              ElementsAre("away_goals|4752 4787 4828 4867", "home_goals|4752 4787 4828 4867",
                          "result|4752 4787 4828 4867"));
  EXPECT_THAT(Query("SELECT count(*) FROM signals WHERE model = 'result' "
                    "AND abs(p_0 + p_1 + p_2 - 1) > 1e-6"),
              ElementsAre("0"));

  const std::vector<std::string> csv =
      testing::Lines(testing::ReadFile(state_dir() / "exports" / "signals-2017-06-01.csv"));
  ASSERT_EQ(csv.size(), 5u) << Log("export");
  EXPECT_EQ(csv[0],
            "match_id,date,division,home_team,away_team,p_home,p_draw,p_away,exp_home_goals,"
            "exp_away_goals,p_over_2_5,likely_score");
  EXPECT_THAT(csv[1],
              ::testing::StartsWith("4752,2016-04-30,\"English Premier League\",\"Aston Villa\","
                                    "\"Newcastle United\","));
  EXPECT_THAT(csv[4], ::testing::StartsWith("4867,2016-05-15,\"Serie A\",Carpi,Frosinone,"));
  EXPECT_THAT(
      Log("export"),
      HasSubstr("export-signals: wrote ./state/exports/signals-2017-06-01.csv (4 matches)"));
}

}  // namespace
}  // namespace mlcron
