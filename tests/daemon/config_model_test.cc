// Happy-path loading of a realistic config (the resolved graph, defaults, paths), and the
// file-level checks of LoadConfigFile (size cap, permissions).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "daemon/config_loader.h"
#include "daemon/sha256.h"
#include "tests/daemon/config_test_util.h"

namespace mlcron {
namespace {

namespace fs = std::filesystem;
using ::mlcron::testing::Errors;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr const char* kPipeline = R"(timezone: Europe/London
state_dir: ./state
max_parallel: 3
history_keep: 30d
defaults: {timeout: 30m, retries: 1, retry_delay: 30s, kill_grace: 10s,
           overlap: skip, catchup: latest, catchup_window: 1d, max_catchup: 10, log_max: 1M}

tiers:
  - tier: 5
    name: signals
    at: "09:55"
    after: [retrain]
    jobs:
      - name: publish
        kind: command
        after: [predict]
        argv: [/usr/local/bin/publish, --day, "{date}"]
        env: {PUBLISH_MODE: live}
        cwd: out
        timeout: 5m
        retries: 3
        overlap: queue
        trigger: all_done
        on_failure: [/usr/local/bin/alert, "{job}", "{run_id}", "{status}"]
        memory_max: 2G
        nice: 10
      - {name: predict, kind: signals, model: result, input: "SELECT * FROM upcoming", output: signals}
  - tier: 4
    name: features
    at: "09:50"
    days: mon-fri
    jobs:
      - name: aggregate
        kind: features
        sql: features/form.sql
      - {name: cleanup, argv: [rm, -f, /tmp/x], shell: false}
  - tier: 4.5
    name: retrain
    schedule: "52 9 * * mon-fri"
    after: [aggregate]
    jobs:
      - {name: retrain_result, kind: retrain, model: result}

models:
  result:
    table: match_features
    key: match_id
    time: date
    label: result
    features: [home_form, away_form]
    segment_by: division
    objective: multi:softprob
    params: {max_depth: 4, eta: 0.05, num_class: 3}
    incremental: {rounds: 30, min_new_rows: 100, max_chain: 12}
    holdout: {fraction: 20%, min_rows: 20}
    promote: {min_improvement: 2%}
replay:
  sources: [{table: match_features, time: date, labels: [result], key: [match_id]}]
)";

TEST(ConfigModel, LoadsRealisticPipeline) {
  LoadResult r = LoadConfigText(kPipeline, "/srv/pipe/mlcron.yaml");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const Config& c = *r.config;
  EXPECT_EQ(c.path, "/srv/pipe/mlcron.yaml");
  EXPECT_EQ(c.base_dir, "/srv/pipe");
  EXPECT_EQ(c.text, kPipeline);
  EXPECT_EQ(c.sha256, Sha256Hex(kPipeline));
  EXPECT_EQ(c.timezone_name, "Europe/London");
  EXPECT_NE(c.tz, nullptr);
  EXPECT_EQ(c.state_dir, "/srv/pipe/state");
  EXPECT_EQ(c.log_dir, "/srv/pipe/state/logs");
  EXPECT_EQ(c.data_path, "/srv/pipe/state/data.db");
  EXPECT_EQ(c.max_parallel, 3);
  EXPECT_EQ(c.history_keep, std::chrono::hours(30 * 24));

  // Tiers ascend by number; jobs go tier by tier, in dependency order.
  ASSERT_EQ(c.tiers.size(), 3u);
  EXPECT_EQ(c.tiers[0].name, "features");
  EXPECT_EQ(c.tiers[1].name, "retrain");
  EXPECT_EQ(c.tiers[2].name, "signals");
  EXPECT_EQ(c.tiers[1].tier, 4.5);
  EXPECT_EQ(c.tiers[0].schedule.kind(), Schedule::Kind::kAt);
  EXPECT_EQ(c.tiers[1].schedule.kind(), Schedule::Kind::kCron);
  std::vector<std::string> names;
  for (const JobConfig& j : c.jobs) names.push_back(j.name);
  EXPECT_THAT(names, ElementsAre("aggregate", "cleanup", "retrain_result", "predict", "publish"));
  EXPECT_THAT(c.tiers[0].jobs, ElementsAre(0, 1));
  EXPECT_THAT(c.tiers[1].jobs, ElementsAre(2));
  EXPECT_THAT(c.tiers[2].jobs, ElementsAre(3, 4));
  EXPECT_EQ(c.jobs[4].tier_index, 2u);
  EXPECT_EQ(&c.TierOf(c.jobs[2]), &c.tiers[1]);

  // Upstreams: retrain waits for one job of features; signals waits for all of retrain.
  EXPECT_THAT(c.jobs[0].upstream, IsEmpty());
  EXPECT_THAT(c.jobs[2].upstream, ElementsAre(0));
  EXPECT_THAT(c.jobs[3].upstream, ElementsAre(2));
  EXPECT_THAT(c.jobs[4].upstream, ElementsAre(2, 3));
  EXPECT_THAT(c.jobs[4].after, ElementsAre("predict"));
  EXPECT_THAT(c.tiers[2].after, ElementsAre("retrain"));

  EXPECT_EQ(c.FindJob("publish"), &c.jobs[4]);
  EXPECT_EQ(c.FindJob("nope"), nullptr);
  EXPECT_EQ(c.FindTier("retrain"), &c.tiers[1]);
  EXPECT_EQ(c.JobIndex("predict"), 3u);
}

TEST(ConfigModel, JobsInheritDefaultsUnlessSet) {
  LoadResult r = LoadConfigText(kPipeline, "/srv/pipe/mlcron.yaml");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const JobConfig& aggregate = *r.config->FindJob("aggregate");
  EXPECT_EQ(aggregate.timeout, std::chrono::minutes(30));
  EXPECT_EQ(aggregate.retries, 1);
  EXPECT_EQ(aggregate.retry_delay, std::chrono::seconds(30));
  EXPECT_EQ(aggregate.kill_grace, std::chrono::seconds(10));
  EXPECT_EQ(aggregate.overlap, Overlap::kSkip);
  EXPECT_EQ(aggregate.catchup, Catchup::kLatest);
  EXPECT_EQ(aggregate.catchup_window, std::chrono::hours(24));
  EXPECT_EQ(aggregate.max_catchup, 10);
  EXPECT_EQ(aggregate.log_max_bytes, 1u << 20);
  EXPECT_EQ(aggregate.trigger, Trigger::kAllSuccess);
  EXPECT_EQ(aggregate.kind, "features");
  EXPECT_EQ(aggregate.builtin.sql_file, "/srv/pipe/features/form.sql");
  EXPECT_EQ(aggregate.builtin.sql, "");

  const JobConfig& publish = *r.config->FindJob("publish");
  EXPECT_EQ(publish.timeout, std::chrono::minutes(5));
  EXPECT_EQ(publish.retries, 3);
  EXPECT_EQ(publish.overlap, Overlap::kQueue);
  EXPECT_EQ(publish.trigger, Trigger::kAllDone);
  EXPECT_EQ(publish.cwd, "/srv/pipe/out");
  EXPECT_THAT(publish.argv, ElementsAre("/usr/local/bin/publish", "--day", "{date}"));
  EXPECT_EQ(publish.env.at("PUBLISH_MODE"), "live");
  EXPECT_EQ(publish.on_failure.size(), 4u);
  EXPECT_EQ(publish.nice, 10);
  EXPECT_EQ(publish.memory_max_bytes, 2ull << 30);
  EXPECT_EQ(r.config->FindJob("predict")->builtin.input, "SELECT * FROM upcoming");
}

TEST(ConfigModel, ImportKeysAreTyped) {
  LoadResult r = mlcron::testing::LoadText(R"(tiers:
  - tier: 1
    name: t
    every: 1h
    jobs:
      - {name: load, kind: import, file: in.csv, table: rows, key: id, types: {a: integer, b: real}}
)");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const JobConfig& load = r.config->jobs[0];
  EXPECT_EQ(load.builtin.file, "/etc/mlcron/in.csv");
  EXPECT_EQ(load.builtin.table, "rows");
  EXPECT_THAT(load.builtin.key, ElementsAre("id"));
  EXPECT_EQ(load.builtin.types.at("a"), "integer");
  EXPECT_EQ(load.builtin.types.at("b"), "real");
  EXPECT_TRUE(load.argv.empty());
}

TEST(ConfigModel, BuiltInDefaults) {
  LoadResult r = mlcron::testing::LoadText(
      "tiers:\n  - {tier: 1, name: t, every: 15m, jobs: [{name: a, argv: [x]}]}\n");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const Config& c = *r.config;
  EXPECT_EQ(c.timezone_name, "UTC");
  EXPECT_NE(c.tz, nullptr);
  EXPECT_EQ(c.state_dir, "/etc/mlcron/state");
  EXPECT_EQ(c.log_dir, "/etc/mlcron/state/logs");
  EXPECT_EQ(c.max_parallel, 2);
  EXPECT_EQ(c.history_keep, std::chrono::hours(90 * 24));
  EXPECT_EQ(c.jobs[0].timeout, std::chrono::minutes(30));
  EXPECT_EQ(c.jobs[0].log_max_bytes, 10u << 20);
  EXPECT_EQ(c.jobs[0].cwd, "");
  EXPECT_EQ(c.tiers[0].schedule.kind(), Schedule::Kind::kEvery);
}

TEST(ConfigModel, AbsolutePathsKeptAndLogDirFollowsStateDir) {
  LoadResult r = mlcron::testing::LoadText(R"(state_dir: /var/lib/mlcron
data: ../data/x.db
tiers:
  - {tier: 1, name: t, every: 1m, jobs: [{name: a, argv: [x]}]}
)");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(r.config->state_dir, "/var/lib/mlcron");
  EXPECT_EQ(r.config->log_dir, "/var/lib/mlcron/logs");
  EXPECT_EQ(r.config->data_path, "/etc/data/x.db");
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mlcron_config_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& text, mode_t mode) {
    const std::string path = (dir_ / "mlcron.yaml").string();
    std::ofstream(path, std::ios::binary) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  fs::path dir_;
};

TEST_F(ConfigFileTest, LoadsAndResolvesAgainstTheFilesFolder) {
  const std::string path = Write(kPipeline, 0644);
  LoadResult r = LoadConfigFile(path);
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(r.config->path, path);
  EXPECT_EQ(r.config->state_dir, (dir_ / "state").string());
}

TEST_F(ConfigFileTest, RefusesGroupWritableFile) {
  const std::string path = Write(kPipeline, 0664);
  LoadResult r = LoadConfigFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.ErrorText(),
            path + ": refusing a group- or world-writable config (mode 0664); run chmod go-w\n");
  LoadOptions lax;
  lax.check_permissions = false;
  EXPECT_TRUE(LoadConfigFile(path, lax).ok());
}

TEST_F(ConfigFileTest, RefusesTooLargeFile) {
  const std::string path = Write(std::string(kMaxConfigBytes + 1, '#'), 0600);
  LoadResult r = LoadConfigFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Errors(r), ElementsAre("0:0: the config is 4194305 bytes; the limit is 4194304"));
}

TEST_F(ConfigFileTest, MissingFile) {
  LoadResult r = LoadConfigFile((dir_ / "absent.yaml").string());
  EXPECT_THAT(Errors(r), ElementsAre("0:0: cannot open: No such file or directory"));
}

}  // namespace
}  // namespace mlcron
