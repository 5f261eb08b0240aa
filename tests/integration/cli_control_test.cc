// `mlcron pause|resume|kill|status` and `mlcron run JOB --at T` against a running mlcrond,
// over its control socket (DESIGN.md §4 "Control"). `tick` fires every second, so pausing
// shows within a bounded wait; `sleeper` only runs when asked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "tests/integration/cli_test_util.h"

namespace mlcron::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kTiers = R"(  - tier: 1
    name: ticker
    every: 1s
    jobs:
      - name: tick
        argv: [/bin/true]
  - tier: 2
    name: sleepers
    schedule: "0 0 1 1 *"
    jobs:
      - name: sleeper
        argv: [/bin/sleep, "300"]
)";

class CliControlTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    WriteConfig(kTiers);
  }

  std::int64_t NewestId(const std::string& job) {
    json runs = History(job, 1);
    return runs.empty() ? 0 : runs[0]["id"].get<std::int64_t>();
  }

  // Pauses `name`, waits for a paused skip of tick, resumes, waits for a run after it.
  void PauseAndResume(const std::string& name) {
    RunResult paused = MlcronC({"pause", name});
    ASSERT_EQ(paused.exit_code, 0) << paused;
    EXPECT_EQ(paused.out, name + " paused\n");
    const std::int64_t after_pause = NewestId("tick");
    json skip = WaitForRun("tick", [&](const json& r) {
      return r["id"].get<std::int64_t>() > after_pause && r["status"] == "skipped";
    });
    ASSERT_FALSE(skip.is_null()) << ReadFile(daemon_log());
    EXPECT_EQ(skip["reason"], "paused");
    EXPECT_EQ(skip["trigger"], "schedule");
    EXPECT_TRUE(skip["started"].is_null());
    RunResult status = MlcronC({"status"});
    bool shown_paused = false;
    for (const auto& line : Lines(status.out)) {
      shown_paused |= line.starts_with("  tick  ") && line.ends_with("  (paused)");
    }
    EXPECT_TRUE(shown_paused) << status;
    const std::string skip_id = std::to_string(skip["id"].get<std::int64_t>());
    RunResult no_log = MlcronC({"logs", "tick", skip_id});
    EXPECT_EQ(no_log.exit_code, 1) << no_log;
    EXPECT_EQ(no_log.err,
              "mlcron logs: run " + skip_id + " of job tick was skipped (paused); it has no log\n");

    RunResult resumed = MlcronC({"resume", name});
    ASSERT_EQ(resumed.exit_code, 0) << resumed;
    EXPECT_EQ(resumed.out, name + " resumed\n");
    const std::int64_t after_resume = NewestId("tick");
    json ran = WaitForRun("tick", [&](const json& r) {
      return r["id"].get<std::int64_t>() > after_resume && r["status"] == "succeeded";
    });
    EXPECT_FALSE(ran.is_null()) << ReadFile(daemon_log());
  }
};

TEST_F(CliControlTest, PauseAndResumeAJob) {
  StartDaemon();
  // tick runs every second.
  EXPECT_FALSE(
      WaitForRun("tick", [](const json& r) { return r["status"] == "succeeded"; }).is_null())
      << ReadFile(daemon_log());
  PauseAndResume("tick");

  RunResult again = MlcronC({"resume", "tick"});
  EXPECT_EQ(again.exit_code, 1) << again;
  EXPECT_EQ(again.err, "mlcron: \"tick\" is not paused\n");
  StopDaemon();
}

