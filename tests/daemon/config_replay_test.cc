// The `replay:` section: what a valid one reads as, and each broken value's exact message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/config_loader.h"
#include "tests/daemon/config_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::Errors;
using ::mlcron::testing::LoadText;
using ::testing::ElementsAre;

constexpr const char* kTiers = R"(tiers:
  - tier: 3
    name: ingest
    at: "09:45"
    jobs:
      - {name: import_matches, kind: import, file: m.csv, table: matches, key: [match_id]}
      - {name: export, argv: [/bin/true], replay: true}
)";

TEST(ConfigReplay, SourcesRead) {
  LoadResult r = LoadText(std::string(kTiers) + R"(replay:
  sources:
    - table: matches
      time: date
      labels: [home_score, away_score]
      reveal_ahead: 2d
    - {table: odds, time: at, labels: [closing], key: [match_id, book]}
)");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(Errors(r));
  const ReplayConfig& rc = r.config->replay;
  ASSERT_EQ(rc.sources.size(), 2u);
  EXPECT_EQ(rc.sources[0].table, "matches");
  EXPECT_EQ(rc.sources[0].time, "date");
  EXPECT_THAT(rc.sources[0].labels, ElementsAre("home_score", "away_score"));
  EXPECT_EQ(rc.sources[0].reveal_ahead, std::chrono::hours(48));
  EXPECT_EQ(rc.sources[0].pos.line, 10);
  EXPECT_EQ(rc.sources[1].reveal_ahead, std::chrono::hours(24));  // the default
  EXPECT_THAT(rc.sources[1].key, ElementsAre("match_id", "book"));
  EXPECT_TRUE(r.config->FindJob("export")->replay);
  EXPECT_FALSE(r.config->FindJob("import_matches")->replay);
}

TEST(ConfigReplay, BrokenSourcesNameLineAndField) {
  EXPECT_THAT(Errors(std::string(kTiers) + R"(replay:
  sources:
    - {table: matches, time: date, labels: [date], reveal_ahead: soon}
    - {table: "m; drop", time: t, labels: []}
    - {time: t, labels: [x, x], lables: [y]}
    - {table: matches, time: d, labels: [r]}
    - {table: odds, time: at, labels: [closing]}
)"),
              ElementsAre("10:44: replay.sources[0].labels: \"date\" is the time column",
                          "10:66: replay.sources[0].reveal_ahead: \"soon\" is not a duration "
                          "(expected e.g. 90s, 15m, 6h, 1d)",
                          "11:15: replay.sources[1].table: \"m; drop\" is not a plain SQL name "
                          "(letters, digits and \"_\")",
                          "11:43: replay.sources[1].labels: must not be empty",
                          "12:7: replay.sources[2]: missing required key \"table\"",
                          "12:25: replay.sources[2].labels: \"x\" is listed twice",
                          "12:33: replay.sources[2]: unknown key \"lables\"; did you mean "
                          "\"table\"?",
                          "13:7: replay.sources[3].table: \"matches\" is a source twice",
                          "14:7: replay source \"odds\": no import job writes it, so replay "
                          "copies it from the data database and needs its key: add key: "
                          "[COLUMN, ...]"));
}

TEST(ConfigReplay, SectionShapeAndCommandOnlyKey) {
  EXPECT_THAT(Errors(std::string(kTiers) + "replay: {source: []}\n"),
              ElementsAre("8:9: replay: missing required key \"sources\"",
                          "8:10: replay: unknown key \"source\"; did you mean \"sources\"?"));
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1h
    jobs:
      - {name: f, kind: features, sql: "SELECT 1", replay: true}
)"),
              ElementsAre("6:52: tiers[0].jobs[0].replay: only kind command takes replay "
                          "(built-in kinds always run in a replay, import is replaced by the "
                          "reveal), not features"));
}

}  // namespace
}  // namespace mlcron
