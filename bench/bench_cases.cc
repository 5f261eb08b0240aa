#include "bench/bench_cases.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include <cerrno>
#include <fstream>
#include <map>

#include "bench/bench_util.h"

namespace mlcron::bench {
namespace {

constexpr std::int64_t kNsPerS = 1'000'000'000;
// Instants closer than this to the daemon's start are left out: they measure start-up.
constexpr std::int64_t kWarmupS = 2;

// Every config shares this head. catchup: none, so a fresh state never runs anything at start.
std::string Header(const fs::path& dir, int max_parallel) {
  return fmt::format(
      "timezone: UTC\n"
      "state_dir: \"{0}/state\"\n"
      "log_dir: \"{0}/state/logs\"\n"
      "max_parallel: {1}\n"
      "defaults: {{timeout: 1m, retries: 0, overlap: skip, catchup: none}}\n"
      "tiers:\n",
      dir.string(), max_parallel);
}

fs::path WriteConfig(const ScratchDir& dir, const std::string& text) {
  const fs::path path = dir.path() / "mlcron.yaml";
  WriteFile0600(path, text);
  return path;
}

std::string IsoUtc(std::int64_t unix_s) {
  const time_t t = unix_s;
  tm parts{};
  gmtime_r(&t, &parts);
  char text[32];
  strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

// The first multiple of step_s seconds at least kWarmupS after t_ns.
std::int64_t FirstInstant(std::int64_t t_ns, std::int64_t step_s) {
  const std::int64_t earliest = t_ns / kNsPerS + kWarmupS + 1;
  return (earliest + step_s - 1) / step_s * step_s;
}

std::string Ms(double us) { return fmt::format("{:.2f} ms", us / 1000.0); }

Row Context(const std::string& c, const std::string& metric, const std::string& value,
            const std::string& note = "") {
  return Row{c, metric, value, "", false, note};
}

Row Judged(const std::string& c, const std::string& metric, double value_us, double target_us,
           const std::string& note = "") {
  return Row{c, metric, Ms(value_us), "<= " + Ms(target_us), value_us <= target_us, note};
}

std::vector<double> LatenessOf(const std::vector<Record>& records, const std::string& job,
                               std::int64_t first, std::int64_t end) {
  std::vector<double> us;
  for (const Record& r : records) {
    if (r.job == job && r.scheduled_unix >= first && r.scheduled_unix < end) {
      us.push_back(static_cast<double>(r.lateness_us));
    }
  }
  return us;
}

}  // namespace

void RunCaseA(const Options& options, std::vector<Row>* rows) {
  const int seconds = options.quick ? 20 : 120;
  ScratchDir dir("a", options.keep);
  const fs::path out = dir.path() / "records.csv";
  const fs::path config = WriteConfig(
      dir, Header(dir.path(), 4) + fmt::format(R"(  - tier: 1
    name: ticker
    every: 1s
    jobs:
      - name: tick
        argv: ["{}", "{}"]
)",
                                               options.recorder.string(), out.string()));
  Daemon daemon(options.mlcrond, config, dir.path() / "state", dir.path() / "daemon.log",
                !options.host_pid_ns);
  daemon.WaitReady(std::chrono::seconds(10));
  const std::int64_t first = FirstInstant(daemon.started_ns(), 1);
  const std::int64_t end = first + seconds;
  const ProcSample before = ReadProc(daemon.pid());
  // The floor: the same recorder started by posix_spawn from a clock_nanosleep, half a second
  // after each of the daemon's instants, so the two never compete for a core.
  for (std::int64_t s = first; s < end; ++s) {
    SleepUntilRealtimeNs(s * kNsPerS + kNsPerS / 2);
    const pid_t pid = Spawn({options.recorder.string(), out.string()}, "",
                            {"MLCRON_SCHEDULED=" + IsoUtc(s), "MLCRON_JOB=baseline"});
    if (const int code = WaitExit(pid, std::chrono::seconds(5)); code != 0) {
      throw BenchError("baseline recorder exited with " + std::to_string(code));
    }
  }
  SleepUntilRealtimeNs((end + 1) * kNsPerS);
  const ProcSample after = ReadProc(daemon.pid());
  daemon.Stop();

