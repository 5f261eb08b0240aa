// `mlcron run` (JOB, TIER, --all; failures and their downstream), the per-job lock it shares
// with mlcrond and other `mlcron run`s (DESIGN.md §4), and what the runs leave behind:
// `mlcron history`, `mlcron logs`, `mlcron backup`, and file ownership under root.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "tests/integration/cli_test_util.h"

namespace mlcron::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A two-tier pipeline whose tier `train` lists `report` before the job it depends on, so a
// run in config order would be wrong. Nothing is scheduled while the tests run: `mlcron run`
// fires no schedules.
constexpr const char* kPipeline = R"(  - tier: 1
    name: prep
    schedule: "0 0 1 1 *"
    jobs:
      - name: fetch
        argv: [/bin/sh, -c, "echo fetched"]
  - tier: 2
    name: train
    schedule: "0 0 1 1 *"
    after: [prep]
    jobs:
      - name: report
        after: [fit]
        argv: [/bin/echo, report]
      - name: fit
        argv: [/bin/sh, -c, "echo fit $MLCRON_JOB"]
)";

constexpr const char* kFailing = R"(  - tier: 3
    name: bad
    schedule: "0 0 1 1 *"
    jobs:
      - name: boom
        argv: [/bin/sh, -c, "echo boom >&2; exit 3"]
      - name: after_boom
        after: [boom]
        argv: [/bin/echo, never]
)";

// Runs in order of their ids (the order they were recorded), oldest first.
json Chronological(json runs) {
  std::sort(runs.begin(), runs.end(),
            [](const json& a, const json& b) { return a["id"] < b["id"]; });
  return runs;
}

std::vector<std::string> Jobs(const json& runs) {
  std::vector<std::string> out;
  for (const auto& r : runs) out.push_back(r["job"]);
  return out;
}

class CliRunTest : public CliTest {};

TEST_F(CliRunTest, RunOneJob) {
  WriteConfig(kPipeline);
  RunResult r = MlcronC({"run", "fetch"});
  ASSERT_EQ(r.exit_code, 0) << r;
  json runs = History();
  ASSERT_EQ(runs.size(), 1u) << runs.dump(2);
  EXPECT_EQ(runs[0]["job"], "fetch");
  EXPECT_EQ(runs[0]["trigger"], "manual");
  EXPECT_EQ(runs[0]["status"], "succeeded");
  EXPECT_EQ(runs[0]["attempt"], 1);
  EXPECT_EQ(runs[0]["exit_code"], 0);
  EXPECT_EQ(MlcronC({"logs", "fetch"}).out, "fetched\n");
}

TEST_F(CliRunTest, RunTierInDependencyOrder) {
  WriteConfig(kPipeline);
  RunResult r = MlcronC({"run", "train"});
  ASSERT_EQ(r.exit_code, 0) << r;
  json runs = Chronological(History());
  EXPECT_EQ(Jobs(runs), (std::vector<std::string>{"fit", "report"})) << runs.dump(2);
  for (const auto& run : runs) {
    EXPECT_EQ(run["status"], "succeeded") << run.dump();
    EXPECT_EQ(run["trigger"], "manual");
  }
  // report waited for fit to end; both carry the batch's instant.
  EXPECT_GE(runs[1]["started"].get<std::string>(), runs[0]["ended"].get<std::string>());
  EXPECT_EQ(runs[0]["scheduled"], runs[1]["scheduled"]);
  EXPECT_EQ(MlcronC({"logs", "fit"}).out, "fit fit\n");
}

TEST_F(CliRunTest, RunAllInDependencyOrder) {
  WriteConfig(kPipeline);
  RunResult r = MlcronC({"run", "--all"});
  ASSERT_EQ(r.exit_code, 0) << r;
  json runs = Chronological(History());
  EXPECT_EQ(Jobs(runs), (std::vector<std::string>{"fetch", "fit", "report"})) << runs.dump(2);
  for (size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i]["status"], "succeeded") << runs[i].dump();
    if (i > 0) {
      EXPECT_GE(runs[i]["started"].get<std::string>(), runs[i - 1]["ended"].get<std::string>());
    }
  }
}

