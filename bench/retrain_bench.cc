// bench/retrain: the retrain job's costs on a synthetic 1,000,000 × 20 table with daily
// timestamps and drift (issue 3 targets). Each case runs the real `mlcron job retrain`
// process and reads its wall time and peak RSS from wait4; the raw-XGBoost baseline trains
// the same rows with the same params through the C API in this process.
//
//   retrain_bench [--rows N] [--features F] [--rounds R] [--keep]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xgboost/c_api.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/synthetic_data.h"
#include "daemon/config_loader.h"
#include "jobs/dataset.h"
#include "jobs/holdout.h"
#include "jobs/job_context.h"
#include "jobs/registry.h"

namespace mlcron::bench {
namespace {

struct ProcessCost {
  double wall_s = 0;
  double max_rss_mb = 0;
  int exit_code = -1;
};

// Runs argv to completion with `env` added; wall time and the child's own peak RSS.
ProcessCost RunMeasured(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                        const fs::path& log) {
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = Spawn(argv, log, env);
  int status = 0;
  struct rusage ru {};
  if (wait4(pid, &status, 0, &ru) != pid) throw BenchError("wait4 failed");
  ProcessCost c;
  c.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  c.max_rss_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (c.exit_code != 0)
    throw BenchError(argv[1] + " exited " + std::to_string(c.exit_code) + "; see " + log.string());
  return c;
}

void Check(int rc, const char* what) {
  if (rc != 0) throw BenchError(std::string(what) + ": " + XGBGetLastError());
}

// Trains `rounds` rounds on rows [0, n) of `d` with exactly the job's params, through the C
// API only. Returns seconds of DMatrix creation plus training.
double RawXgboostSeconds(const Dataset& d, size_t n, int rounds, int max_depth, double eta) {
  const auto start = std::chrono::steady_clock::now();
  DMatrixHandle m = nullptr;
  Check(XGDMatrixCreateFromMat(d.x.data(), n, d.cols, NAN, &m), "XGDMatrixCreateFromMat");
  Check(XGDMatrixSetFloatInfo(m, "label", d.y.data(), n), "XGDMatrixSetFloatInfo");
  BoosterHandle b = nullptr;
  Check(XGBoosterCreate(&m, 1, &b), "XGBoosterCreate");
  const std::vector<std::pair<std::string, std::string>> params = {
      {"objective", "binary:logistic"},
      {"max_depth", std::to_string(max_depth)},
      {"eta", std::to_string(eta)},
      {"tree_method", "hist"},
      {"base_score", "0.5"}};
  for (const auto& [k, v] : params) Check(XGBoosterSetParam(b, k.c_str(), v.c_str()), "SetParam");
  for (int i = 0; i < rounds; ++i) Check(XGBoosterUpdateOneIter(b, i, m), "UpdateOneIter");
  XGBoosterFree(b);
  XGDMatrixFree(m);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// min_new_rows and the holdout scale with the table so that +1% rows is due for an
// incremental retrain at any --rows.
std::string ConfigYaml(const fs::path& dir, std::int64_t rows, int features, int rounds) {
  const std::string min_new = std::to_string(std::max<std::int64_t>(100, rows / 400));
  const std::string min_holdout = std::to_string(std::max<std::int64_t>(20, rows / 2000));
  std::string list;
  for (int i = 0; i < features; ++i) list += (i ? ", f" : "f") + std::to_string(i);
  return "state_dir: " + (dir / "state").string() + "\ndata: " + (dir / "data.db").string() +
         R"(
tiers:
  - tier: 4.5
    name: retrain
    at: "09:52"
    jobs:
      - {name: retrain_synth, kind: retrain, model: synth}
models:
  synth:
    table: synth
    key: id
    time: day
    label: label
    features: [)" +
         list + R"(]
    objective: binary:logistic
    params: {max_depth: 6, eta: 0.1}
    rounds: )" +
         std::to_string(rounds) + R"(
    min_rows: 1000
    incremental: {rounds: 20, min_new_rows: )" +
         min_new + R"(, max_chain: 12}
    holdout: {fraction: 0.2, min_rows: )" +
         min_holdout + R"(}
)";
}

int Main(int argc, char** argv) {
  CLI::App app{"retrain job benchmark"};
  std::int64_t rows = 1000000;
  int features = 20;
  int rounds = 200;
  bool keep = false;
  std::string mlcron = MLCRON_BINARY_DIR "/cli/mlcron";
  app.add_option("--rows", rows);
  app.add_option("--features", features);
  app.add_option("--rounds", rounds);
  app.add_option("--mlcron", mlcron);
  app.add_flag("--keep", keep);
  CLI11_PARSE(app, argc, argv);

  ScratchDir dir("retrain-bench", keep);
  const fs::path config = dir.path() / "mlcron.yaml";
  WriteFile0600(config, ConfigYaml(dir.path(), rows, features, rounds));
  LoadResult loaded = LoadConfigFile(config.string());
  if (!loaded.ok()) throw BenchError(loaded.ErrorText());
  auto data = OpenDataDb(*loaded.config);
  if (!data.ok()) throw BenchError(data.message());

  const std::int64_t day0 = 1577836800;  // 2020-01-01
  const int per_day = 1000;
  auto t0 = std::chrono::steady_clock::now();
  if (Status s = WriteSyntheticRows(**data, "synth", rows, features, day0, per_day, 42, 0.002);
      !s.ok()) {
    throw BenchError(s.message());
  }
  const double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("generated %lld rows × %d features in %.1f s\n", static_cast<long long>(rows),
              features, gen_s);

  const std::vector<std::string> job = {mlcron,          "job",           "retrain",
                                        "--config",      config.string(), "--origin",
                                        config.string(), "--job",         "retrain_synth"};
  ProcessCost first = RunMeasured(job, {}, dir.path() / "first.log");
  std::vector<double> skips;
  for (int i = 0; i < 11; ++i)
    skips.push_back(RunMeasured(job, {}, dir.path() / "skip.log").wall_s);
  std::sort(skips.begin(), skips.end());

  // 1% new rows on the following days, with the same generator and drift.
  const std::int64_t extra = rows / 100;
  const std::int64_t next_day = day0 + (rows + per_day - 1) / per_day * 86400;
  if (Status s = WriteSyntheticRows(**data, "synth", extra, features, next_day, per_day, 43, 0.002);
      !s.ok()) {
    throw BenchError(s.message());
  }
  auto registry = Registry::Open(*loaded.config);
  if (!registry.ok()) throw BenchError(registry.message());
  // Each measured run must have taken the decision it stands for, or the figures lie.
  auto expect_kind = [&](const std::string& kind, const fs::path& log) {
    auto prod = (*registry)->Production("synth", "");
    if (!prod.ok() || !*prod || (*prod)->kind != kind) {
      throw BenchError("expected a " + kind + " version; see " + log.string());
    }
    return **prod;
  };
  expect_kind("full", dir.path() / "first.log");
  ProcessCost incremental = RunMeasured(job, {}, dir.path() / "incremental.log");
  const ModelVersion inc = expect_kind("incremental", dir.path() / "incremental.log");
  // The next day: another 1%. The pool is now the last incremental's holdout plus the new
  // rows, which is what a daily incremental retrain costs in steady state.
  if (Status s = WriteSyntheticRows(**data, "synth", extra, features,
                                    next_day + (extra / per_day) * 86400, per_day, 44, 0.002);
      !s.ok()) {
    throw BenchError(s.message());
  }
  ProcessCost daily = RunMeasured(job, {}, dir.path() / "daily.log");
  const ModelVersion daily_version = expect_kind("incremental", dir.path() / "daily.log");
  ProcessCost full = RunMeasured(job, {"MLCRON_FORCE_FULL=1"}, dir.path() / "full.log");
  const ModelVersion full_version = expect_kind("full", dir.path() / "full.log");
  const ModelVersion* prod = &full_version;

  // The raw baseline trains on exactly the rows the forced full job trained on.
  RowFilter filter;
  filter.before = prod->holdout_from;
  auto train =
      LoadDataset(**data, DatasetSpec::FromModel(*loaded.config->FindModel("synth")), filter);
  if (!train.ok()) throw BenchError(train.message());
  if (static_cast<std::int64_t>(train->rows) != prod->rows) {
    throw BenchError("baseline rows differ from the job's: " + std::to_string(train->rows) +
                     " vs " + std::to_string(prod->rows));
  }
  const double raw_s = RawXgboostSeconds(*train, train->rows, rounds, 6, 0.1);

  std::printf("\n| case | measured | target |\n|---|---|---|\n");
  std::printf("| first full retrain job | %.2f s, %.0f MB peak RSS | — |\n", first.wall_s,
              first.max_rss_mb);
  std::printf(
      "| full retrain job after +1%% rows (forced, %lld training rows) | %.2f s, %.0f MB | — |\n",
      static_cast<long long>(prod->rows), full.wall_s, full.max_rss_mb);
  std::printf(
      "| incremental job after +1%% rows (+20 trees on %lld rows) | %.2f s, %.0f MB | — |\n",
      static_cast<long long>(inc.rows), incremental.wall_s, incremental.max_rss_mb);
  std::printf(
      "| next day's incremental job after another +1%% (+20 trees on %lld rows) | %.2f s, %.0f MB "
      "| — |\n",
      static_cast<long long>(daily_version.rows), daily.wall_s, daily.max_rss_mb);
  std::printf("| first incremental vs full: wall | %.1f× faster | ≥ 20× |\n",
              full.wall_s / incremental.wall_s);
  std::printf("| first incremental vs full: peak RSS | %.1f× less | ≥ 4× |\n",
              full.max_rss_mb / incremental.max_rss_mb);
  std::printf("| daily incremental vs full: wall | %.1f× faster | ≥ 20× |\n",
              full.wall_s / daily.wall_s);
  std::printf("| daily incremental vs full: peak RSS | %.1f× less | ≥ 4× |\n",
              full.max_rss_mb / daily.max_rss_mb);
  std::printf("| skip job, median of 11 (min %.1f ms, max %.1f ms) | %.1f ms | ≤ 50 ms |\n",
              skips.front() * 1e3, skips.back() * 1e3, skips[skips.size() / 2] * 1e3);
  std::printf(
      "| full job vs raw XGBoost (%.2f s) on the same rows and params | %.2f× | ≤ 1.25× |\n", raw_s,
      full.wall_s / raw_s);
  return 0;
}

}  // namespace
}  // namespace mlcron::bench

int main(int argc, char** argv) {
  try {
    return mlcron::bench::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "retrain_bench: " << e.what() << "\n";
    return 1;
  }
}
