// `mlcron replay --config F --from D --to D [--policy P ...] [--out DIR] [--keep-scratch]`
// (DESIGN.md §9): runs the config's tier graph over history under a simulated clock, once per
// retraining policy, and writes the decisions, the live metrics and a chart into DIR. Works on
// scratch databases under DIR/.scratch; the operator's state is never written.
#include <date/date.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "daemon/time_format.h"
#include "jobs/promotion_gate.h"
#include "jobs/replay_report.h"
#include "jobs/replay_run.h"
#include "jobs/replay_source.h"

namespace mlcron {
namespace {

namespace fs = std::filesystem;

struct ReplayArgs {
  std::string config;
  std::string from, to;
  std::vector<std::string> policies;
  std::string out = "replay";
  bool keep_scratch = false;
};

// A date "YYYY-MM-DD" → its local midnight; `next` gives the midnight after it.
Result<Instant> DateArg(const std::string& flag, const std::string& text, bool next,
                        const date::time_zone* tz) {
  std::istringstream in(text);
  date::sys_days day;
  in >> date::parse("%F", day);
  if (in.fail() || text.size() != 10) {
    return Status::Error(flag + ": expected a date YYYY-MM-DD, got \"" + text + "\"");
  }
  if (next) day += date::days{1};
  return ParseInstant(date::format("%F", day), tz);
}

Result<std::vector<ReplayPolicy>> Policies(const std::vector<std::string>& names) {
  if (names.empty()) return AllReplayPolicies();
  std::vector<ReplayPolicy> out;
  for (const std::string& n : names) {
    std::optional<ReplayPolicy> p = ParseReplayPolicy(n);
    if (!p) {
      std::string known;
      for (ReplayPolicy q : AllReplayPolicies()) {
        known += (known.empty() ? "" : ", ") + std::string(ReplayPolicyName(q));
      }
      return Status::Error("--policy: unknown policy \"" + n + "\" (known: " + known + ")");
    }
    if (std::find(out.begin(), out.end(), *p) == out.end()) out.push_back(*p);
  }
  return out;
}

// Some source must have rows inside the range, or the replay would train on nothing new.
Status CheckRange(const ReplaySources& sources, Instant from, Instant to, const ReplayArgs& a,
                  const date::time_zone* tz) {
  std::string have;
  for (const LoadedSource& s : sources.tables) {
    if (s.first < to && s.last >= from) return Status::Ok();
    have += fmt::format("; source {} ({}) has {} rows from {} to {}", s.config.table, s.origin,
                        s.rows, FormatInstant(s.first, tz).substr(0, 10),
                        FormatInstant(s.last, tz).substr(0, 10));
  }
  return Status::Error("no data in " + a.from + " → " + a.to + have);
}

std::string Describe(const PolicyRun& run) {
  int full = 0, incremental = 0, skip = 0, promoted = 0, rejected = 0;
  for (const ReplayDecision& d : run.decisions) {
    full += d.decision == "full";
    incremental += d.decision == "incremental";
    skip += d.decision == "skip";
    promoted += d.outcome == "production";
    rejected += d.outcome == "rejected";
  }
  return fmt::format(
      "{}: {} occurrences; {} full, {} incremental ({} promoted, {} rejected), {} skips; "
      "training {:.1f} s (retrain jobs {:.1f} s CPU); replay {:.1f} s",
      ReplayPolicyName(run.policy), run.occurrences, full, incremental, promoted, rejected, skip,
      run.TrainSeconds(), run.retrain_cpu_seconds, run.seconds);
}

void PrintLive(const PolicyRun& run) {
  for (const ReplayLive& live : run.live) {
    Result<LiveAggregate> a = AggregateLive(live.model, live, 0, live.scores.size());
    if (!a.ok() || a->rows == 0) {
      std::cout << "  " << live.model.name << ": no live scores\n";
      continue;
    }
    const double gain = RelativeImprovement(live.model.metric, a->live, a->baseline);
    std::cout << fmt::format(
        "  {}: live {} {:.4f} vs baseline {:.4f} ({:+.1f}%){} over {} "
        "signals\n",
        live.model.name, live.model.metric, a->live, a->baseline, 100 * gain,
        a->accuracy ? fmt::format(", accuracy {:.3f}", *a->accuracy) : "", a->rows);
  }
}

int Run(const ReplayArgs& a) {
  std::shared_ptr<const Config> config = LoadConfigOrPrint(a.config);
  if (!config) return kExitFailed;
  Result<Instant> from = DateArg("--from", a.from, false, config->tz);
  Result<Instant> to = DateArg("--to", a.to, true, config->tz);
  Result<std::vector<ReplayPolicy>> policies = Policies(a.policies);
  for (const Status& s : {from.status(), to.status(), policies.status()}) {
    if (!s.ok()) {
      std::cerr << "mlcron replay: " << s.message() << "\n";
      return kExitUsage;
    }
  }
  if (*to <= *from) {
    std::cerr << "mlcron replay: --to " << a.to << " is before --from " << a.from << "\n";
    return kExitUsage;
  }

  std::error_code ec;
  fs::create_directories(a.out, ec);
  const std::string out = fs::absolute(a.out).lexically_normal().string();
  const std::string lock_path = out + "/.replay.lock";
  const int lock = ::open(lock_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (ec || lock < 0 || ::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    std::cerr << "mlcron replay: " << out << ": "
              << (ec         ? ec.message()
                  : lock < 0 ? std::strerror(errno)
                             : "another replay is writing here")
              << "\n";
    return kExitFailed;
  }
  const std::string scratch = out + "/.scratch";
  if (fs::exists(scratch)) {
    std::cout << "a previous replay into " << out
              << " did not finish; its scratch files are removed and this one starts over\n";
    fs::remove_all(scratch, ec);
  }
  fs::create_directories(scratch + "/logs", ec);
  if (ec) {
    std::cerr << "mlcron replay: " << scratch << ": " << ec.message() << "\n";
    return kExitFailed;
  }

  Result<ReplaySources> sources = LoadReplaySources(*config, scratch + "/source.db");
  if (sources.ok()) {
    if (Status s = CheckRange(*sources, *from, *to, a, config->tz); !s.ok()) sources = s;
  }
  if (!sources.ok()) {
    std::cerr << "mlcron replay: " << sources.message() << "\n";
    return kExitFailed;
  }
  for (const LoadedSource& s : sources->tables) {
    std::cout << fmt::format("source {}: {} rows from {} ({} to {})\n", s.config.table, s.rows,
                             s.origin, FormatInstant(s.first, config->tz).substr(0, 10),
                             FormatInstant(s.last, config->tz).substr(0, 10));
  }

  std::vector<PolicyRun> runs;
  for (ReplayPolicy policy : *policies) {
    const std::string name(ReplayPolicyName(policy));
    std::cout << "replay " << name << ": " << a.from << " → " << a.to << " ..." << std::flush;
    std::ofstream log(scratch + "/logs/" + name + ".log");
    PolicyRequest request{policy, *from, *to, scratch + "/" + name, &log};
    Result<PolicyRun> run = RunReplayPolicy(*config, *sources, request);
    if (!run.ok()) {
      std::cout << "\n";
      std::cerr << "mlcron replay: " << run.message() << "\n(the log so far: " << scratch
                << "/logs/" << name << ".log)\n";
      return kExitFailed;
    }
    std::cout << "\r" << Describe(*run) << "\n";
    PrintLive(*run);
    runs.push_back(std::move(*run));
  }

  Result<std::vector<std::string>> written = WriteReplayOutputs(out, runs, *config);
  if (!written.ok()) {
    std::cerr << "mlcron replay: " << written.message() << "\n";
    return kExitFailed;
  }
  fs::create_directories(out + "/logs", ec);
  for (ReplayPolicy policy : *policies) {
    const std::string name = std::string(ReplayPolicyName(policy)) + ".log";
    fs::rename(scratch + "/logs/" + name, out + "/logs/" + name, ec);
  }
  if (!a.keep_scratch) fs::remove_all(scratch, ec);
  std::cout << "wrote";
  for (const std::string& p : *written) std::cout << " " << fs::path(p).filename().string();
  std::cout << " and logs/ into " << out << "\n";
  return kExitOk;
}

}  // namespace

void AddReplayCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ReplayArgs>();
  CLI::App* cmd = app.add_subcommand(
      "replay", "Run the tier graph over history under a simulated clock, per retrain policy");
  cmd->add_option("-c,--config", args->config, "Config file")->required();
  cmd->add_option("--from", args->from, "First day, YYYY-MM-DD (local)")->required();
  cmd->add_option("--to", args->to, "Last day, YYYY-MM-DD (inclusive)")->required();
  cmd->add_option("--policy", args->policies,
                  "default, always-full, incremental-only, never-retrain (repeatable; all four "
                  "when absent)");
  cmd->add_option("--out", args->out, "Output folder (default ./replay)");
  cmd->add_flag("--keep-scratch", args->keep_scratch,
                "Keep the replay's databases in OUT/.scratch for inspection");
  cmd->callback([args, exit_code] { *exit_code = Run(*args); });
}

}  // namespace mlcron