TEST_F(CliRunTest, FailingJobSkipsItsDownstream) {
  WriteConfig(std::string(kPipeline) + kFailing);
  RunResult r = MlcronC({"run", "bad"});
  EXPECT_EQ(r.exit_code, 1) << r;
  json runs = Chronological(History());
  ASSERT_EQ(Jobs(runs), (std::vector<std::string>{"boom", "after_boom"})) << runs.dump(2);
  EXPECT_EQ(runs[0]["status"], "failed");
  EXPECT_EQ(runs[0]["reason"], "exit code 3");
  EXPECT_EQ(runs[0]["exit_code"], 3);
  EXPECT_EQ(runs[1]["status"], "skipped");
  EXPECT_THAT(runs[1]["reason"].get<std::string>(), StartsWith("upstream boom failed"));
  EXPECT_EQ(MlcronC({"logs", "boom"}).out, "boom\n");

  // --all runs the good tiers too, and still fails.
  RunResult all = MlcronC({"run", "--all"});
  EXPECT_EQ(all.exit_code, 1) << all;
  json statuses;
  for (const auto& run : History()) statuses[run["job"].get<std::string>()] = run["status"];
  EXPECT_EQ(statuses["fetch"], "succeeded");
  EXPECT_EQ(statuses["report"], "succeeded");
  EXPECT_EQ(statuses["after_boom"], "skipped");
}

TEST_F(CliRunTest, UnknownNameIsAUsageError) {
  WriteConfig(kPipeline);
  RunResult r = MlcronC({"run", "nope"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("no job or tier named \"nope\""));
  EXPECT_EQ(History().size(), 0u);
}

// ---- the per-job lock

// A job that holds its lock until the test creates the file `release`.
constexpr const char* kSlow = R"(  - tier: 1
    name: slow_tier
    schedule: "0 0 1 1 *"
    jobs:
      - name: slow
        argv: [/bin/sh, -c,
               "touch started-$MLCRON_ATTEMPT-$$; while [ ! -e release ]; do sleep 0.02; done"]
)";

class CliRunLockTest : public CliTest {
 protected:
  bool AnyStarted() {
    for (const auto& e : fs::directory_iterator(dir())) {
      if (e.path().filename().string().starts_with("started-")) return true;
    }
    return false;
  }

  // With slow held elsewhere: a plain run refuses, a --wait run waits and then runs.
  void CheckRefusedThenWaits() {
    RunResult refused = MlcronC({"run", "slow"});
    EXPECT_EQ(refused.exit_code, 1) << refused;
    EXPECT_THAT(refused.err,
                HasSubstr("mlcron run: job slow is running (" +
                          (state_dir() / "locks" / "slow.lock").string() + " is locked by pid "));
    EXPECT_THAT(refused.err, HasSubstr("); use --wait to wait for it\n"));

    auto waiting = StartMlcron({"run", "slow", "--wait"}, "wait.log");
    ASSERT_TRUE(WaitFor([&] {
      return ReadFile(dir() / "wait.log").find("job slow is running (") != std::string::npos &&
             ReadFile(dir() / "wait.log").find("waiting for it to finish") != std::string::npos;
    })) << ReadFile(dir() / "wait.log");
    EXPECT_EQ(History("slow").size(), 1u) << "the --wait run started while slow was held";
    WriteFile(dir() / "release", "", fs::perms::owner_all);
    EXPECT_EQ(waiting->Wait(std::chrono::duration_cast<std::chrono::milliseconds>(kTimeout)), 0)
        << ReadFile(dir() / "wait.log");

    json first, second;
    ASSERT_TRUE(WaitFor([&] {
      json runs = Chronological(History("slow"));
      if (runs.size() != 2 || runs[0]["ended"].is_null() || runs[1]["ended"].is_null()) {
        return false;
      }
      first = runs[0];
      second = runs[1];
      return true;
    }));
    EXPECT_EQ(first["status"], "succeeded");
    EXPECT_EQ(second["status"], "succeeded");
    EXPECT_EQ(second["trigger"], "manual");
    EXPECT_GE(second["started"].get<std::string>(), first["ended"].get<std::string>());
  }
};

