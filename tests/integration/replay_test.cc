// `mlcron replay` end to end with the real binary on a small generated history: the reveal
// rule (features never see a day's labels on that day; the signal scored is the last one
// made before the label), determinism, the policies, the live drift trigger on data made to
// drift, an interrupted replay, and each bad input's message. The operator's state_dir is
// never created.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <sstream>

#include "daemon/sqlite_db.h"
#include "tests/integration/cli_test_util.h"

namespace mlcron {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// 2024-01-01 .. 2024-06-30, two segments, four events a day each. y follows x (10% noise);
// from `flip` on, y follows 1 − x instead: the drift.
std::string EventsCsv(const std::string& flip = "9999-12-31") {
  std::ostringstream out;
  out << "id,day,seg,x,y\n";
  std::uint64_t state = 42;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(state >> 11) / static_cast<double>(1ull << 53);
  };
  int id = 0;
  for (int d = 0; d < 182; ++d) {
    char day[11];
    const std::time_t t = 1704067200 + static_cast<std::time_t>(d) * 86400;  // 2024-01-01Z
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
    for (const char* seg : {"a", "b"}) {
      for (int i = 0; i < 4; ++i) {
        const double x = next();
        bool y = x > 0.5;
        if (std::string(day) >= flip) y = !y;
        if (next() < 0.1) y = !y;
        out << ++id << "," << day << "," << seg << "," << x << "," << (y ? 1 : 0) << "\n";
      }
    }
  }
  return out.str();
}

// The tier graph of DESIGN.md §1 in miniature. The features job also records, at every run,
// how many of that day's events it can see and how many of them carry a label.
std::string Config(const std::string& model_extra = "", const std::string& features_extra = "") {
  return R"(timezone: Europe/London
state_dir: ./state
defaults: {timeout: 1m}
tiers:
  - tier: 3
    name: load
    at: "09:45"
    jobs:
      - {name: import, kind: import, file: events.csv, table: events, key: [id],
         types: {id: integer, x: real, y: integer}}
  - tier: 4
    name: features
    at: "09:50"
    jobs:
      - name: feats
        kind: features
        sql: |
          CREATE TABLE IF NOT EXISTS f (id INTEGER PRIMARY KEY, day TEXT, seg TEXT, x REAL, y INTEGER);
          INSERT INTO f SELECT id, day, seg, x, y FROM events
            WHERE _ingested_at > :since AND _ingested_at <= :now
            ON CONFLICT (id) DO UPDATE SET y = excluded.y;
          CREATE TABLE IF NOT EXISTS peek (at TEXT, same_day INTEGER, same_day_labelled INTEGER);
          INSERT INTO peek SELECT :now, count(*), count(y) FROM events WHERE day = substr(:now, 1, 10);
)" + features_extra +
         R"(  - tier: 4.5
    name: retrain
    at: "09:52"
    jobs:
      - {name: retrain_m, kind: retrain, model: m}
  - tier: 5
    name: signals
    at: "09:55"
    jobs:
      - {name: score, kind: signals, model: m, input: "SELECT * FROM f WHERE y IS NULL",
         output: signals}
models:
  m:
    table: f
    key: id
    time: day
    label: y
    features: [x]
    segment_by: seg
    objective: binary:logistic
    params: {max_depth: 2, eta: 0.3, nthread: 1}
    rounds: 20
    min_rows: 50
    incremental: {rounds: 5, min_new_rows: 40, max_chain: 5}
    full_every: 30d
    max_age: 30d
    holdout: {fraction: 0.2, min_rows: 8}
    promote: {min_improvement: 0}
)" + model_extra +
         R"(replay:
  sources:
    - {table: events, time: day, labels: [y]}
)";
}

class ReplayTest : public testing::CliTest {
 protected:
  void Write(const std::string& config, const std::string& events = EventsCsv()) {
    testing::WriteFile(dir() / "events.csv", events,
                       fs::perms::owner_read | fs::perms::owner_write);
    testing::WriteFile(config_path(), config, fs::perms::owner_read | fs::perms::owner_write);
  }

  testing::RunResult Replay(const std::string& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"replay",     "--from", "2024-05-01",          "--to",
                                     "2024-06-30", "--out",  (dir() / out).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return MlcronC(args);
  }