  const auto records = ReadRecords(out);
  const auto lateness = LatenessOf(records, "tick", first, end);
  std::vector<double> baseline;
  for (double us : LatenessOf(records, "baseline", first, end)) baseline.push_back(us - 500'000);
  if (lateness.empty() || baseline.empty()) throw BenchError("case (a) recorded nothing");
  const std::string n = fmt::format("n={}/{}", lateness.size(), seconds);
  rows->push_back(Judged("(a)", "lateness p50", Percentile(lateness, 50), 5000, n));
  rows->push_back(Judged("(a)", "lateness p99", Percentile(lateness, 99), 5000, n));
  rows->push_back(Judged("(a)", "lateness max", Percentile(lateness, 100), 5000, n));
  rows->push_back(Context("(a)", "direct posix_spawn p50/p99",
                          Ms(Percentile(baseline, 50)) + " / " + Ms(Percentile(baseline, 99)),
                          "same recorder, same run: the floor"));
  rows->push_back(Context(
      "(a)", "ratio daemon/direct p50",
      fmt::format("{:.1f}x", Percentile(lateness, 50) / std::max(1.0, Percentile(baseline, 50)))));
  rows->push_back(Context("(a)", "daemon CPU per run",
                          Ms((after.cpu_s - before.cpu_s) * 1e6 / seconds),
                          "utime+stime over the window / runs (10 ms tick)"));
}

void RunCaseB(const Options& options, std::vector<Row>* rows) {
  const int rounds = options.b_rounds > 0 ? options.b_rounds : (options.quick ? 2 : 4);
  constexpr int kJobs = 100;
  ScratchDir dir("b", options.keep);
  const fs::path out = dir.path() / "records.csv";
  std::string text = Header(dir.path(), kJobs) +
                     "  - tier: 1\n    name: burst\n"
                     "    every: 10s\n    jobs:\n";
  for (int j = 0; j < kJobs; ++j) {
    text += fmt::format("      - name: j{:03}\n        argv: [\"{}\", \"{}\"]\n", j,
                        options.recorder.string(), out.string());
  }
  const fs::path config = WriteConfig(dir, text);
  Daemon daemon(options.mlcrond, config, dir.path() / "state", dir.path() / "daemon.log",
                !options.host_pid_ns);
  daemon.WaitReady(std::chrono::seconds(10));
  const std::int64_t first = FirstInstant(daemon.started_ns(), 10);
  const std::int64_t last = first + 10 * (rounds - 1);
  SleepUntilRealtimeNs((last + 5) * kNsPerS);
  daemon.Stop();

  std::map<std::int64_t, std::vector<double>> by_instant;
  for (const Record& r : ReadRecords(out)) {
    if (r.scheduled_unix >= first && r.scheduled_unix <= last) {
      by_instant[r.scheduled_unix].push_back(static_cast<double>(r.lateness_us));
    }
  }
  double worst = 0;
  for (int k = 0; k < rounds; ++k) {
    const auto& us = by_instant[first + 10 * k];
    if (us.empty()) throw BenchError("case (b): no job started in round " + std::to_string(k + 1));
    const double last_start = Percentile(us, 100);
    worst = std::max(worst, last_start);
    rows->push_back(Judged("(b)", fmt::format("round {} last start", k + 1), last_start, 150'000,
                           fmt::format("n={}/{}, first {}, p50 {}", us.size(), kJobs,
                                       Ms(Percentile(us, 0)), Ms(Percentile(us, 50)))));
  }
  rows->push_back(Judged("(b)", "worst round last start", worst, 150'000,
                         fmt::format("{:.2f} ms per job", worst / 1000.0 / kJobs)));
}

void RunCaseC(const Options& options, std::vector<Row>* rows) {
  const int seconds = options.quick ? 20 : 60;
  ScratchDir dir("c", options.keep);
  const fs::path out = dir.path() / "records.csv";
  const fs::path config = WriteConfig(
      dir, Header(dir.path(), 4) + fmt::format(R"(  - tier: 1
    name: up
    every: 1s
    jobs:
      - name: upjob
        argv: ["{0}", "{1}", "--exit-record"]
  - tier: 2
    name: down
    every: 1s
    after: [up]
    jobs:
      - name: downjob
        argv: ["{0}", "{1}"]
)",
                                               options.recorder.string(), out.string()));
  Daemon daemon(options.mlcrond, config, dir.path() / "state", dir.path() / "daemon.log",
                !options.host_pid_ns);
  daemon.WaitReady(std::chrono::seconds(10));
  const std::int64_t first = FirstInstant(daemon.started_ns(), 1);
  const std::int64_t end = first + seconds;
  SleepUntilRealtimeNs((end + 1) * kNsPerS);
  daemon.Stop();

