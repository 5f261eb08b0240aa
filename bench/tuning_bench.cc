// bench/tuning: the tuning engine's targets of issue 6, in process through RunStudy.
//   (a) TPE vs random search on the football example's `result` model, one league, without
//       pruning: best CV log loss after N trials over several seeds.
//   (b) RunStudy's wall time vs its time inside XGBoost on 1M synthetic rows, with where the
//       rest goes (loading, storing trials, the work between folds).
//   (c) median pruning vs none on the football study: wall time, trainings saved, the score.
//
//   tuning_bench [--cases abc] [--quick] [--seeds N] [--prune-seeds N] [--trials N]
//                [--segment LEAGUE] [--example DIR] [--rows N] [--rounds R]
//                [--synthetic-trials N] [--threads T] [--keep]
#include <fmt/core.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/synthetic_data.h"
#include "daemon/config_loader.h"
#include "jobs/dataset.h"
#include "jobs/features_job.h"
#include "jobs/import_job.h"
#include "jobs/job_context.h"
#include "jobs/registry.h"
#include "jobs/time_series_split.h"
#include "jobs/trainer.h"
#include "jobs/tuning_cv.h"
#include "jobs/tuning_store.h"
#include "jobs/tuning_study.h"
#include "jobs/xgb_booster.h"

