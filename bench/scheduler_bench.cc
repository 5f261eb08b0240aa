// scheduler_bench: the reproducible scheduler benchmark (issue cases a-e, docs/benchmarks.md).
// Each case writes a config into a scratch directory, runs the real mlcrond (or mlcron
// validate) on it, and reads what bench/recorder wrote. It prints one table; it exits non-zero
// only when something fails to run, never because a target is missed.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_cases.h"
#include "bench/bench_util.h"

namespace mlcron::bench {
namespace {

fs::path SelfDir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw BenchError("cannot read /proc/self/exe: " + ec.message());
  return self.parent_path();
}

void PrintTable(const std::vector<Row>& rows) {
  size_t w_case = 4, w_metric = 6, w_value = 8, w_target = 6;
  for (const Row& r : rows) {
    w_case = std::max(w_case, r.case_id.size());
    w_metric = std::max(w_metric, r.metric.size());
    w_value = std::max(w_value, r.value.size());
    w_target = std::max(w_target, r.target.size());
  }
  const auto line = [&](const std::string& c, const std::string& m, const std::string& v,
                        const std::string& t, const std::string& ok, const std::string& note) {
    std::printf("%-*s  %-*s  %*s  %-*s  %-4s  %s\n", static_cast<int>(w_case), c.c_str(),
                static_cast<int>(w_metric), m.c_str(), static_cast<int>(w_value), v.c_str(),
                static_cast<int>(w_target), t.c_str(), ok.c_str(), note.c_str());
  };
  line("case", "metric", "measured", "target", "met", "notes");
  for (const Row& r : rows) {
    line(r.case_id, r.metric, r.value, r.target.empty() ? "-" : r.target,
         r.target.empty() ? "" : (r.met ? "yes" : "NO"), r.note);
  }
}

}  // namespace
}  // namespace mlcron::bench

int main(int argc, char** argv) {
  using namespace mlcron::bench;
  Options options;
  std::string cases = "abcde";
  CLI::App app{"scheduler_bench: mlcron's scheduler benchmark (docs/benchmarks.md)"};
  app.add_flag("--quick", options.quick, "shorten (a) to 20 s, (b) to 2 rounds, (c)/(d) to 20 s");
  app.add_option("--cases", cases, "which cases to run, e.g. \"ad\"")->capture_default_str();
  app.add_option("--b-rounds", options.b_rounds, "case (b) rounds (default 4, quick 2)");
  app.add_flag("--strace", options.strace,
               "case (d): also count epoll_wait calls with strace over a second window");
  app.add_flag("--keep", options.keep, "keep the scratch directories");
  app.add_flag("--host-pid-ns", options.host_pid_ns,
               "run mlcrond in the host's PID namespace; its job exits may then SIGKILL other "
               "daemons' jobs with the same run id (see docs/benchmarks.md)");
  app.add_option("--bin-dir", options.bin_dir,
                 "build directory holding daemon/mlcrond, cli/mlcron, bench/recorder");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  for (char c : cases) {
    if (c < 'a' || c > 'e') {
      std::fprintf(stderr, "scheduler_bench: unknown case '%c'\n", c);
      return 2;
    }
  }

  std::vector<Row> rows;
  try {
    const fs::path build = options.bin_dir.empty() ? SelfDir().parent_path() : options.bin_dir;
    options.mlcrond = build / "daemon" / "mlcrond";
    options.mlcron = build / "cli" / "mlcron";
    options.recorder = build / "bench" / "recorder";
    for (const fs::path& p : {options.mlcrond, options.mlcron, options.recorder}) {
      if (access(p.c_str(), X_OK) != 0) throw BenchError(p.string() + " is not executable");
    }
    std::printf("scheduler_bench: %s run, cases %s, nproc %ld, load %s, mlcrond in %s\n",
                options.quick ? "quick" : "full", cases.c_str(), sysconf(_SC_NPROCESSORS_ONLN),
                LoadAverage().c_str(),
                options.host_pid_ns ? "the host PID namespace" : "a private PID namespace");
    std::fflush(stdout);
    const std::map<char, void (*)(const Options&, std::vector<Row>*)> runners = {
        {'a', RunCaseA}, {'b', RunCaseB}, {'c', RunCaseC}, {'d', RunCaseD}, {'e', RunCaseE}};
    for (char c : cases) {
      const std::string before = LoadAverage();
      const std::int64_t t0 = MonotonicNs();
      runners.at(c)(options, &rows);
      std::printf("  case (%c) done in %.1f s; load before %s, after %s\n", c,
                  static_cast<double>(MonotonicNs() - t0) / 1e9, before.c_str(),
                  LoadAverage().c_str());
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scheduler_bench: error: %s\n", e.what());
    if (!rows.empty()) PrintTable(rows);
    return 1;
  }
  std::printf("\n");
  PrintTable(rows);
  return 0;
}