  std::string Read(const std::string& out, const std::string& file) {
    return testing::ReadFile(dir() / out / file);
  }

  // The output files that must not depend on timing: decisions.csv without its seconds column.
  std::map<std::string, std::string> Deterministic(const std::string& out) {
    std::map<std::string, std::string> files;
    for (const char* f : {"live_scores.csv", "live_weekly.csv", "live_summary.csv", "live_m.svg"}) {
      files[f] = Read(out, f);
    }
    std::string decisions;
    for (const std::string& line : testing::Lines(Read(out, "decisions.csv"))) {
      // policy,at,job,model,segment,decision,outcome,version,seconds,reasons
      std::vector<std::string> cols;
      std::string cell;
      std::istringstream in(line);
      for (int i = 0; i < 9 && std::getline(in, cell, ','); ++i) cols.push_back(cell);
      cols[8] = "";
      std::string rest;
      std::getline(in, rest);
      for (const std::string& c : cols) decisions += c + ",";
      decisions += rest + "\n";
    }
    files["decisions.csv"] = decisions;
    return files;
  }
};

TEST_F(ReplayTest, RevealRuleFeaturesNeverSeeTheDaysLabelsAndTheLastSignalIsScored) {
  Write(Config());
  testing::RunResult r = Replay("out", {"--policy", "default", "--keep-scratch"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_FALSE(fs::exists(state_dir())) << "the operator's state_dir was created";

  auto db = SqliteDb::Open((dir() / "out/.scratch/default/data.db").string(), "data",
                           std::chrono::milliseconds(100));
  ASSERT_TRUE(db.ok()) << db.message();
  // 61 days: every 09:50 run sees the day's 8 events (revealed a day ahead), none labelled.
  SqliteStatement peek = (*db)->Prepare(
      "SELECT count(*), min(same_day), max(same_day), max(same_day_labelled) "
      "FROM peek");
  ASSERT_TRUE(*peek.Step());
  EXPECT_EQ(peek.Int64(0), 61);
  EXPECT_EQ(peek.Int64(1), 8);
  EXPECT_EQ(peek.Int64(2), 8);
  EXPECT_EQ(peek.Int64(3), 0);

  // Each event is signalled twice (the day before and on its day) and scored once, with the
  // signal of its own day: the last one before its label appeared at midnight. The last day's
  // labels arrive after the range, so its 8 signals stay unscored.
  const std::vector<std::string> scores = testing::Lines(Read("out", "live_scores.csv"));
  ASSERT_EQ(scores.size(), 1u + 60 * 8);
  int checked = 0;
  for (size_t i = 1; i < scores.size(); ++i) {
    std::istringstream in(scores[i]);
    std::vector<std::string> c;
    for (std::string cell; std::getline(in, cell, ',');) c.push_back(cell);
    const int id = std::stoi(c[3]);
    const int day = (id - 1) / 8;  // days since 2024-01-01
    const std::time_t t = 1704067200 + static_cast<std::time_t>(day) * 86400;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char expect[32];
    std::strftime(expect, sizeof expect, "%Y-%m-%dT08:55:00Z", &tm);  // 09:55 BST
    ASSERT_EQ(c[5], expect) << scores[i];
    ++checked;
  }
  EXPECT_EQ(checked, 60 * 8);
  EXPECT_THAT(r.out, HasSubstr("source events: 1456 rows from import job import"));
}

TEST_F(ReplayTest, SameInputsGiveTheSameOutputsAndPoliciesDiffer) {
  Write(Config());
  testing::RunResult first = Replay("one");
  ASSERT_EQ(first.exit_code, 0) << first;
  testing::RunResult second = Replay("two");
  ASSERT_EQ(second.exit_code, 0) << second;
  const auto a = Deterministic("one");
  const auto b = Deterministic("two");
  for (const auto& [file, text] : a) EXPECT_EQ(text, b.at(file)) << file;
  EXPECT_FALSE(fs::exists(dir() / "one/.scratch"));
  EXPECT_TRUE(fs::exists(dir() / "one/logs/default.log"));

  // summary.csv: policy,occurrences,full,incremental,skip,promoted,rejected,errors,...
  std::map<std::string, std::vector<std::string>> summary;
  for (const std::string& line : testing::Lines(Read("one", "summary.csv"))) {
    std::istringstream in(line);
    std::vector<std::string> c;
    for (std::string cell; std::getline(in, cell, ',');) c.push_back(cell);
    summary[c[0]] = c;
  }
  ASSERT_EQ(summary.size(), 5u);
  for (const char* p : {"default", "always-full", "incremental-only", "never-retrain"}) {
    EXPECT_EQ(summary[p][1], "244") << p;  // 61 days × 4 tiers
  }
  EXPECT_EQ(summary["never-retrain"][2], "2");  // one full per segment, then nothing
  EXPECT_EQ(summary["never-retrain"][3], "0");
  EXPECT_EQ(summary["always-full"][3], "0");
  EXPECT_NE(summary["default"][3], "0");
  EXPECT_EQ(summary["incremental-only"][2], "2");  // full_every 30d ignored
  EXPECT_NE(summary["default"][2], "2");           // full_every 30d honoured
  EXPECT_THAT(Read("one", "decisions.csv"), HasSubstr("policy never-retrain"));
}

TEST_F(ReplayTest, LiveDriftTriggersAFullRetrain) {
  // Doubling is far beyond the noise of 40 rows before the flip, and far below what the flip
  // does (log loss from about 0.4 to above 1.5).
  Write(Config("    drift: {max_degradation: 100%, window: 40}\n"), EventsCsv("2024-05-20"));
  testing::RunResult r = Replay("out", {"--policy", "default"});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::vector<std::string> drift;
  for (const std::string& line : testing::Lines(Read("out", "decisions.csv"))) {
    if (line.find("live drift") != std::string::npos) drift.push_back(line);
  }
  ASSERT_FALSE(drift.empty()) << Read("out", "decisions.csv");
  int fulls = 0;
  for (const std::string& line : drift) {
    EXPECT_GE(line.substr(8, 10), "2024-05-20") << line;  // never before the data drifted
    // A drift calls for a full retrain; after a rejected attempt the back-off still waits for
    // min_new_rows new rows, so some drift decisions are skips with that reason.
    if (line.find(",full,") != std::string::npos) {
      ++fulls;
    } else {
      EXPECT_THAT(line, HasSubstr("last attempt rejected")) << line;
    }
  }
  EXPECT_GE(fulls, 1) << Read("out", "decisions.csv");
}

TEST_F(ReplayTest, AnInterruptedReplayStartsOverAndEndsLikeACleanOne) {
  Write(Config());
  ASSERT_EQ(Replay("clean", {"--policy", "default"}).exit_code, 0);
  ::setenv("MLCRON_FAULT_AT", "after_register", 1);
  testing::RunResult crashed = Replay("out", {"--policy", "default"});
  ::unsetenv("MLCRON_FAULT_AT");
  ASSERT_EQ(crashed.exit_code, 86) << crashed;
  EXPECT_TRUE(fs::exists(dir() / "out/.scratch"));
  EXPECT_FALSE(fs::exists(dir() / "out/decisions.csv"));

  testing::RunResult again = Replay("out", {"--policy", "default"});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_THAT(again.out, HasSubstr("did not finish; its scratch files are removed and this one "
                                   "starts over"));
  const auto a = Deterministic("clean");
  const auto b = Deterministic("out");
  for (const auto& [file, text] : a) EXPECT_EQ(text, b.at(file)) << file;
  EXPECT_FALSE(fs::exists(state_dir()));
}

TEST_F(ReplayTest, TooFewRowsInASegmentIsASkipWithItsReason) {
  // Segment b has only 40 labelled rows before May with min_rows 1000 for everyone: all skip.
  std::string config = Config();
  config.replace(config.find("min_rows: 50"), 12, "min_rows: 2000");
  Write(config);
  testing::RunResult r = Replay("out", {"--policy", "default"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<std::string> lines = testing::Lines(Read("out", "decisions.csv"));
  ASSERT_GT(lines.size(), 1u);
  EXPECT_THAT(lines[1], HasSubstr("2024-05-01T09:52:00+01:00,retrain_m,m,a,skip,,,0.000,"
                                  "484 rows < min_rows 2000 → skip"));
  EXPECT_THAT(r.out, HasSubstr("m: no live scores"));
}

TEST_F(ReplayTest, CommandJobsRunOnlyWhenMarkedAndSeeTheScratchDatabases) {
  // `note` appends the simulated day, the data path and the policy; `quiet` is not marked.
  const std::string signals =
      R"(      - {name: note, after: [score], replay: true, argv: [/bin/sh, -c,
         'echo "$1 $MLCRON_DATA $MLCRON_REPLAY" >> "$0"', ./notes.txt, "{date}"]}
      - {name: quiet, after: [score], argv: [/bin/sh, -c, 'echo ran >> "$0"', ./quiet.txt]}
models:)";
  std::string config = Config();
  config.replace(config.find("models:"), 7, signals);
  Write(config);
  testing::RunResult r = MlcronC({"replay", "--from", "2024-05-01", "--to", "2024-05-03",
                                  "--policy", "default", "--out", (dir() / "out").string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::string data = (dir() / "out/.scratch/default/data.db").string();
  EXPECT_EQ(testing::ReadFile(dir() / "notes.txt"), "2024-05-01 " + data + " default\n2024-05-02 " +
                                                        data + " default\n2024-05-03 " + data +
                                                        " default\n");
  EXPECT_FALSE(fs::exists(dir() / "quiet.txt"));

  // A marked command that fails stops the replay, naming it.
  config.replace(config.find("'echo \"$1"), 1, "'exit 3; ");
  Write(config);
  testing::RunResult failed = MlcronC({"replay", "--from", "2024-05-01", "--to", "2024-05-03",
                                       "--policy", "default", "--out", (dir() / "out").string()});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_THAT(failed.err, HasSubstr("policy default stopped at 2024-05-01T09:55:00+01:00, "
                                    "command job note: exit code 3"));
}

TEST_F(ReplayTest, BadInputsNameTheProblemAndLeaveNoState) {
  Write(Config());
  testing::RunResult empty = MlcronC(
      {"replay", "--from", "2020-01-01", "--to", "2020-12-31", "--out", (dir() / "out").string()});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_THAT(empty.err,
              HasSubstr("no data in 2020-01-01 → 2020-12-31; source events (import job import (" +
                        (dir() / "events.csv").string() +
                        ")) has 1456 rows from 2024-01-01 to 2024-06-30"));

  testing::RunResult order = MlcronC({"replay", "--from", "2024-05-02", "--to", "2024-05-01"});
  EXPECT_EQ(order.exit_code, 2);
  EXPECT_THAT(order.err, HasSubstr("--to 2024-05-01 is before --from 2024-05-02"));
  testing::RunResult policy = MlcronC(
      {"replay", "--from", "2024-05-01", "--to", "2024-05-02", "--policy", "sometimes-full"});
  EXPECT_EQ(policy.exit_code, 2);
  EXPECT_THAT(policy.err, HasSubstr("unknown policy \"sometimes-full\" (known: default, "
                                    "always-full, incremental-only, never-retrain)"));

  std::string unknown = Config();
  unknown.replace(unknown.find("labels: [y]"), 11, "labels: [label]");
  Write(unknown);
  testing::RunResult column = Replay("out");
  EXPECT_EQ(column.exit_code, 1);
  EXPECT_THAT(column.err, HasSubstr("replay source \"events\" (config line 54): table \"events\" "
                                    "has no column \"label\" (it has id, day, seg, x, y, "
                                    "_ingested_at)"));

  std::string clock = Config("", "          INSERT INTO peek SELECT date('now'), 0, 0;\n");
  Write(clock);
  testing::RunResult wall = Replay("out", {"--policy", "default"});
  EXPECT_EQ(wall.exit_code, 1);
  EXPECT_THAT(wall.err, HasSubstr("policy default stopped at 2024-05-01T09:50:00+01:00, "
                                  "features job feats: "));
  EXPECT_THAT(wall.err, HasSubstr("reads the wall clock: use :now"));
  EXPECT_FALSE(fs::exists(state_dir()));
}

}  // namespace
}  // namespace mlcron