namespace mlcron::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The usual median (mean of the two middle values for an even count), not bench_util's
// nearest rank: with 10 seeds the difference matters.
double MidMedian(std::vector<double> v) {
  if (v.empty()) throw BenchError("median of an empty sample");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// A loaded config, its data database and the tuning store in its state database.
struct Pipeline {
  std::shared_ptr<const Config> config;
  std::unique_ptr<SqliteDb> data;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<TuningStore> store;
};

Pipeline Open(const fs::path& config_file) {
  Pipeline p;
  LoadResult loaded = LoadConfigFile(config_file.string());
  if (!loaded.ok()) throw BenchError(loaded.ErrorText());
  p.config = loaded.config;
  auto data = OpenDataDb(*p.config);
  if (!data.ok()) throw BenchError(data.message());
  p.data = std::move(*data);
  auto registry = Registry::Open(*p.config);  // applies the state migrations
  if (!registry.ok()) throw BenchError(registry.message());
  p.registry = std::move(*registry);
  p.store = std::make_unique<TuningStore>(p.registry->db());
  return p;
}

// One RunStudy with its wall time and, from on_trial, the instant each trial was stored.
struct Timed {
  StudyOutcome out;
  double wall_s = 0;
  double cpu_s = 0;                 // the process's user + system time (all threads)
  std::vector<double> stored_at_s;  // since the call
};

double ProcessCpuSeconds() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

Timed Study(Pipeline& p, const ModelConfig& model, const std::string& segment,
            TuningConfig::Method method, int trials, std::uint64_t seed) {
  StudyRequest r;
  if (!segment.empty()) {
    r.segment = segment;
    r.segment_value = SqlValue::Text(segment);
  }
  r.method = method;
  r.trials = trials;
  r.seed = seed;
  r.now = std::chrono::duration_cast<std::chrono::seconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  r.actor = "tuning_bench";
  Timed t;
  const double cpu0 = ProcessCpuSeconds();
  const auto start = Clock::now();
  r.on_trial = [&](const StudyRecord&, const TrialRecord&) {
    t.stored_at_s.push_back(Since(start));
  };
  Result<StudyOutcome> out = RunStudy(model, *p.data, *p.store, r);
  t.wall_s = Since(start);
  t.cpu_s = ProcessCpuSeconds() - cpu0;
  if (!out.ok()) throw BenchError(out.message());
  if (!out->best)
    throw BenchError("study " + std::to_string(out->study.id) + ": no trial completed");
  for (const TrialRecord& tr : out->trials) {
    if (tr.state == "failed")
      throw BenchError("trial " + std::to_string(tr.number) + ": " + tr.error);
  }
  t.out = std::move(*out);
  return t;
}

int FoldsRun(const StudyOutcome& o) {
  int n = 0;
  for (const TrialRecord& t : o.trials) n += static_cast<int>(t.fold_scores.size());
  return n;
}

// ---- the football example -----------------------------------------------------------------

// Copies the example's own files into `dir` and builds its data by running its import and
// features jobs in process, as `mlcron job import|features` would on 2017-06-01.
ModelConfig FootballModel(const fs::path& example, const fs::path& dir, Pipeline* out) {
  for (const char* file : {"mlcron.yaml", "features.sql", "data/matches.csv"}) {
    fs::create_directories((dir / file).parent_path());
    fs::copy_file(example / file, dir / file);
  }
  fs::permissions(dir / "mlcron.yaml", fs::perms::owner_read | fs::perms::owner_write);
  *out = Open(dir / "mlcron.yaml");
  using namespace std::chrono;
  const sys_seconds day = sys_days(year(2017) / June / 1);
  for (const auto& [job, at] :
       {std::pair{"import", hours(9) + minutes(45)}, std::pair{"form", hours(9) + minutes(50)}}) {
    std::ostringstream log;
    JobContext ctx;
    ctx.config = out->config;
    ctx.job = out->config->FindJob(job);
    if (ctx.job == nullptr) throw BenchError(std::string("example has no job ") + job);
    ctx.scheduled = day + at;
    ctx.now = ctx.scheduled;
    ctx.out = &log;
    const int rc = std::string(job) == "import" ? RunImportJob(ctx) : RunFeaturesJob(ctx);
    if (rc != 0) throw BenchError(std::string(job) + ": " + log.str());
  }
  const ModelConfig* model = out->config->FindModel("result");
  if (model == nullptr || !model->tuning) throw BenchError("example: model result has no tuning:");
  return *model;
}

// The config's own params scored by the same cross-validation, for scale; *rows_out: the
// segment's labelled rows.
double ConfigParamsScore(Pipeline& p, const ModelConfig& model, const std::string& segment,
                         size_t* rows_out) {
  RowFilter filter;
  filter.segment = SqlValue::Text(segment);
  Result<Dataset> rows = LoadDataset(*p.data, DatasetSpec::FromModel(model), filter);
  if (!rows.ok()) throw BenchError(rows.message());
  *rows_out = rows->rows;
  const TuningConfig& t = *model.tuning;
  Result<std::vector<Fold>> folds =
      TimeSeriesSplitByTime(rows->time, {t.folds, t.test_size, t.gap, t.max_train_size});
  if (!folds.ok()) throw BenchError(folds.message());
  Result<std::vector<double>> scores = CrossValidate(model, *rows, *folds, model.metric, nullptr);
  if (!scores.ok()) throw BenchError(scores.message());
  double sum = 0;
  for (double s : *scores) sum += s;
  return sum / static_cast<double>(scores->size());
}

struct FootballArgs {
  std::string segment;
  int seeds = 0, prune_seeds = 0, trials = 0;
};

void FootballCases(const fs::path& example, const fs::path& dir, const FootballArgs& a, bool run_a,
                   bool run_c, std::vector<std::string>* summary) {
  Pipeline p;
  ModelConfig model = FootballModel(example, dir, &p);
  // (a) and the unpruned side of (c) run without pruning: a pruned trial's value is a running
  // mean over fewer folds, and pruning changes which trials TPE learns from.
  ModelConfig unpruned = model;
  unpruned.tuning->prune = TuningConfig::Prune::kNone;
  ModelConfig pruned = model;
  pruned.tuning->prune = TuningConfig::Prune::kMedian;
  size_t rows = 0;
  const double reference = ConfigParamsScore(p, model, a.segment, &rows);
  std::printf(
      "\nfootball: model result, segment %s (%zu labelled rows), %d trials, %d folds by time; "
      "the config's own params score %.4f\n",
      a.segment.c_str(), rows, a.trials, model.tuning->folds, reference);

  std::map<std::uint64_t, double> tpe_best;  // (a)'s, to check (c)'s rerun against
  if (run_a) {
    // "#": the trial (0-based) that found the best; trials 0-9 are TPE's random start-up.
    std::printf(
        "\n(a) best CV log loss, prune none\n\n| seed | random | # | tpe | # | tpe − random | "
        "random s (CPU) | tpe s (CPU) |\n|---|---|---|---|---|---|---|---|\n");
    std::vector<double> rnd, tpe;
    int tpe_wins = 0, ties = 0;
    for (int s = 1; s <= a.seeds; ++s) {
      const auto seed = static_cast<std::uint64_t>(s);
      Timed r = Study(p, unpruned, a.segment, TuningConfig::Method::kRandom, a.trials, seed);
      Timed t = Study(p, unpruned, a.segment, TuningConfig::Method::kTpe, a.trials, seed);
      tpe_best[seed] = *t.out.best->value;
      const double rv = *r.out.best->value, tv = *t.out.best->value;
      rnd.push_back(rv);
      tpe.push_back(tv);
      tpe_wins += tv < rv;
      ties += tv == rv;
      std::printf("| %d | %.4f | %d | %.4f | %d | %+.4f | %.1f (%.1f) | %.1f (%.1f) |\n", s, rv,
                  r.out.best->number, tv, t.out.best->number, tv - rv, r.wall_s, r.cpu_s, t.wall_s,
                  t.cpu_s);
      std::fflush(stdout);
    }
    const double mr = MidMedian(rnd), mt = MidMedian(tpe);
    std::printf("| median | %.4f | | %.4f | | %+.4f | | |\n", mr, mt, mt - mr);
    summary->push_back(fmt::format(
        "| (a) median best CV log loss after {} trials over {} seeds, {}, prune none | TPE "
        "{:.4f} vs random {:.4f} (TPE lower on {}, equal on {} of {} seeds; the config's params "
        "{:.4f}) | TPE better: {} |",
        a.trials, a.seeds, a.segment, mt, mr, tpe_wins, ties, a.seeds, reference,
        mt < mr ? "yes" : "NO"));
  }

  if (run_c) {
    // Each pair runs back to back, so that both see the same load on a shared machine.
    std::printf(
        "\n(c) TPE, median pruning vs none\n\n| seed | none best | median best | cost | none "
        "s | median s | none CPU s | median CPU s | folds none | folds median | pruned trials "
        "|\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    double wall[2] = {0, 0}, cpu[2] = {0, 0};
    int folds[2] = {0, 0};
    std::vector<double> costs;
    for (int s = 1; s <= a.prune_seeds; ++s) {
      const auto seed = static_cast<std::uint64_t>(s);
      Timed n = Study(p, unpruned, a.segment, TuningConfig::Method::kTpe, a.trials, seed);
      if (tpe_best.count(seed) && tpe_best[seed] != *n.out.best->value) {
        throw BenchError(fmt::format("seed {}: best {} differs from (a)'s {}", seed,
                                     *n.out.best->value, tpe_best[seed]));
      }
      Timed m = Study(p, pruned, a.segment, TuningConfig::Method::kTpe, a.trials, seed);
      int pruned_trials = 0;
      for (const TrialRecord& t : m.out.trials) pruned_trials += t.state == "pruned";
      costs.push_back(*m.out.best->value - *n.out.best->value);
      int i = 0;
      for (const Timed* t : {&n, &m}) {
        wall[i] += t->wall_s;
        cpu[i] += t->cpu_s;
        folds[i++] += FoldsRun(t->out);
      }
      std::printf("| %d | %.4f | %.4f | %+.4f | %.1f | %.1f | %.1f | %.1f | %d | %d | %d |\n", s,
                  *n.out.best->value, *m.out.best->value, costs.back(), n.wall_s, m.wall_s, n.cpu_s,
                  m.cpu_s, FoldsRun(n.out), FoldsRun(m.out), pruned_trials);
      std::fflush(stdout);
    }
    std::printf("| total | | | median %+.4f | %.1f | %.1f | %.1f | %.1f | %d | %d | |\n",
                MidMedian(costs), wall[0], wall[1], cpu[0], cpu[1], folds[0], folds[1]);
    summary->push_back(fmt::format(
        "| (c) TPE with median pruning vs none, {} seeds | wall {:.1f} s vs {:.1f} s ({:.0f}% "
        "saved), CPU {:.0f}% saved, fold trainings {} vs {} ({:.0f}% saved); best value cost: "
        "median {:+.4f}, worst {:+.4f} | measured |",
        a.prune_seeds, wall[1], wall[0], 100 * (1 - wall[1] / wall[0]), 100 * (1 - cpu[1] / cpu[0]),
        folds[1], folds[0], 100 * (1 - static_cast<double>(folds[1]) / folds[0]), MidMedian(costs),
        *std::max_element(costs.begin(), costs.end())));
  }
}

// ---- the synthetic 1M-row set -------------------------------------------------------------

struct SyntheticArgs {
  std::int64_t rows = 0;
  int rounds = 0, trials = 0, folds = 0, threads = 0;
};

std::string SyntheticYaml(const fs::path& dir, const SyntheticArgs& a) {
  std::string features;
  for (int i = 0; i < 20; ++i) features += (i ? ", f" : "f") + std::to_string(i);
  return fmt::format(R"(state_dir: {}
data: {}
tiers:
  - tier: 4.5
    name: retrain
    at: "09:52"
    jobs:
      - {{name: retrain_synth, kind: retrain, model: synth}}
models:
  synth:
    table: synth
    key: id
    time: day
    label: label
    features: [{}]
    objective: binary:logistic
    params: {{max_depth: 6, eta: 0.1, nthread: {}}}
    rounds: {}
    min_rows: 1000
    incremental: {{rounds: 20, min_new_rows: 10000, max_chain: 12}}
    holdout: {{fraction: 0.2, min_rows: 500}}
    tuning:
      method: random
      trials: {}
      folds: {}
      by: time
      seed: 1
      space:
        max_depth: {{int: [3, 8]}}
        eta: {{float: [0.05, 0.3], log: true}}
        min_child_weight: {{float: [1, 100], log: true}}
)",
                     (dir / "state").string(), (dir / "data.db").string(), features, a.threads,
                     a.rounds, a.trials, a.folds);
}

void SyntheticCase(const fs::path& dir, const SyntheticArgs& a, std::vector<std::string>* summary) {
  WriteFile0600(dir / "mlcron.yaml", SyntheticYaml(dir, a));
  Pipeline p = Open(dir / "mlcron.yaml");
  auto t0 = Clock::now();
  if (Status s = WriteSyntheticRows(*p.data, "synth", a.rows, 20, 1577836800, 1000, 42, 0.002);
      !s.ok()) {
    throw BenchError(s.message());
  }
  std::printf("\n(b) generated %lld rows × 20 features in %.1f s\n", static_cast<long long>(a.rows),
              Since(t0));
  const ModelConfig& model = *p.config->FindModel("synth");

  // As the retrain job leaves it. Without the index LoadDataset sorts (docs/benchmarks.md,
  // bench/dataset), and RunStudy does not create it.
  bool created = false;
  if (Status s = EnsureSegmentTimeIndex(*p.data, DatasetSpec::FromModel(model), &created);
      !s.ok()) {
    throw BenchError(s.message());
  }
  // The study's first step on its own, same call and filter: what loading and the split cost.
  t0 = Clock::now();
  Result<Dataset> rows = LoadDataset(*p.data, DatasetSpec::FromModel(model), RowFilter{});
  if (!rows.ok()) throw BenchError(rows.message());
  const double load_s = Since(t0);
  t0 = Clock::now();
  Result<std::vector<Fold>> folds =
      TimeSeriesSplitByTime(rows->time, {model.tuning->folds, model.tuning->test_size,
                                         model.tuning->gap, model.tuning->max_train_size});
  if (!folds.ok()) throw BenchError(folds.message());
  const double split_s = Since(t0);
  std::int64_t trained_rows = 0;
  // The fold matrices alone, as CrossValidate builds them (again in every trial).
  const int threads = ParamThreads(TrainingParams(model, 0));
  t0 = Clock::now();
  for (const Fold& f : *folds) {
    const auto n = static_cast<size_t>(f.train_end - f.train_begin);
    trained_rows += static_cast<std::int64_t>(n);
    Result<XgbMatrix> m = XgbMatrix::FromDense(
        std::span<const float>(rows->x.data() + f.train_begin * rows->cols, n * rows->cols), n,
        rows->cols, std::span<const float>(rows->y.data() + f.train_begin, n), threads);
    if (!m.ok()) throw BenchError(m.message());
  }
  const double matrices_s = Since(t0);
  *rows = Dataset{};  // free it before the study loads its own

  Timed t = Study(p, model, "", TuningConfig::Method::kRandom, a.trials, 1);
  double in_trials = 0;
  for (const TrialRecord& tr : t.out.trials) in_trials += tr.duration_s;
  // A trial's duration_s ends before AddTrial; on_trial fires after it. The gap between two
  // consecutive callbacks minus the later trial's duration is therefore one AddTrial.
  std::vector<double> stores;
  for (size_t i = 1; i < t.stored_at_s.size(); ++i) {
    stores.push_back(t.stored_at_s[i] - t.stored_at_s[i - 1] - t.out.trials[i].duration_s);
  }
  const double store_each = stores.empty() ? 0 : MidMedian(stores);
  const double setup = t.stored_at_s.front() - t.out.trials.front().duration_s - store_each;
  const double finish = t.wall_s - t.stored_at_s.back();
  const double ratio = t.wall_s / t.out.train_seconds;
  auto row = [&](const char* what, double s) {
    std::printf("| %s | %.2f | %.1f%% |\n", what, s, 100 * s / t.wall_s);
  };
  std::printf(
      "\n%lld rows, random search, %d trials × %d folds by time (%lld training rows a "
      "trial), %d rounds, nthread %d\n\n| step | s | share of wall |\n|---|---|---|\n",
      static_cast<long long>(a.rows), a.trials, a.folds, static_cast<long long>(trained_rows),
      a.rounds, a.threads);
  row("RunStudy wall", t.wall_s);
  row("RunStudy CPU (process, all threads)", t.cpu_s);
  row("inside XGBoost (StudyOutcome::train_seconds: matrix, boosting, prediction)",
      t.out.train_seconds);
  row("  of which the fold matrices (XgbMatrix::FromDense) timed alone, × trials",
      matrices_s * a.trials);
  row("before the first trial (LoadDataset, split, CreateStudy)", setup);
  row("  of which LoadDataset, timed alone just before", load_s);
  row("  of which TimeSeriesSplitByTime, timed alone", split_s);
  row("in trials outside XGBoost (sampler, params, metrics)", in_trials - t.out.train_seconds);
  row("storing trials (AddTrial, all trials)", store_each * static_cast<double>(a.trials));
  row("after the last trial (best, FinishStudy)", finish);
  std::printf("| wall / train_seconds | %.3f× | |\n", ratio);
  summary->push_back(fmt::format(
      "| (b) RunStudy wall vs time inside XGBoost, {} rows, {} trials × {} folds, {} rounds | "
      "{:.1f} s / {:.1f} s = {:.3f}× (LoadDataset {:.1f} s) | ≤ 1.10×: {} |",
      a.rows, a.trials, a.folds, a.rounds, t.wall_s, t.out.train_seconds, ratio, load_s,
      ratio <= 1.10 ? "yes" : "NO"));
}

int Main(int argc, char** argv) {
  CLI::App app{"tuning benchmark (issue 6)"};
  std::string cases = "abc";
  bool quick = false, keep = false;
  FootballArgs fa{"English Premier League", 10, 5, 30};
  SyntheticArgs sa{1000000, 20, 5, 3, 1};
  std::string example = MLCRON_SOURCE_DIR "/config/examples/football";
  app.add_option("--cases", cases, "which of a, b, c to run");
  app.add_flag("--quick", quick, "2 seeds, 15 trials, 200,000 synthetic rows");
  app.add_option("--seeds", fa.seeds, "(a): seeds 1..N per method");
  app.add_option("--prune-seeds", fa.prune_seeds, "(c): seeds 1..N per pruner");
  app.add_option("--trials", fa.trials, "football trials per study");
  app.add_option("--segment", fa.segment, "football league (division)");
  app.add_option("--example", example, "the football example folder");
  app.add_option("--rows", sa.rows, "(b): synthetic rows");
  app.add_option("--rounds", sa.rounds, "(b): boosting rounds");
  app.add_option("--synthetic-trials", sa.trials, "(b): trials");
  app.add_option("--threads", sa.threads, "(b): XGBoost nthread");
  app.add_flag("--keep", keep, "keep the scratch folders");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    // 15 trials, not fewer: TPE's first 10 are its random start-up, the same draws as random
    // search's for the same seed, so shorter studies cannot tell the methods apart.
    fa.seeds = std::min(fa.seeds, 2);
    fa.prune_seeds = std::min(fa.prune_seeds, 2);
    fa.trials = std::min(fa.trials, 15);
    sa.rows = std::min<std::int64_t>(sa.rows, 200000);
  }

  std::vector<std::string> summary;
  const auto start = Clock::now();
  const bool a = cases.find('a') != std::string::npos, c = cases.find('c') != std::string::npos;
  if (a || c) {
    ScratchDir dir("tuning-football", keep);
    FootballCases(example, dir.path(), fa, a, c, &summary);
  }
  if (cases.find('b') != std::string::npos) {
    ScratchDir dir("tuning-synthetic", keep);
    SyntheticCase(dir.path(), sa, &summary);
  }
  std::printf("\n| case | measured | target |\n|---|---|---|\n");
  for (const std::string& line : summary) std::printf("%s\n", line.c_str());
  std::printf("\ntotal %.0f s, load average %s\n", Since(start), LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace mlcron::bench

int main(int argc, char** argv) {
  try {
    return mlcron::bench::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "tuning_bench: " << e.what() << "\n";
    return 1;
  }
}
