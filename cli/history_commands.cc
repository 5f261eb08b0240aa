// `mlcron history`, `mlcron logs` and `mlcron backup`: read the run history, print a run's
// captured output, and copy the state database online.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "daemon/time_format.h"

namespace mlcron {
namespace {

using nlohmann::json;

std::string When(const std::optional<RunRecord::TimePoint>& t, const Config& config) {
  return t ? FormatTimePoint(*t, config.tz) : "";
}

json ToJson(const RunRecord& r, const Config& config) {
  json j = {{"id", r.id},
            {"job", r.job},
            {"scheduled", FormatInstant(r.scheduled, config.tz)},
            {"trigger", r.trigger},
            {"attempt", r.attempt},
            {"status", RunStatusName(r.status)},
            {"reason", r.reason},
            {"started", r.started ? json(When(r.started, config)) : json(nullptr)},
            {"ended", r.ended ? json(When(r.ended, config)) : json(nullptr)},
            {"exit_code", r.exit_code ? json(*r.exit_code) : json(nullptr)},
            {"signal", r.signal ? json(*r.signal) : json(nullptr)},
            {"pid", r.pid},
            {"cpu_seconds", r.cpu_user_s + r.cpu_sys_s},
            {"log", r.log_path}};
  return j;
}

std::string Duration(const RunRecord& r) {
  if (!r.started || !r.ended) return "-";
  std::ostringstream out;
  out << std::fixed << std::setprecision(3)
      << std::chrono::duration<double>(*r.ended - *r.started).count() << "s";
  return out.str();
}

struct HistoryArgs {
  std::string config, job;
  int limit = 20;
  bool json = false;
};

int History(const HistoryArgs& args) {
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  auto store = OpenStateOrPrint(*config);
  if (!store) return kExitFailed;
  RunFilter filter;
  if (!args.job.empty()) filter.job = args.job;
  filter.limit = args.limit;
  auto runs = store->ListRuns(filter);
  if (!runs.ok()) {
    std::cerr << "mlcron history: " << runs.message() << "\n";
    return kExitFailed;
  }
  if (args.json) {
    json out = json::array();
    for (const auto& r : *runs) out.push_back(ToJson(r, *config));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << std::left << std::setw(7) << "RUN" << std::setw(20) << "JOB" << std::setw(27)
            << "SCHEDULED" << std::setw(9) << "TRIGGER" << std::setw(4) << "#" << std::setw(12)
            << "STATUS" << std::setw(10) << "TOOK"
            << "REASON\n";
  for (const auto& r : *runs) {
    std::cout << std::left << std::setw(7) << r.id << std::setw(20) << r.job << std::setw(27)
              << FormatInstant(r.scheduled, config->tz) << std::setw(9) << r.trigger << std::setw(4)
              << r.attempt << std::setw(12) << RunStatusName(r.status) << std::setw(10)
              << Duration(r) << r.reason << "\n";
  }
  return kExitOk;
}

int Logs(const std::string& config_path, const std::string& job, std::int64_t run_id) {
  auto config = LoadConfigOrPrint(config_path);
  if (!config) return kExitUsage;
  auto store = OpenStateOrPrint(*config);
  if (!store) return kExitFailed;
  std::optional<RunRecord> run;
  if (run_id > 0) {
    auto found = store->GetRun(run_id);
    if (found.ok()) run = *found;
    if (run && run->job != job) run.reset();
  } else {
    // The newest run of the job that has a process (skips have no log).
    RunFilter filter;
    filter.job = job;
    filter.limit = 50;
    auto runs = store->ListRuns(filter);
    if (runs.ok()) {
      for (const auto& r : *runs) {
        if (r.started) {
          run = r;
          break;
        }
      }
    }
  }
  if (!run) {
    std::cerr << "mlcron logs: no run" << (run_id > 0 ? " " + std::to_string(run_id) : "")
              << " of job " << job << " with a log\n";
    return kExitFailed;
  }
  if (!run->started) {
    // Skipped, missed and paused occurrences never had a process, so never a log.
    std::cerr << "mlcron logs: run " << run->id << " of job " << job << " was "
              << RunStatusName(run->status) << (run->reason.empty() ? "" : " (" + run->reason + ")")
              << "; it has no log\n";
    return kExitFailed;
  }
  const std::string path =
      run->log_path.empty() ? config->log_dir + "/" + job + "/" + std::to_string(run->id) + ".log"
                            : run->log_path;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "mlcron logs: " << path << ": cannot open (pruned?)\n";
    return kExitFailed;
  }
  std::cout << in.rdbuf();
  return kExitOk;
}

}  // namespace

void AddHistoryCommands(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<HistoryArgs>();
  auto* history = app.add_subcommand("history", "list recorded runs, newest first");
  history->add_option("-c,--config", args->config, "config file")->required();
  history->add_option("--job", args->job, "only this job");
  history->add_option("-n,--limit", args->limit, "at most this many runs")->capture_default_str();
  history->add_flag("--json", args->json, "JSON output");
  history->callback([args, exit_code] { *exit_code = History(*args); });

  struct LogsArgs {
    std::string config, job;
    std::int64_t run = 0;
  };
  auto logs_args = std::make_shared<LogsArgs>();
  auto* logs = app.add_subcommand("logs", "print a run's captured output (default: the newest)");
  logs->add_option("job", logs_args->job, "job name")->required();
  logs->add_option("run", logs_args->run, "run id");
  logs->add_option("-c,--config", logs_args->config, "config file")->required();
  logs->callback([logs_args, exit_code] {
    *exit_code = Logs(logs_args->config, logs_args->job, logs_args->run);
  });

  struct BackupArgs {
    std::string config, to;
  };
  auto backup_args = std::make_shared<BackupArgs>();
  auto* backup =
      app.add_subcommand("backup", "copy the state database with SQLite's online backup");
  backup->add_option("-c,--config", backup_args->config, "config file")->required();
  backup->add_option("--to", backup_args->to, "destination file")->required();
  backup->callback([backup_args, exit_code] {
    auto config = LoadConfigOrPrint(backup_args->config);
    if (!config) {
      *exit_code = kExitUsage;
      return;
    }
    auto store = OpenStateOrPrint(*config);
    if (!store) {
      *exit_code = kExitFailed;
      return;
    }
    if (Status s = store->Backup(backup_args->to); !s.ok()) {
      std::cerr << "mlcron backup: " << s.message() << "\n";
      *exit_code = kExitFailed;
      return;
    }
    std::cout << "backed up " << config->state_dir << "/mlcron.db to " << backup_args->to << "\n";
    *exit_code = kExitOk;
  });
}

}  // namespace mlcron