TEST_F(CliRunLockTest, AgainstAnotherMlcronRun) {
  WriteConfig(kSlow);
  auto holder = StartMlcron({"run", "slow"}, "holder.log");
  ASSERT_TRUE(WaitFor([&] { return AnyStarted(); })) << ReadFile(dir() / "holder.log");
  ASSERT_NO_FATAL_FAILURE(CheckRefusedThenWaits());
  EXPECT_EQ(holder->Wait(5s), 0) << ReadFile(dir() / "holder.log");
}

TEST_F(CliRunLockTest, AgainstTheDaemon) {
  WriteConfig(kSlow);
  StartDaemon({"--run-now"});
  ASSERT_TRUE(WaitFor([&] { return AnyStarted(); })) << ReadFile(daemon_log());
  ASSERT_NO_FATAL_FAILURE(CheckRefusedThenWaits());
  EXPECT_EQ(Chronological(History("slow"))[0]["trigger"], "run-now");
  StopDaemon();
}

// mlcron kills a finished run's escaped descendants by the MLCRON_RUN_ID=<id> and
// MLCRON_STATE_DIR in their environment. Run ids count per state database, so ending run 1
// of one state dir must never touch the running run 1 of another.
TEST_F(CliRunLockTest, AJobOfAnotherStateDirSurvives) {
  WriteConfig(R"(  - tier: 1
    name: t
    schedule: "0 0 1 1 *"
    jobs:
      - name: held
        argv: [/bin/sh, -c, "touch started-1; while [ ! -e release ]; do sleep 0.02; done"]
)");
  const fs::path other = dir() / "other" / "mlcron.yaml";
  WriteConfig(
      R"(  - {tier: 1, name: t, schedule: "0 0 1 1 *", jobs: [{name: quick, argv: [/bin/true]}]}
)",
      "", other);
  auto holder = StartMlcron({"run", "held"}, "holder.log");
  ASSERT_TRUE(WaitFor([&] { return AnyStarted(); })) << ReadFile(dir() / "holder.log");
  // The other state dir's first run has id 1 too.
  RunResult quick = Mlcron({"run", "quick", "-c", other.string()});
  ASSERT_EQ(quick.exit_code, 0) << quick;
  WriteFile(dir() / "release", "", fs::perms::owner_all);
  EXPECT_EQ(holder->Wait(5s), 0) << ReadFile(dir() / "holder.log");
  json runs = History("held");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "succeeded") << runs[0].dump();
}

// ---- history, logs, backup

class CliHistoryTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    WriteConfig(R"(  - tier: 1
    name: t
    schedule: "0 0 1 1 *"
    jobs:
      - name: hello
        argv: [/bin/sh, -c, "echo out-$MLCRON_RUN_ID; echo err-$MLCRON_ATTEMPT >&2"]
      - name: other
        argv: [/bin/true]
)");
    // Runs 1 (hello), 2 (other), 3 (hello).
    for (const char* job : {"hello", "other", "hello"}) {
      RunResult r = MlcronC({"run", job});
      ASSERT_EQ(r.exit_code, 0) << r;
    }
  }
};

