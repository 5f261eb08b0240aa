// The reveal rule applied step by step to a fresh scratch data database (rows appear at
// time − reveal_ahead with NULL labels, labels at the end of the row's local day, each stamped
// with the step's instant), and the simulated clock's occurrences across a DST change.
#include "jobs/replay_reveal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "jobs/job_context.h"
#include "jobs/replay_run.h"
#include "tests/jobs/replay_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::Column;
using ::mlcron::testing::Utc;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Local midnights: 2016-08-12 is 2016-08-11T23:00Z, 2016-08-13 is 2016-08-12T23:00Z.
constexpr char kMatches[] =
    "id,day,home,away,hs,as\n"
    "1,2016-08-12,A,B,1,0\n"
    "2,2016-08-12,C,D,2,2\n"
    "3,2016-08-13,E,F,0,3\n";

class ReplayRevealTest : public testing::ReplayDirTest {
 protected:
  // Loads the sources of `config_` and opens a fresh data database with a Revealer on it.
  void Start() {
    ASSERT_TRUE(config_);
    Result<ReplaySources> s = LoadReplaySources(*config_, dir_ + "/sources.db");
    ASSERT_TRUE(s.ok()) << s.message();
    sources_ = std::move(*s);
    auto db = SqliteDb::Open(dir_ + "/scratch.db", "scratch", std::chrono::milliseconds(100));
    ASSERT_TRUE(db.ok()) << db.message();
    data_ = std::move(*db);
    Result<Revealer> r = Revealer::Create(*data_, sources_);
    ASSERT_TRUE(r.ok()) << r.message();
    revealer_.emplace(std::move(*r));
  }
  void StartMatches() {
    Write("matches.csv", kMatches);
    config_ = Load(testing::kImportMatches,
                   "replay:\n  sources:\n    - {table: matches, time: day, labels: [hs, as]}\n");
    Start();
  }
  // "rows/labels" revealed by a step to `at`.
  std::string Step(const std::string& at) {
    Result<RevealStats> r = revealer_->RevealUpTo(Utc(at));
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? std::to_string(r->rows) + "/" + std::to_string(r->labels) : r.message();
  }
  std::vector<std::string> Matches() {
    return Column(*data_,
                  "SELECT id || '|' || day || '|' || home || '|' || away || '|' || ifnull(hs, "
                  "'NULL') || '|' || ifnull(\"as\", 'NULL') || '|' || _ingested_at FROM "
                  "matches ORDER BY id");
  }

  std::shared_ptr<const Config> config_;
  ReplaySources sources_;
  std::unique_ptr<SqliteDb> data_;
  std::optional<Revealer> revealer_;
};

TEST_F(ReplayRevealTest, RowsAppearADayAheadAndLabelsAtTheEndOfTheirLocalDay) {
  StartMatches();
  EXPECT_THAT(Matches(), IsEmpty());
  EXPECT_EQ(Step("2016-08-10T22:59:59Z"), "0/0");
  EXPECT_THAT(Matches(), IsEmpty());
  // Exactly at time − 1d the 12th's rows appear, labels hidden, stamped with the step.
  EXPECT_EQ(Step("2016-08-10T23:00:00Z"), "2/0");
  EXPECT_THAT(Matches(), ElementsAre("1|2016-08-12|A|B|NULL|NULL|2016-08-10T23:00:00Z",
                                     "2|2016-08-12|C|D|NULL|NULL|2016-08-10T23:00:00Z"));
  EXPECT_EQ(Step("2016-08-11T08:45:00Z"), "0/0");
  EXPECT_EQ(Step("2016-08-11T23:00:00Z"), "1/0");
  // The 12th's own 09:45 run (08:45Z, BST) still sees no result of that day.
  EXPECT_EQ(Step("2016-08-12T08:45:00Z"), "0/0");
  EXPECT_EQ(Step("2016-08-12T22:59:59Z"), "0/0");
  EXPECT_THAT(Matches(), ElementsAre("1|2016-08-12|A|B|NULL|NULL|2016-08-10T23:00:00Z",
                                     "2|2016-08-12|C|D|NULL|NULL|2016-08-10T23:00:00Z",
                                     "3|2016-08-13|E|F|NULL|NULL|2016-08-11T23:00:00Z"));
  // The first step at or after local midnight fills the labels in and restamps the rows.
  EXPECT_EQ(Step("2016-08-13T08:45:00Z"), "0/2");
  EXPECT_THAT(Matches(), ElementsAre("1|2016-08-12|A|B|1|0|2016-08-13T08:45:00Z",
                                     "2|2016-08-12|C|D|2|2|2016-08-13T08:45:00Z",
                                     "3|2016-08-13|E|F|NULL|NULL|2016-08-11T23:00:00Z"));
  EXPECT_EQ(Step("2016-08-13T23:00:00Z"), "0/1");
  EXPECT_THAT(Matches(), ElementsAre("1|2016-08-12|A|B|1|0|2016-08-13T08:45:00Z",
                                     "2|2016-08-12|C|D|2|2|2016-08-13T08:45:00Z",
                                     "3|2016-08-13|E|F|0|3|2016-08-13T23:00:00Z"));
  EXPECT_EQ(Step("2017-01-01T00:00:00Z"), "0/0");
}

