// One test per kind of broken config: each asserts the exact message and its line:col.
#include "daemon/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/daemon/config_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::Errors;
using ::testing::ElementsAre;

TEST(ConfigLoaderErrors, YamlSyntaxError) {
  EXPECT_THAT(Errors("tiers: [1, 2\nmax_parallel: 3\n"),
              ElementsAre("2:13: invalid YAML: end of sequence flow not found"));
}

TEST(ConfigLoaderErrors, ErrorTextHasFileLineCol) {
  LoadResult r = mlcron::testing::LoadText("tiers: [1, 2\n");
  EXPECT_EQ(r.ErrorText(),
            "/etc/mlcron/mlcron.yaml:2:1: invalid YAML: end of sequence flow not found\n");
}

TEST(ConfigLoaderErrors, UnknownTopLevelKeyWithSuggestion) {
  EXPECT_THAT(Errors(R"(timezon: UTC
tiers:
  - {tier: 1, name: t, every: 1m, jobs: [{name: a, argv: [x]}]}
)"),
              ElementsAre("1:1: unknown key \"timezon\"; did you mean \"timezone\"?"));
}

TEST(ConfigLoaderErrors, UnknownTierKeyWithSuggestion) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    scedule: "* * * * *"
    jobs: [{name: a, argv: [x]}]
)"),
              ElementsAre("2:5: tiers[0]: missing a schedule: give one of at, schedule or every",
                          "4:5: tiers[0]: unknown key \"scedule\"; did you mean \"schedule\"?"));
}

TEST(ConfigLoaderErrors, UnknownJobKey) {
  EXPECT_THAT(
      Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1m
    jobs:
      - name: a
        argv: [x]
        retires: 3
)"),
      ElementsAre("8:9: tiers[0].jobs[0]: unknown key \"retires\"; did you mean \"retries\"?"));
}

TEST(ConfigLoaderErrors, KeyOfAnotherKind) {
  EXPECT_THAT(
      Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1m
    jobs:
      - {name: a, argv: [x], sql: q.sql}
)"),
      ElementsAre("6:30: tiers[0].jobs[0]: unknown key \"sql\" for kind command (it is a key of "
                  "kind features)"));
}

TEST(ConfigLoaderErrors, WrongTypeInteger) {
  EXPECT_THAT(Errors(R"(max_parallel: two
tiers:
  - {tier: 1, name: t, every: 1m, jobs: [{name: a, argv: [x]}]}
)"),
              ElementsAre("1:15: max_parallel: expected an integer, got \"two\""));
}

TEST(ConfigLoaderErrors, WrongTypeList) {
  EXPECT_THAT(Errors("tiers: {tier: 1}\n"), ElementsAre("1:8: tiers: expected a list, got a map"));
  EXPECT_THAT(Errors(R"(tiers:
  - {tier: 1, name: t, every: 1m, jobs: [{name: a, argv: /bin/true}]}
)"),
              ElementsAre("2:58: tiers[0].jobs[0].argv: expected a list of strings, got "
                          "\"/bin/true\""));
}

TEST(ConfigLoaderErrors, UnknownPlaceholderInArgvAndOnFailure) {
  EXPECT_THAT(
      Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1m
    jobs:
      - {name: a, argv: [x, "{dat}"], on_failure: [y, "{job"]}
)"),
      ElementsAre("6:25: tiers[0].jobs[0].argv: unknown placeholder {dat} in \"{dat}\" (known: "
                  "{date}, {time}, {scheduled}, {run_id}, {job}, {status})",
                  "6:51: tiers[0].jobs[0].on_failure: unclosed \"{\" in \"{job\" (known: "
                  "{date}, {time}, {scheduled}, {run_id}, {job}, {status})"));
}

TEST(ConfigLoaderErrors, BadDuration) {
  EXPECT_THAT(Errors(R"(defaults: {retry_delay: 5 minutes}
tiers:
  - {tier: 1, name: t, every: 1m, jobs: [{name: a, argv: [x]}]}
)"),
              ElementsAre("1:25: defaults.retry_delay: \"5 minutes\" has no unit (use s, m, h, "
                          "d, w or y)"));
}

TEST(ConfigLoaderErrors, NegativeTimeout) {
  EXPECT_THAT(Errors(R"(tiers:
  - {tier: 1, name: t, every: 1m, jobs: [{name: a, argv: [x]}]}
  - tier: 2
    name: u
    every: 1m
    jobs:
      - name: b
        argv: [x]
        timeout: -5m
)"),
              ElementsAre("9:18: tiers[1].jobs[0].timeout: \"-5m\" is negative; durations must be "
                          ">= 0"));
}

TEST(ConfigLoaderErrors, BadAtTime) {
  EXPECT_THAT(Errors(R"(tiers:
  - {tier: 1, name: t, every: 1m, jobs: [{name: a, argv: [x]}]}
  - tier: 2
    name: u
    at: "9:70"
    jobs: [{name: b, argv: [x]}]
)"),
              ElementsAre("5:9: tiers[1].at: \"9:70\" is not a time (expected HH:MM or "
                          "HH:MM:SS)"));
}

TEST(ConfigLoaderErrors, BadCronField) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    schedule: "0 25 * * *"
    jobs: [{name: a, argv: [x]}]
)"),
              ElementsAre("4:15: tiers[0].schedule: cron field \"hour\": 25 is out of range 0-23"));
}

TEST(ConfigLoaderErrors, NeverFiringCron) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    schedule: "0 0 30 2 *"
    jobs: [{name: a, argv: [x]}]
)"),
              ElementsAre("4:15: tiers[0].schedule: cron expression \"0 0 30 2 *\" can never fire "
                          "(day 30 does not exist in feb)"));
}

