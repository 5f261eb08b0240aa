// The `mlcron` commands that need no daemon and no runs: validate, cron, next, and the exit
// codes of usage errors (DESIGN.md §8: 2 for bad usage or a bad config).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/cli_test_util.h"

namespace mlcron::testing {
namespace {

using ::testing::HasSubstr;

class CliCommandsTest : public CliTest {
 protected:
  // Copies config/examples/basic (the yaml, chmod 600, and its bin/) into dir().
  fs::path CopyExample() {
    const fs::path src = kSourceDir / "config" / "examples" / "basic";
    fs::copy(src / "bin", dir() / "bin", fs::copy_options::recursive);
    fs::copy_file(src / "mlcron.yaml", config_path());
    fs::permissions(config_path(), fs::perms::owner_read | fs::perms::owner_write);
    return config_path();
  }
};

// ---- validate

TEST_F(CliCommandsTest, ValidateAcceptsTheBundledExample) {
  CopyExample();
  RunResult r = Mlcron({"validate", "-c", config_path().string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, config_path().string() + ": ok (3 tiers, 5 jobs, time zone Europe/London)\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(CliCommandsTest, ValidateReportsFileLineColumn) {
  WriteConfig(
      "  - tier: 1\n"
      "    name: t\n"
      "    at: \"9:70\"\n"
      "    jobs:\n"
      "      - name: a\n"
      "        argv: [/bin/true]\n"
      "        retires: 3\n");
  RunResult r = Mlcron({"validate", "-c", config_path().string()});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_EQ(r.out, "");
  const std::string file = config_path().string();
  // Lines 1-5 are WriteConfig's header; `tiers:` is line 6.
  EXPECT_EQ(r.err, file +
                       ":9:9: tiers[0].at: \"9:70\" is not a time (expected HH:MM or HH:MM:SS)\n" +
                       file +
                       ":13:9: tiers[0].jobs[0]: unknown key \"retires\"; did you mean "
                       "\"retries\"?\n");
}

TEST_F(CliCommandsTest, ValidateRefusesAGroupWritableFile) {
  WriteConfig("  - {tier: 1, name: t, every: 1m, jobs: [{name: a, argv: [/bin/true]}]}\n");
  ASSERT_EQ(Mlcron({"validate", "-c", config_path().string()}).exit_code, 0);
  fs::permissions(config_path(), fs::perms::group_write, fs::perm_options::add);
  RunResult r = Mlcron({"validate", "-c", config_path().string()});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr(config_path().string()));
  EXPECT_THAT(r.err, HasSubstr("group- or world-writable"));
}

TEST_F(CliCommandsTest, ValidateMissingFile) {
  RunResult r = Mlcron({"validate", "-c", (dir() / "nope.yaml").string()});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("nope.yaml"));
}

// ---- cron

TEST_F(CliCommandsTest, CronPrintsInstantsAcrossSpringForward) {
  RunResult r = Mlcron({"cron", "0 3 * * *", "--after", "2024-03-30T12:00:00", "--tz",
                        "Europe/Berlin", "--count", "5"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out,
            "2024-03-31T03:00:00+02:00\n"
            "2024-04-01T03:00:00+02:00\n"
            "2024-04-02T03:00:00+02:00\n"
            "2024-04-03T03:00:00+02:00\n"
            "2024-04-04T03:00:00+02:00\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(CliCommandsTest, CronFixedTimeInTheGapFiresAtTheGapsEnd) {
  // 02:30 does not exist on 2024-03-31 in Berlin: a fixed-time job fires once at 03:00.
  RunResult r = Mlcron({"cron", "30 2 * * *", "--after", "2024-03-30T12:00:00", "--tz",
                        "Europe/Berlin", "--count", "2"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "2024-03-31T03:00:00+02:00\n2024-04-01T02:30:00+02:00\n");
}

TEST_F(CliCommandsTest, CronThatCanNeverFire) {
  RunResult r = Mlcron({"cron", "0 0 30 2 *", "--after", "2024-03-30T12:00:00", "--tz",
                        "Europe/Berlin", "--count", "5"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("can never fire"));
}

TEST_F(CliCommandsTest, CronBadInputsAreUsageErrors) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"cron", "61 * * * *"},
                                               {"cron", "* * * *"},
                                               {"cron", "0 3 * * *", "--tz", "Europe/Berln"},
                                               {"cron", "0 3 * * *", "--after", "yesterday"},
                                               {"cron", "0 3 * * *", "--count", "0"}}) {
    RunResult r = Mlcron(args);
    EXPECT_EQ(r.exit_code, 2) << args[1] << " " << (args.size() > 2 ? args[2] : "") << "\n" << r;
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, HasSubstr("mlcron cron: "));
  }
}

// ---- next

TEST_F(CliCommandsTest, NextListsTheExamplesOccurrences) {
  CopyExample();
  // Friday 29 March 2024; London moves to BST on Sunday 31 March; the tiers run mon-fri.
  RunResult r = MlcronC({"next", "--from", "2024-03-29T00:00", "--count", "4"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out,
            "2024-03-29T09:50:00+00:00  tier 4 features  aggregate\n"
            "2024-03-29T09:52:00+00:00  tier 4.5 retrain  retrain_result,retrain_goals\n"
            "2024-03-29T09:55:00+00:00  tier 5 signals  predict,publish\n"
            "2024-04-01T09:50:00+01:00  tier 4 features  aggregate\n");
}

TEST_F(CliCommandsTest, NextJson) {
  CopyExample();
  RunResult r = MlcronC({"next", "--from", "2024-03-29T00:00", "--count", "4", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << r.out;
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[0]["at"], "2024-03-29T09:50:00+00:00");
  EXPECT_EQ(j[0]["tier"], 4);
  EXPECT_EQ(j[0]["name"], "features");
  EXPECT_EQ(j[0]["jobs"], nlohmann::json::array({"aggregate"}));
  EXPECT_EQ(j[1]["tier"], 4.5);
  EXPECT_EQ(j[1]["jobs"], nlohmann::json::array({"retrain_result", "retrain_goals"}));
  EXPECT_EQ(j[2]["name"], "signals");
  EXPECT_EQ(j[2]["jobs"], nlohmann::json::array({"predict", "publish"}));
  EXPECT_EQ(j[3]["at"], "2024-04-01T09:50:00+01:00");
}

TEST_F(CliCommandsTest, NextBadFromIsAUsageError) {
  CopyExample();
  RunResult r = MlcronC({"next", "--from", "soon"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("--from"));
}

// ---- usage errors

TEST_F(CliCommandsTest, UsageErrorsExitTwo) {
  WriteConfig("  - {tier: 1, name: t, every: 1m, jobs: [{name: a, argv: [/bin/true]}]}\n");
  for (const std::vector<std::string>& args : {
           std::vector<std::string>{},  // no subcommand
           {"frobnicate"},              // unknown subcommand
           {"validate"},                // missing --config
           {"history"},                 // missing --config
           {"run", "a"},                // missing --config
           {"history", "-c", config_path().string(), "--limit", "many"},
           {"run", "-c", config_path().string()},  // neither a name nor --all
           {"run", "a", "--all", "-c", config_path().string()},
           {"kill", "x", "-c", config_path().string()},
       }) {
    RunResult r = Mlcron(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << "mlcron " << joined << "\n" << r;
    EXPECT_NE(r.err, "") << "mlcron " << joined;
  }
}

TEST_F(CliCommandsTest, HelpAndVersionExitZero) {
  RunResult help = Mlcron({"--help"});
  EXPECT_EQ(help.exit_code, 0) << help;
  EXPECT_THAT(help.out, HasSubstr("validate"));
  RunResult version = Mlcron({"--version"});
  EXPECT_EQ(version.exit_code, 0) << version;
  EXPECT_NE(version.out, "");
}

}  // namespace
}  // namespace mlcron::testing
