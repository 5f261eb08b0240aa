// dataset_bench: how fast LoadDataset reads a model's rows into float buffers, and how fast
// the skip path's CountRows is with the (segment, time) index (docs/benchmarks.md). It writes
// synthetic rows into a scratch data database, then times each step; it prints one Markdown
// table and exits non-zero only when a step fails, never because a target is missed.
#include <date/date.h>
#include <fmt/format.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/synthetic_data.h"
#include "jobs/dataset.h"

namespace mlcron::bench {
namespace {

struct Options {
  std::int64_t rows = 1'000'000;
  int features = 20;
  int rows_per_day = 1000;
  int repeat = 3;
  bool keep = false;
};

constexpr std::int64_t kStartUnix = 1'500'000'000;  // 2017-07-14

struct Line {
  std::string metric;
  std::string value;
  std::string target;  // "" for context rows
  bool met = false;
};

double Seconds(std::int64_t ns) { return static_cast<double>(ns) / 1e9; }

// This process's CPU time (user + system). The machine is shared, so wall time alone would
// mostly measure the neighbours.
std::int64_t CpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

template <typename T>
T Check(Result<T> r, const std::string& what) {
  if (!r.ok()) throw BenchError(what + ": " + r.message());
  return std::move(*r);
}

void Check(const Status& s, const std::string& what) {
  if (!s.ok()) throw BenchError(what + ": " + s.message());
}

struct Timing {
  double wall = 0;  // seconds
  double cpu = 0;
  std::string Show(double scale = 1, const char* unit = "s", int digits = 3) const {
    return fmt::format("{:.{}f} {} (CPU {:.{}f} {})", wall * scale, digits, unit, cpu * scale,
                       digits, unit);
  }
};

// The run with the median wall time among `repeat` calls.
Timing Median(int repeat, const std::function<void()>& body) {
  std::vector<Timing> runs;
  for (int i = 0; i < repeat; ++i) {
    const std::int64_t wall = MonotonicNs();
    const std::int64_t cpu = CpuNs();
    body();
    runs.push_back({Seconds(MonotonicNs() - wall), Seconds(CpuNs() - cpu)});
  }
  std::sort(runs.begin(), runs.end(),
            [](const Timing& a, const Timing& b) { return a.wall < b.wall; });
  return runs[runs.size() / 2];
}

DatasetSpec Spec(const Options& opt, bool segmented) {
  DatasetSpec spec;
  spec.table = "rows";
  spec.key = "id";
  spec.time = "day";
  spec.label = "label";
  for (int j = 0; j < opt.features; ++j) spec.features.push_back("f" + std::to_string(j));
  if (segmented) spec.segment_by = "seg";
  return spec;
}

std::vector<Line> Run(const Options& opt) {
  ScratchDir dir("dataset", opt.keep);
  const std::string path = (dir.path() / "data.db").string();
  auto db = Check(SqliteDb::Open(path, "data database", std::chrono::seconds(30)), "open");
  // As OpenDataDb sets them.
  Check(db->Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL"), "pragmas");
  std::vector<Line> lines;
  const auto context = [&](std::string metric, std::string value) {
    lines.push_back({std::move(metric), std::move(value), "", false});
  };
  const auto target = [&](std::string metric, const Timing& t, double limit, std::string text) {
    lines.push_back({std::move(metric), t.Show(), std::move(text), t.wall <= limit});
  };
  const std::string size = fmt::format("{} × {}", opt.rows, opt.features);

  const Timing gen = Median(1, [&] {
    Check(WriteSyntheticRows(*db, "rows", opt.rows, opt.features, kStartUnix, opt.rows_per_day, 42,
                             0.01),
          "generate");
  });
  context("generate " + size + " (one transaction)", gen.Show(1, "s", 2));
  context("generate rate", fmt::format("{:.0f} rows/s", opt.rows / gen.wall));

  size_t loaded = 0;
  const auto load = [&](const DatasetSpec& spec, const RowFilter& filter) {
    loaded = Check(LoadDataset(*db, spec, filter), "load").rows;
  };
  const DatasetSpec all = Spec(opt, false);
  Median(1, [&] { load(all, {}); });  // warms the page cache
  const Timing sorted = Median(opt.repeat, [&] { load(all, {}); });
  context("load all " + size + ", no index (SQLite sorts)", sorted.Show());

  bool created = false;
  const Timing index_all =
      Median(1, [&] { Check(EnsureSegmentTimeIndex(*db, all, &created), "index"); });
  context("create index (day, id, label)", index_all.Show(1, "s", 2));
  const Timing indexed = Median(opt.repeat, [&] { load(all, {}); });
  target("load all " + size + ", index (day, id, label)", indexed, 1.5, "≤ 1.5 s");
  context("load rate", fmt::format("{:.0f} rows/s (CPU {:.0f} rows/s)", loaded / indexed.wall,
                                   loaded / indexed.cpu));

  // Per-segment models: the index leads with the segment column.
  const DatasetSpec segmented = Spec(opt, true);
  Check(db->Exec("DROP INDEX rows_mlcron_seg_time"), "drop index");
  const Timing index_seg =
      Median(1, [&] { Check(EnsureSegmentTimeIndex(*db, segmented, &created), "index"); });
  context("create index (seg, day, id, label)", index_seg.Show(1, "s", 2));
  RowFilter one_segment;
  one_segment.segment = SqlValue::Text("s0");
  const Timing seg = Median(opt.repeat, [&] { load(segmented, one_segment); });
  context(fmt::format("load one segment ({} rows)", loaded), seg.Show());

  // The skip path: labelled rows of one segment after a watermark 10 days before the end.
  const std::int64_t days = (opt.rows + opt.rows_per_day - 1) / opt.rows_per_day;
  RowFilter recent = one_segment;
  recent.after = SqlValue::Text(
      date::format("%F", date::sys_days(date::days(kStartUnix / 86400 + days - 10))));
  std::int64_t count = 0;
  const Timing count_recent =
      Median(21, [&] { count = Check(CountRows(*db, segmented, recent), "count"); });
  lines.push_back({fmt::format("CountRows, 1 segment, last 10 days ({} rows)", count),
                   count_recent.Show(1e3, "ms"), "≤ 50 ms", count_recent.wall <= 0.05});
  const Timing count_seg =
      Median(5, [&] { count = Check(CountRows(*db, segmented, one_segment), "count"); });
  context(fmt::format("CountRows, 1 segment, all days ({} rows)", count),
          count_seg.Show(1e3, "ms"));
  return lines;
}

void Print(const std::vector<Line>& lines) {
  std::printf("| metric | measured | target | met |\n|---|---:|---|---|\n");
  for (const Line& l : lines) {
    std::printf("| %s | %s | %s | %s |\n", l.metric.c_str(), l.value.c_str(),
                l.target.empty() ? "" : l.target.c_str(),
                l.target.empty() ? "" : (l.met ? "yes" : "NO"));
  }
}

}  // namespace
}  // namespace mlcron::bench

int main(int argc, char** argv) {
  mlcron::bench::Options opt;
  CLI::App app("Dataset loading benchmark (docs/benchmarks.md)");
  app.add_option("--rows", opt.rows, "rows to generate")->check(CLI::PositiveNumber);
  app.add_option("--features", opt.features, "feature columns")->check(CLI::PositiveNumber);
  app.add_option("--rows-per-day", opt.rows_per_day, "rows per day")->check(CLI::PositiveNumber);
  app.add_option("--repeat", opt.repeat, "timed loads per case (median)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--keep", opt.keep, "keep the scratch directory");
  CLI11_PARSE(app, argc, argv);
  try {
    mlcron::bench::Print(mlcron::bench::Run(opt));
  } catch (const mlcron::bench::BenchError& e) {
    std::fprintf(stderr, "dataset_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