  std::map<std::int64_t, Record> up, down;
  for (const Record& r : ReadRecords(out)) {
    if (r.scheduled_unix < first || r.scheduled_unix >= end) continue;
    (r.job == "upjob" ? up : down)[r.scheduled_unix] = r;
  }
  std::vector<double> gap_us, up_lateness;
  for (const auto& [s, u] : up) {
    up_lateness.push_back(static_cast<double>(u.lateness_us));
    auto d = down.find(s);
    if (d == down.end() || !u.exit_ns) continue;
    gap_us.push_back(static_cast<double>(d->second.start_ns - *u.exit_ns) / 1000.0);
  }
  if (gap_us.empty()) throw BenchError("case (c): no upstream/downstream pairs recorded");
  const std::string n = fmt::format("n={}/{} pairs", gap_us.size(), seconds);
  rows->push_back(Judged("(c)", "exit->start p50", Percentile(gap_us, 50), 10'000, n));
  rows->push_back(Judged("(c)", "exit->start p99", Percentile(gap_us, 99), 10'000, n));
  rows->push_back(Judged("(c)", "exit->start max", Percentile(gap_us, 100), 10'000, n));
  rows->push_back(Context("(c)", "upstream lateness p50", Ms(Percentile(up_lateness, 50))));
  // Outside a PID namespace, every job exit also pays one scan of the host's /proc.
  const auto [scan_us, processes] = TimeProcScan(11);
  rows->push_back(Context("(c)", "host /proc scan", Ms(scan_us),
                          fmt::format("stat+environ of {} host processes, median of 11; "
                                      "{:.2f}x the p50 above",
                                      processes, scan_us / Percentile(gap_us, 50))));
}

void RunCaseD(const Options& options, std::vector<Row>* rows) {
  const int seconds = options.quick ? 20 : 60;
  constexpr int kTiers = 10, kPerTier = 100;
  ScratchDir dir("d", options.keep);
  // Every tier fires at one local time six hours away: configured, loaded, and idle.
  const time_t later = time(nullptr) + 6 * 3600;
  tm parts{};
  gmtime_r(&later, &parts);
  std::string text = Header(dir.path(), 4);
  for (int t = 0; t < kTiers; ++t) {
    text += fmt::format("  - tier: {}\n    name: idle{:02}\n    at: \"{:02}:{:02}\"\n", t + 1, t,
                        parts.tm_hour, parts.tm_min);
    if (t > 0) text += fmt::format("    after: [idle{:02}]\n", t - 1);
    text += "    jobs:\n";
    for (int j = 0; j < kPerTier; ++j) {
      text += fmt::format("      - name: idle{:02}_{:03}\n        argv: [/bin/true]\n", t, j);
    }
  }
  const fs::path config = WriteConfig(dir, text);
  Daemon daemon(options.mlcrond, config, dir.path() / "state", dir.path() / "daemon.log",
                !options.host_pid_ns);
  daemon.WaitReady(std::chrono::seconds(10));
  SleepFor(std::chrono::seconds(3));  // let start-up settle
  const ProcSample before = ReadProc(daemon.pid());
  SleepFor(std::chrono::seconds(seconds));
  const ProcSample after = ReadProc(daemon.pid());

  std::string strace_note = "not run (--strace)";
  if (options.strace) {
    const fs::path trace = dir.path() / "strace.txt";
    const pid_t tracer = Spawn({"/usr/bin/strace", "-f", "-e", "trace=epoll_wait,epoll_pwait", "-o",
                                trace.string(), "-p", std::to_string(daemon.pid())},
                               dir.path() / "strace.log");
    SleepFor(std::chrono::seconds(seconds));
    kill(tracer, SIGINT);  // strace detaches cleanly on SIGINT
    WaitExit(tracer, std::chrono::seconds(10));
    std::ifstream in(trace);
    int calls = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.find("epoll_wait(") != std::string::npos ||
          line.find("epoll_pwait(") != std::string::npos) {
        ++calls;
      }
    }
    // The call in progress when strace attaches is reported too: it is not a wake-up.
    strace_note = fmt::format("{} epoll calls in {} s under strace ({} incl. attach)",
                              std::max(0, calls - 1), seconds, calls);
  }
  daemon.Stop();

  const double per_min =
      static_cast<double>(after.voluntary_switches - before.voluntary_switches) * 60.0 / seconds;
  rows->push_back(Row{"(d)", "wake-ups per minute", fmt::format("{:.1f}", per_min), "<= 2",
                      per_min <= 2.0,
                      fmt::format("voluntary ctxt switches over {} s, {} thread(s); {}", seconds,
                                  after.threads, strace_note)});
  rows->push_back(Row{"(d)", "RSS (VmRSS)", fmt::format("{:.1f} MB", after.rss_kb / 1024.0),
                      "<= 20 MB", after.rss_kb <= 20 * 1024,
                      fmt::format("1,000 jobs; peak VmHWM {:.1f} MB", after.hwm_kb / 1024.0)});
  rows->push_back(Context("(d)", "CPU while idle", Ms((after.cpu_s - before.cpu_s) * 1e6),
                          fmt::format("over {} s", seconds)));
}

namespace {

// tiers x per_tier jobs, each tier `after:` the one before, at one-minute steps from 01:01:
// the shape of a nightly pipeline of sharded jobs.
std::string BigConfig(const fs::path& dir, int tiers, int per_tier) {
  std::string text = Header(dir, 8);
  for (int t = 0; t < tiers; ++t) {
    const int minute = 61 + t;
    text += fmt::format("  - tier: {}\n    name: stage{:03}\n    at: \"{:02}:{:02}\"\n", t + 1, t,
                        minute / 60, minute % 60);
    if (t > 0) text += fmt::format("    after: [stage{:03}]\n", t - 1);
    text += "    jobs:\n";
    for (int j = 0; j < per_tier; ++j) {
      text += fmt::format(
          "      - name: stage{0:03}_shard{1:03}\n"
          "        argv: [/usr/bin/python3, -m, pipeline.stage, --stage, \"{0}\", --shard, "
          "\"{1}\", --date, \"{{date}}\"]\n"
          "        env: {{SHARD: \"{1}\"}}\n"
          "        timeout: 20m\n"
          "        retries: 2\n",
          t, j);
    }
  }
  return text;
}

struct Timing {
  double wall_us = 0;
  double cpu_us = 0;  // user + system: what the run would take on an idle core
};

// `mlcron validate --config path`; throws unless it exits 0.
Timing TimeValidate(const Options& options, const fs::path& path, const fs::path& log) {
  const std::int64_t t0 = MonotonicNs();
  const pid_t pid = Spawn({options.mlcron.string(), "validate", "--config", path.string()}, log);
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw BenchError("wait4 mlcron validate");
  }
  const std::int64_t t1 = MonotonicNs();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw BenchError("mlcron validate " + path.string() + " failed; see " + log.string());
  }
  const auto us = [](const timeval& tv) { return tv.tv_sec * 1e6 + tv.tv_usec; };
  return {static_cast<double>(t1 - t0) / 1000.0, us(usage.ru_utime) + us(usage.ru_stime)};
}

}  // namespace

void RunCaseE(const Options& options, std::vector<Row>* rows) {
  constexpr int kRuns = 5;
  ScratchDir dir("e", options.keep);
  std::map<int, double> median_us;
  for (int tiers : {10, 100}) {
    const std::string text = BigConfig(dir.path(), tiers, 100);
    const fs::path path = dir.path() / fmt::format("jobs{}.yaml", tiers * 100);
    WriteFile0600(path, text);
    const fs::path log = dir.path() / "validate.log";
    TimeValidate(options, path, log);  // warm the page cache; not counted
    std::vector<double> us, cpu_us;
    for (int i = 0; i < kRuns; ++i) {
      const Timing t = TimeValidate(options, path, log);
      us.push_back(t.wall_us);
      cpu_us.push_back(t.cpu_us);
    }
    median_us[tiers] = Median(us);
    const std::string note = fmt::format(
        "median of {}, min {}, max {}; CPU median {}; {:.0f} KB file", kRuns, Ms(Percentile(us, 0)),
        Ms(Percentile(us, 100)), Ms(Median(cpu_us)), text.size() / 1024.0);
    if (tiers == 100) {
      rows->push_back(Judged("(e)", "validate 10,000 jobs", median_us[tiers], 1e6, note));
    } else {
      rows->push_back(Context("(e)", "validate 1,000 jobs", Ms(median_us[tiers]), note));
    }
  }
  rows->push_back(Context("(e)", "ratio 10,000/1,000 jobs",
                          fmt::format("{:.1f}x", median_us[100] / median_us[10]),
                          "10x would be linear"));
}

}  // namespace mlcron::bench
