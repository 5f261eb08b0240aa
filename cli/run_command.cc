// `mlcron run JOB|TIER|--all [--at T] [--wait] [--full]`: runs jobs now through the daemon's own
// scheduler, executor and history, in this process. With --at, asks the running daemon to
// run that one past occurrence instead (or runs it here when no daemon is up).
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "daemon/control_server.h"
#include "daemon/job_lock.h"
#include "daemon/proc.h"
#include "daemon/process_executor.h"
#include "daemon/scheduler.h"
#include "daemon/scheduler_loop.h"
#include "daemon/snapshot.h"
#include "daemon/time_format.h"

namespace mlcron {
namespace {

struct RunArgs {
  std::string config;
  std::string target;
  bool all = false;
  std::string at;
  bool wait = false;
  bool full = false;
};

// JOB, TIER or --all to job indices; the config's order is already dependency order.
bool Select(const Config& config, const RunArgs& args, std::vector<size_t>* out) {
  if (args.all) {
    for (size_t i = 0; i < config.jobs.size(); ++i) out->push_back(i);
    return true;
  }
  if (auto index = config.JobIndex(args.target)) {
    out->push_back(*index);
    return true;
  }
  if (const TierConfig* tier = config.FindTier(args.target)) {
    *out = tier->jobs;
    return true;
  }
  std::cerr << "mlcron run: no job or tier named \"" << args.target << "\"\n";
  return false;
}

int RunHere(std::shared_ptr<const Config> config, const std::vector<size_t>& jobs, Instant at,
            bool wait) {
  auto store = OpenStateOrPrint(*config);
  if (!store) return kExitFailed;
  if (Status s = WriteSnapshot(*config); !s.ok()) {
    std::cerr << "mlcron run: " << s.message() << "\n";
    return kExitFailed;
  }
  (void)BecomeChildSubreaper();  // so escaped descendants are ours to kill and reap
  boost::asio::io_context io;
  SystemClock clock;
  FileJobLocks locks(config->state_dir + "/locks");
  auto launcher = MakeBoostProcessLauncher();
  std::unique_ptr<Scheduler> scheduler;
  ProcessExecutor executor(
      io, launcher.get(), SiblingBinary("mlcron"),
      [&](std::int64_t run_id, const ExitInfo& exit) { scheduler->OnRunExit(run_id, exit); });
  SchedulerOptions options;
  options.scheduled = false;
  options.wait_for_locks = wait;
  scheduler = std::make_unique<Scheduler>(config, store.get(), &executor, &clock, &locks, options);
  // Refuse up front, with the holder named, rather than record a skip. With --wait, say
  // what we wait for, so a silent terminal does not look like a hang.
  for (size_t j : jobs) {
    const std::string& name = config->jobs[j].name;
    auto lock = LockFile::TryAcquire(config->state_dir + "/locks/" + name + ".lock");
    if (lock.ok()) continue;
    if (!wait) {
      std::cerr << "mlcron run: job " << name << " is running (" << lock.message()
                << "); use --wait to wait for it\n";
      return kExitFailed;
    }
    std::cerr << "mlcron run: job " << name << " is running (" << lock.message()
              << "); waiting for it to finish\n";
  }
  scheduler->QueueBatch(jobs, at, "manual");
  SchedulerLoop loop(io, scheduler.get(), &executor);
  bool interrupted = false;
  auto stop = [&](int) {
    interrupted = true;
    scheduler->BeginShutdown();
  };
  loop.AddSignal(SIGINT, stop);
  loop.AddSignal(SIGTERM, stop);
  loop.StopWhenIdle();
  loop.Start();
  io.run();
  return scheduler->AnyFailed() || interrupted ? kExitFailed : kExitOk;
}

int Run(const RunArgs& args) {
  if (args.all == !args.target.empty()) {
    std::cerr << "mlcron run: name one JOB or TIER, or give --all\n";
    return kExitUsage;
  }
  if (args.full && !args.at.empty()) {
    // --at may hand the run to the daemon, whose jobs never see a forced full.
    std::cerr << "mlcron run: --full cannot be combined with --at\n";
    return kExitUsage;
  }
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  std::vector<size_t> jobs;
  if (!Select(*config, args, &jobs)) return kExitUsage;
  Instant at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  if (!args.at.empty()) {
    auto parsed = ParseInstant(args.at, config->tz);
    if (!parsed.ok()) {
      std::cerr << "mlcron run: --at: " << parsed.message() << "\n";
      return kExitUsage;
    }
    at = *parsed;
    // A tier of one job is still a tier: the daemon's `run` request takes job names only.
    if (args.all || !config->JobIndex(args.target)) {
      std::cerr << "mlcron run: --at runs one job's past occurrence; name a job\n";
      return kExitUsage;
    }
    if (!RunAsStateOwner(*config)) return kExitFailed;
    auto reply = ControlRequest(ControlSocketPath(*config),
                                {{"cmd", "run"}, {"job", args.target}, {"at", args.at}});
    if (reply.ok()) {
      if (!reply->value("ok", false)) {
        std::cerr << "mlcron run: " << reply->value("error", std::string("refused")) << "\n";
        return kExitFailed;
      }
      std::cout << "mlcrond queued " << args.target << " for "
                << reply->value("scheduled", std::string()) << "\n";
      return kExitOk;
    }
    spdlog::info("{}; running the occurrence here", reply.message());
  }
  // Children inherit this process's environment; the retrain kind reads it (DESIGN.md §7).
  if (args.full) setenv("MLCRON_FORCE_FULL", "1", 1);
  return RunHere(config, jobs, at, args.wait);
}

}  // namespace

void AddRunCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<RunArgs>();
  auto* run = app.add_subcommand("run", "run a job, a tier (in dependency order) or --all now");
  run->add_option("target", args->target, "job or tier name");
  run->add_flag("--all", args->all, "every tier, in dependency order");
  run->add_option("-c,--config", args->config, "config file")->required();
  run->add_option("--at", args->at, "run the occurrence scheduled at this instant");
  run->add_flag("--wait", args->wait, "wait for a job that is running elsewhere");
  run->add_flag("--full", args->full, "retrain jobs: force a full retrain (MLCRON_FORCE_FULL=1)");
  run->callback([args, exit_code] { *exit_code = Run(*args); });
}

}  // namespace mlcron