TEST_F(CliControlTest, PauseOutlivesARestart) {
  StartDaemon();
  ASSERT_EQ(MlcronC({"pause", "sleeper"}).exit_code, 0);
  StopDaemon();
  StartDaemon();
  RunResult status = MlcronC({"status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status;
  json s = json::parse(status.out);
  ASSERT_EQ(s["next"].size(), 2u) << s.dump(2);
  EXPECT_EQ(s["next"][1]["job"], "sleeper");
  EXPECT_TRUE(s["next"][1]["paused"].get<bool>());
  EXPECT_FALSE(s["next"][0]["paused"].get<bool>());
  ASSERT_EQ(MlcronC({"resume", "sleeper"}).exit_code, 0);
  StopDaemon();
}

TEST_F(CliControlTest, OneDaemonPerStateDirAndAnOwnerOnlySocket) {
  StartDaemon();
  struct stat st {};
  ASSERT_EQ(::stat((state_dir() / "control.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  RunResult second = RunBinary({kMlcrond.string(), "-c", config_path().string()}, dir().string());
  EXPECT_EQ(second.exit_code, 1) << second;
  EXPECT_THAT(second.err, HasSubstr("another mlcrond uses " + state_dir().string()));
  // The first one still owns and answers its socket, and removes it when it stops.
  EXPECT_EQ(MlcronC({"status"}).exit_code, 0);
  StopDaemon();
  EXPECT_FALSE(fs::exists(state_dir() / "control.sock"));
}

TEST_F(CliControlTest, PauseAndResumeATier) {
  StartDaemon();
  PauseAndResume("ticker");
  StopDaemon();
}

TEST_F(CliControlTest, PauseUnknownNameShowsTheDaemonsError) {
  StartDaemon();
  RunResult r = MlcronC({"pause", "nope"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "mlcron: no job or tier named \"nope\"\n");
  StopDaemon();
}

// A control request pumps the scheduler at once: `mlcron run J --at T` must start J even when
// the daemon's next scheduled wake-up is a year away.
TEST_F(CliControlTest, RunAtWakesAnIdleDaemon) {
  std::string tiers = kTiers;
  tiers.replace(tiers.find("every: 1s"), 9, "schedule: \"0 0 1 1 *\"");
  WriteConfig(tiers);
  StartDaemon();
  ASSERT_EQ(MlcronC({"run", "sleeper", "--at", "2024-01-01T00:00:00Z"}).exit_code, 0);
  json running = WaitForRun("sleeper", [](const json& r) { return r["status"] == "running"; });
  EXPECT_FALSE(running.is_null()) << ReadFile(daemon_log());
  StopDaemon();
}

TEST_F(CliControlTest, RunAtAPastInstantThenKillIt) {
  StartDaemon();
  // With ticker paused no tick runs while `status` is asked.
  ASSERT_EQ(MlcronC({"pause", "ticker"}).exit_code, 0);
  RunResult queued = MlcronC({"run", "sleeper", "--at", "2024-01-01T00:00:00Z"});
  ASSERT_EQ(queued.exit_code, 0) << queued;
  EXPECT_EQ(queued.out, "mlcrond queued sleeper for 2024-01-01T00:00:00+00:00\n");

  json running = WaitForRun("sleeper", [](const json& r) { return r["status"] == "running"; });
  ASSERT_FALSE(running.is_null()) << ReadFile(daemon_log());
  EXPECT_EQ(running["trigger"], "manual");
  EXPECT_EQ(running["scheduled"], "2024-01-01T00:00:00+00:00");
  const std::int64_t run_id = running["id"];

  // status, text and JSON, while sleeper runs (and a tick started before the pause is over).
  json s;
  ASSERT_TRUE(WaitFor([&] {
    RunResult status = MlcronC({"status", "--json"});
    EXPECT_EQ(status.exit_code, 0) << status;
    s = json::parse(status.out, nullptr, false);
    return s.is_object() && s["running"].size() == 1;
  })) << s.dump(2);
  EXPECT_EQ(s["config"], config_path().string());
  ASSERT_EQ(s["running"].size(), 1u) << s.dump(2);
  EXPECT_EQ(s["running"][0]["run_id"], run_id);
  EXPECT_EQ(s["running"][0]["job"], "sleeper");
  EXPECT_EQ(s["running"][0]["scheduled"], "2024-01-01T00:00:00+00:00");
  EXPECT_GT(s["running"][0]["pid"].get<std::int64_t>(), 0);
  ASSERT_EQ(s["next"].size(), 2u);
  EXPECT_EQ(s["next"][0]["job"], "tick");
  EXPECT_TRUE(s["next"][0]["paused"].get<bool>());
  EXPECT_EQ(s["next"][1]["job"], "sleeper");
  const std::string next = s["next"][1]["next"];
  EXPECT_THAT(next, ::testing::MatchesRegex("20[0-9][0-9]-01-01T00:00:00\\+00:00")) << next;

  RunResult text = MlcronC({"status"});
  ASSERT_EQ(text.exit_code, 0) << text;
  auto lines = Lines(text.out);
  ASSERT_EQ(lines.size(), 6u) << text.out;
  EXPECT_THAT(lines[0], StartsWith("config " + config_path().string() + " (sha256 "));
  EXPECT_EQ(lines[1], "1 running, 0 waiting");
  EXPECT_THAT(lines[2],
              StartsWith("  run " + std::to_string(run_id) +
                         "  sleeper  scheduled 2024-01-01T00:00:00+00:00  attempt 1  pid "));
  EXPECT_EQ(lines[3], "next:");
  EXPECT_THAT(lines[4], StartsWith("  tick  "));
  EXPECT_THAT(lines[4], ::testing::EndsWith("  (paused)"));
  EXPECT_EQ(lines[5], "  sleeper  " + next);

  RunResult kill = MlcronC({"kill", std::to_string(run_id)});
  ASSERT_EQ(kill.exit_code, 0) << kill;
  EXPECT_EQ(kill.out, "run " + std::to_string(run_id) + ": SIGTERM sent\n");
  json killed = WaitForRun(
      "sleeper", [&](const json& r) { return r["id"] == run_id && r["status"] != "running"; });
  ASSERT_FALSE(killed.is_null()) << ReadFile(daemon_log());
  EXPECT_EQ(killed["status"], "killed");
  EXPECT_EQ(killed["reason"], "killed by mlcron kill");
  EXPECT_EQ(killed["signal"], 15);

  RunResult again = MlcronC({"kill", std::to_string(run_id)});
  EXPECT_EQ(again.exit_code, 1) << again;
  EXPECT_EQ(again.err, "mlcron: run " + std::to_string(run_id) + " is not running\n");
  StopDaemon();
}

TEST_F(CliControlTest, RunAtUnknownJobOrBadInstant) {
  StartDaemon();
  RunResult tier = MlcronC({"run", "sleepers", "--at", "2024-01-01T00:00:00Z"});
  EXPECT_EQ(tier.exit_code, 2) << tier;
  EXPECT_EQ(tier.err, "mlcron run: --at runs one job's past occurrence; name a job\n");
  RunResult bad = MlcronC({"run", "sleeper", "--at", "noon"});
  EXPECT_EQ(bad.exit_code, 2) << bad;
  EXPECT_THAT(bad.err, HasSubstr("--at"));
  StopDaemon();
}

TEST_F(CliControlTest, WithoutADaemon) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"pause", "tick"}, {"resume", "tick"}, {"kill", "1"}}) {
    RunResult r = MlcronC(args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << "\n" << r;
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, HasSubstr("mlcrond is not running")) << args[0];
  }
  // status still fails (exit 1), but shows what the config and the state say, and creates
  // no state of its own.
  RunResult status = MlcronC({"status"});
  EXPECT_EQ(status.exit_code, 1) << status;
  EXPECT_THAT(status.err, HasSubstr("mlcrond is not running"));
  EXPECT_THAT(status.out, ::testing::StartsWith("mlcrond is not running; next occurrences if it "
                                                "were:\nconfig "));
  EXPECT_THAT(status.out, HasSubstr("0 running, 0 waiting\nnext:\n  tick  "));
  EXPECT_FALSE(fs::exists(state_dir() / "mlcron.db"));
  RunResult status_json = MlcronC({"status", "--json"});
  EXPECT_EQ(status_json.exit_code, 1);
  json offline = json::parse(status_json.out);
  EXPECT_EQ(offline["daemon_running"], false);
  EXPECT_EQ(offline["next"][0]["job"], "tick");
  EXPECT_EQ(offline["next"][0]["paused"], false);
  // run --at falls back to running the occurrence here.
  RunResult here = MlcronC({"run", "tick", "--at", "2024-01-01T00:00:00Z"});
  EXPECT_EQ(here.exit_code, 0) << here;
  EXPECT_THAT(here.err, HasSubstr("running the occurrence here"));
  json runs = History("tick");
  ASSERT_EQ(runs.size(), 1u) << runs.dump(2);
  EXPECT_EQ(runs[0]["scheduled"], "2024-01-01T00:00:00+00:00");
  EXPECT_EQ(runs[0]["trigger"], "manual");
  EXPECT_EQ(runs[0]["status"], "succeeded");
}

}  // namespace
}  // namespace mlcron::testing