TEST_F(ReplayRevealTest, AStepAtOrBeforeThePreviousDoesNothing) {
  StartMatches();
  EXPECT_EQ(Step("2016-08-10T23:00:00Z"), "2/0");
  EXPECT_EQ(Step("2016-08-10T23:00:00Z"), "0/0");
  // Going back does not reveal again what was due earlier nor anything new.
  EXPECT_EQ(Step("2016-08-01T00:00:00Z"), "0/0");
  EXPECT_THAT(Matches(), ElementsAre("1|2016-08-12|A|B|NULL|NULL|2016-08-10T23:00:00Z",
                                     "2|2016-08-12|C|D|NULL|NULL|2016-08-10T23:00:00Z"));
  EXPECT_EQ(Step("2016-08-11T23:00:00Z"), "1/0");
}

TEST_F(ReplayRevealTest, AFirstStepFarAheadRevealsHistoryWithLabelsInOneGo) {
  StartMatches();
  EXPECT_EQ(Step("2017-01-01T00:00:00Z"), "3/3");
  EXPECT_THAT(Matches(), ElementsAre("1|2016-08-12|A|B|1|0|2017-01-01T00:00:00Z",
                                     "2|2016-08-12|C|D|2|2|2017-01-01T00:00:00Z",
                                     "3|2016-08-13|E|F|0|3|2017-01-01T00:00:00Z"));
  EXPECT_EQ(Step("2017-01-02T00:00:00Z"), "0/0");
}

TEST_F(ReplayRevealTest, AStepBetweenTheTwoInstantsRevealsSomeLabelledSomeNot) {
  StartMatches();
  // Past the 12th's end, before the 13th's: rows 1 and 2 labelled, row 3 not.
  EXPECT_EQ(Step("2016-08-13T08:45:00Z"), "3/2");
  EXPECT_THAT(Matches(), ElementsAre("1|2016-08-12|A|B|1|0|2016-08-13T08:45:00Z",
                                     "2|2016-08-12|C|D|2|2|2016-08-13T08:45:00Z",
                                     "3|2016-08-13|E|F|NULL|NULL|2016-08-13T08:45:00Z"));
  EXPECT_EQ(Step("2016-08-14T08:45:00Z"), "0/1");
}

TEST_F(ReplayRevealTest, TheScratchTableHasTheUniqueKeyIndex) {
  StartMatches();
  EXPECT_THAT(Column(*data_,
                     "SELECT l.name || ':' || i.name FROM pragma_index_list('matches') AS l, "
                     "pragma_index_info(l.name) AS i WHERE l.\"unique\" = 1"),
              ElementsAre("matches_mlcron_key:id"));
  EXPECT_THAT(Column(*data_, "SELECT name FROM pragma_table_info('matches') ORDER BY cid"),
              ElementsAre("id", "day", "home", "away", "hs", "as", "_ingested_at"));
}