TEST(ConfigLoaderErrors, BadDays) {
  EXPECT_THAT(
      Errors(R"(tiers:
  - tier: 1
    name: t
    at: "09:50"
    days: funday
    jobs: [{name: a, argv: [x]}]
)"),
      ElementsAre("5:11: tiers[0].days: \"funday\" is not a day name (sun-sat) or number 0-7"));
}

TEST(ConfigLoaderErrors, BothAtAndSchedule) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    at: "09:50"
    schedule: "50 9 * * *"
    jobs: [{name: a, argv: [x]}]
)"),
              ElementsAre("5:5: tiers[0]: give only one of at, schedule or every (found at and "
                          "schedule)"));
}

TEST(ConfigLoaderErrors, DaysWithoutAt) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    schedule: "50 9 * * *"
    days: mon-fri
    jobs: [{name: a, argv: [x]}]
)"),
              ElementsAre("5:5: tiers[0].days: only allowed with at"));
}

TEST(ConfigLoaderErrors, UnknownTimeZone) {
  EXPECT_THAT(Errors(R"(timezone: Europe/Londn
tiers:
  - {tier: 1, name: t, every: 1m, jobs: [{name: a, argv: [x]}]}
)"),
              ElementsAre("1:11: timezone: unknown time zone \"Europe/Londn\"; did you mean "
                          "\"Europe/London\"?"));
}

TEST(ConfigLoaderErrors, TierWithoutJobs) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1m
    jobs: []
)"),
              ElementsAre("5:11: tiers[0].jobs: must list at least one job"));
  EXPECT_THAT(Errors("tiers:\n  - {tier: 1, name: t, every: 1m}\n"),
              ElementsAre("2:5: tiers[0]: missing required key \"jobs\""));
}

TEST(ConfigLoaderErrors, EmptyTiersList) {
  EXPECT_THAT(Errors("tiers: []\n"), ElementsAre("1:8: tiers: must list at least one tier"));
  EXPECT_THAT(Errors("max_parallel: 1\n"), ElementsAre("1:1: missing required key \"tiers\""));
  EXPECT_THAT(Errors(""),
              ElementsAre("0:0: the config is empty; expected a map with at least \"tiers\""));
}

TEST(ConfigLoaderErrors, UnknownKind) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1m
    jobs:
      - {name: a, kind: featurs, sql: q.sql}
)"),
              ElementsAre("6:25: tiers[0].jobs[0].kind: unknown kind \"featurs\" (known: command, "
                          "import, features, retrain, signals, tune); did you mean \"features\"?"));
}

TEST(ConfigLoaderErrors, CommandWithoutArgv) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1m
    jobs:
      - name: a
        env: {X: "1"}
)"),
              ElementsAre("6:9: tiers[0].jobs[0]: missing required key \"argv\" (kind command "
                          "runs it)"));
}

TEST(ConfigLoaderErrors, ArgvOnBuiltInKindAndShellWithManyWords) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1m
    jobs:
      - {name: a, kind: features, sql: q.sql, argv: [x]}
      - {name: b, shell: true, argv: [echo, hi]}
)"),
              ElementsAre("6:47: tiers[0].jobs[0].argv: only kind command takes argv, not "
                          "features",
                          "7:38: tiers[0].jobs[1].argv: with shell: true, argv must be one string "
                          "(the script for /bin/sh -c), got 2"));
}

TEST(ConfigLoaderErrors, BadOverlapEnum) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1m
    jobs:
      - {name: a, argv: [x], overlap: skipp}
)"),
              ElementsAre("6:39: tiers[0].jobs[0].overlap: \"skipp\" is not one of skip, queue, "
                          "replace; did you mean \"skip\"?"));
}

TEST(ConfigLoaderErrors, NiceOutOfRange) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1m
    jobs:
      - {name: a, argv: [x], nice: 25}
)"),
              ElementsAre("6:36: tiers[0].jobs[0].nice: 25 is out of range; must be in -20..19"));
}

TEST(ConfigLoaderErrors, BadSize) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1m
    jobs:
      - {name: a, argv: [x], memory_max: 2X}
)"),
              ElementsAre("6:42: tiers[0].jobs[0].memory_max: \"2X\" has an unknown unit (use K, "
                          "M, G or T)"));
}

TEST(ConfigLoaderErrors, BadName) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: my tier
    every: 1m
    jobs: [{name: a, argv: [x]}]
)"),
              ElementsAre("3:11: tiers[0].name: \"my tier\" is not a valid name (use letters, "
                          "digits, \"_\", \".\" and \"-\")"));
}

TEST(ConfigLoaderErrors, BadEnvName) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1m
    jobs:
      - {name: a, argv: [x], env: {"A=B": c}}
)"),
              ElementsAre("6:36: tiers[0].jobs[0].env: \"A=B\" is not a valid environment "
                          "variable name"));
}

TEST(ConfigLoaderErrors, CollectsAllErrorsInFileOrder) {
  EXPECT_THAT(
      Errors(R"(max_parallel: 0
tiers:
  - tier: 1
    name: t
    every: 0
    jobs:
      - {name: a, argv: [x], retries: -1}
)"),
      ElementsAre("1:15: max_parallel: 0 is out of range; must be in 1..4096",
                  "5:12: tiers[0].every: must be greater than zero",
                  "7:39: tiers[0].jobs[0].retries: -1 is out of range; must be in 0..1000"));
}

}  // namespace
}  // namespace mlcron