TEST_F(CliHistoryTest, TextListing) {
  RunResult r = MlcronC({"history"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(
      lines[0],
      "RUN    JOB                 SCHEDULED                  TRIGGER  #   STATUS      TOOK      "
      "REASON");
  // Newest first.
  EXPECT_THAT(lines[1], StartsWith("3      hello               "));
  EXPECT_THAT(lines[2], StartsWith("2      other               "));
  EXPECT_THAT(lines[3], StartsWith("1      hello               "));
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_THAT(lines[i], HasSubstr("+00:00  manual   1   succeeded   ")) << lines[i];
  }
}

TEST_F(CliHistoryTest, FilterAndLimit) {
  json hello = History("hello");
  ASSERT_EQ(hello.size(), 2u);
  EXPECT_EQ(hello[0]["id"], 3);
  EXPECT_EQ(hello[1]["id"], 1);

  RunResult r = MlcronC({"history", "--limit", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  json one = json::parse(r.out);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["id"], 3);
  for (const char* key : {"id", "job", "scheduled", "trigger", "attempt", "status", "reason",
                          "started", "ended", "exit_code", "signal", "pid", "cpu_seconds", "log"}) {
    EXPECT_TRUE(one[0].contains(key)) << key;
  }
  EXPECT_EQ(one[0]["log"], (state_dir() / "logs" / "hello" / "3.log").string());

  RunResult text = MlcronC({"history", "--job", "other", "-n", "5"});
  ASSERT_EQ(text.exit_code, 0) << text;
  EXPECT_EQ(Lines(text.out).size(), 2u) << text.out;

  EXPECT_EQ(History("nope").size(), 0u);
}

TEST_F(CliHistoryTest, Logs) {
  RunResult newest = MlcronC({"logs", "hello"});
  EXPECT_EQ(newest.exit_code, 0) << newest;
  EXPECT_EQ(newest.out, "out-3\nerr-1\n");
  RunResult first = MlcronC({"logs", "hello", "1"});
  EXPECT_EQ(first.exit_code, 0) << first;
  EXPECT_EQ(first.out, "out-1\nerr-1\n");
  EXPECT_EQ(MlcronC({"logs", "other"}).out, "");

  RunResult wrong_job = MlcronC({"logs", "hello", "2"});
  EXPECT_EQ(wrong_job.exit_code, 1) << wrong_job;
  EXPECT_THAT(wrong_job.err, HasSubstr("hello"));
  RunResult no_run = MlcronC({"logs", "hello", "99"});
  EXPECT_EQ(no_run.exit_code, 1) << no_run;
  EXPECT_THAT(no_run.err, HasSubstr("99"));
  RunResult no_job = MlcronC({"logs", "nope"});
  EXPECT_EQ(no_job.exit_code, 1) << no_job;
  EXPECT_THAT(no_job.err, HasSubstr("nope"));
  EXPECT_EQ(no_job.out, "");
}

TEST_F(CliHistoryTest, Backup) {
  const fs::path dest = dir() / "backup.db";
  RunResult r = MlcronC({"backup", "--to", dest.string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr(dest.string()));

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(dest.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM runs", -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 3);
  sqlite3_finalize(stmt);
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "ok");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  EXPECT_EQ(History().size(), 3u);

  RunResult missing = MlcronC({"backup", "--to", (dir() / "no" / "such" / "b.db").string()});
  EXPECT_EQ(missing.exit_code, 1) << missing;
  EXPECT_THAT(missing.err, HasSubstr((dir() / "no" / "such").string() + " does not exist"));
  EXPECT_FALSE(fs::exists(dir() / "no"));
}

// ---- root switching (DESIGN.md §4)

TEST_F(CliTest, RootSwitchesToTheStateDirsOwner) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  constexpr uid_t kNobody = 65534;
  constexpr gid_t kNogroup = 65534;
  // nobody must reach the config folder and run the job there.
  fs::permissions(dir(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
  WriteConfig(R"(  - tier: 1
    name: t
    schedule: "0 0 1 1 *"
    jobs:
      - name: whoami
        argv: [/usr/bin/id, -u]
)");
  fs::permissions(config_path(), fs::perms::owner_read | fs::perms::owner_write |
                                     fs::perms::group_read | fs::perms::others_read);
  fs::create_directories(state_dir());
  ASSERT_EQ(::chown(state_dir().c_str(), kNobody, kNogroup), 0) << std::strerror(errno);

  RunResult history = MlcronC({"history"});
  ASSERT_EQ(history.exit_code, 0) << history;
  RunResult run = MlcronC({"run", "whoami"});
  ASSERT_EQ(run.exit_code, 0) << run;
  EXPECT_EQ(MlcronC({"logs", "whoami"}).out, std::to_string(kNobody) + "\n");

  ASSERT_TRUE(fs::exists(state_dir() / "mlcron.db"));
  int checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(state_dir())) {
    struct stat st {};
    ASSERT_EQ(::lstat(entry.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kNobody) << entry.path() << " is owned by uid " << st.st_uid;
    ++checked;
  }
  EXPECT_GE(checked, 3) << "expected mlcron.db, logs/ and configs/ at least";
}

}  // namespace
}  // namespace mlcron::testing