TEST_F(ReplayRevealTest, MultiColumnKeysMatchLabelsToTheirOwnRow) {
  // From the operator's data database, keyed by (match_id, book) in the replay config.
  config_ = Load("      - {name: noop, argv: [/bin/true]}\n",
                 "replay:\n  sources:\n    - {table: odds, time: day, labels: [closing], key: "
                 "[match_id, book]}\n");
  ASSERT_TRUE(config_);
  {
    auto db = SqliteDb::Open(dir_ + "/data.db", "data", std::chrono::milliseconds(100));
    ASSERT_TRUE(db.ok()) << db.message();
    ASSERT_TRUE((*db)
                    ->Exec("CREATE TABLE odds (match_id INTEGER, book TEXT, day TEXT, closing "
                           "REAL); INSERT INTO odds VALUES (1, 'x', '2016-08-12', 1.5), (1, 'y', "
                           "'2016-08-12', 1.75), (2, 'x', '2016-08-12', 2.5), (2, 'y', "
                           "'2016-08-13', 3.5)")
                    .ok());
  }
  Start();
  auto odds = [&] {
    return Column(*data_,
                  "SELECT match_id || book || '=' || ifnull(closing, 'NULL') || ' ' || "
                  "_ingested_at FROM odds ORDER BY match_id, book");
  };
  EXPECT_EQ(Step("2016-08-11T23:00:00Z"), "4/0");
  EXPECT_EQ(Step("2016-08-12T23:00:00Z"), "0/3");
  EXPECT_THAT(odds(), ElementsAre("1x=1.5 2016-08-12T23:00:00Z", "1y=1.75 2016-08-12T23:00:00Z",
                                  "2x=2.5 2016-08-12T23:00:00Z", "2y=NULL 2016-08-11T23:00:00Z"));
  EXPECT_EQ(Step("2016-08-13T23:00:00Z"), "0/1");
  EXPECT_THAT(odds(), ElementsAre("1x=1.5 2016-08-12T23:00:00Z", "1y=1.75 2016-08-12T23:00:00Z",
                                  "2x=2.5 2016-08-12T23:00:00Z", "2y=3.5 2016-08-13T23:00:00Z"));
  EXPECT_THAT(Column(*data_,
                     "SELECT group_concat(i.name, ',') FROM pragma_index_list('odds') AS l, "
                     "pragma_index_info(l.name) AS i WHERE l.\"unique\" = 1"),
              ElementsAre("match_id,book"));
}

// Tiers written out of order: 5 and 4.5 both at 09:52, 4 at 09:50 on weekdays only.
constexpr char kTiers[] = R"(timezone: Europe/London
tiers:
  - tier: 5
    name: signals
    at: "09:52"
    jobs:
      - {name: s, argv: [/bin/true]}
  - tier: 4
    name: features
    at: "09:50"
    days: mon-fri
    jobs:
      - {name: f, argv: [/bin/true]}
  - tier: 4.5
    name: retrain
    at: "09:52"
    jobs:
      - {name: r, argv: [/bin/true]}
)";

std::vector<std::string> Occurrences(const Config& config, Instant from, Instant to) {
  std::vector<std::string> out;
  for (const ReplayOccurrence& o : ReplayOccurrences(config, from, to)) {
    out.push_back(IsoUtc(o.at) + " " + config.tiers[o.tier].name);
  }
  return out;
}

TEST(ReplayOccurrences, AcrossTheDstChangeInTimeThenTierOrder) {
  LoadResult r = LoadConfigText(kTiers, "/etc/mlcron/mlcron.yaml");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const Config& c = *r.config;
  // Fri 2024-03-29 → Tue 2024-04-02, local midnights; BST starts on Sunday the 31st.
  EXPECT_THAT(Occurrences(c, Utc("2024-03-29T00:00:00Z"), Utc("2024-04-01T23:00:00Z")),
              ElementsAre("2024-03-29T09:50:00Z features", "2024-03-29T09:52:00Z retrain",
                          "2024-03-29T09:52:00Z signals", "2024-03-30T09:52:00Z retrain",
                          "2024-03-30T09:52:00Z signals", "2024-03-31T08:52:00Z retrain",
                          "2024-03-31T08:52:00Z signals", "2024-04-01T08:50:00Z features",
                          "2024-04-01T08:52:00Z retrain", "2024-04-01T08:52:00Z signals"));
  // [from, to): an occurrence at `from` is in, one at `to` is out.
  EXPECT_THAT(Occurrences(c, Utc("2024-03-29T09:52:00Z"), Utc("2024-03-31T08:52:00Z")),
              ElementsAre("2024-03-29T09:52:00Z retrain", "2024-03-29T09:52:00Z signals",
                          "2024-03-30T09:52:00Z retrain", "2024-03-30T09:52:00Z signals"));
  EXPECT_THAT(Occurrences(c, Utc("2024-03-29T09:52:01Z"), Utc("2024-03-30T09:52:01Z")),
              ElementsAre("2024-03-30T09:52:00Z retrain", "2024-03-30T09:52:00Z signals"));
  EXPECT_THAT(Occurrences(c, Utc("2024-03-30T00:00:00Z"), Utc("2024-03-30T00:00:00Z")), IsEmpty());
}

}  // namespace
}  // namespace mlcron
