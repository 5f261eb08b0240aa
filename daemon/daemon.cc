#include "daemon/daemon.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>

#include "daemon/api_loop.h"
#include "daemon/api_metrics.h"
#include "daemon/api_service.h"
#include "daemon/clock_jump.h"
#include "daemon/config_loader.h"
#include "daemon/config_watch.h"
#include "daemon/control_handler.h"
#include "daemon/control_server.h"
#include "daemon/job_lock.h"
#include "daemon/proc.h"
#include "daemon/process_executor.h"
#include "daemon/reaper.h"
#include "daemon/scheduler.h"
#include "daemon/scheduler_loop.h"
#include "daemon/sd_notify.h"
#include "daemon/snapshot.h"
#include "daemon/state_owner.h"
#include "daemon/state_store.h"
#include "daemon/time_format.h"
#include "daemon/version.h"

namespace mlcron {
namespace {

namespace asio = boost::asio;

class Daemon {
 public:
  Daemon(const DaemonOptions& options, std::shared_ptr<const Config> config,
         std::unique_ptr<StateStore> store, std::shared_ptr<RunMetrics> metrics)
      : options_(options),
        config_(std::move(config)),
        store_(std::move(store)),
        metrics_(std::move(metrics)),
        watchdog_(io_),
        reload_debounce_(io_),
        launcher_(MakeBoostProcessLauncher()),
        locks_(config_->state_dir + "/locks"),
        executor_(io_, launcher_.get(), SiblingBinary("mlcron"),
                  [this](std::int64_t run_id, const ExitInfo& exit) {
                    scheduler_->OnRunExit(run_id, exit);
                  }),
        scheduler_(
            std::make_unique<Scheduler>(config_, store_.get(), &executor_, &clock_, &locks_)),
        loop_(io_, scheduler_.get(), &executor_) {}

  int Run() {
    if (Status s = BecomeChildSubreaper(); !s.ok()) spdlog::warn("{}", s.message());
    if (Status s = scheduler_->Start(options_.run_now); !s.ok()) {
      spdlog::error("{}", s.message());
      return 1;
    }
    auto control = ControlServer::Listen(
        io_, config_->state_dir + "/control.sock", [this](const nlohmann::json& request) {
          auto reply = HandleControl(*scheduler_, request);
          loop_.Kick();  // a queued run or a kill must act now, not at the next timer
          return reply;
        });
    if (!control.ok()) {
      spdlog::error("{}", control.message());
      return 1;
    }
    control_ = std::move(control).value();
    if (Status s = StartApi(); !s.ok()) {
      spdlog::error("{}", s.message());
      return 1;
    }
    if (auto watch = ConfigWatch::Start(io_, config_->path, [this] { ScheduleReload(); });
        watch.ok()) {
      config_watch_ = std::move(watch).value();
    } else {
      spdlog::warn("{}; reload with SIGHUP only", watch.message());
    }
    if (auto jump = ClockJumpWatch::Start(io_, [this] { OnClockJump(); }); jump.ok()) {
      clock_jump_ = std::move(jump).value();
    } else {
      spdlog::warn("{}", jump.message());
    }
    loop_.AddSignal(SIGHUP, [this](int) {
      spdlog::info("SIGHUP: reloading {}", config_->path);
      Reload();
    });
    loop_.AddSignal(SIGTERM, [this](int sig) { Shutdown(sig); });
    loop_.AddSignal(SIGINT, [this](int sig) { Shutdown(sig); });
    StartWatchdog();
    loop_.Start();
    notifier_.Ready("scheduling " + std::to_string(config_->jobs.size()) + " jobs in " +
                    std::to_string(config_->tiers.size()) + " tiers");
    spdlog::info("mlcrond {} ready: {} ({} jobs, {} tiers, time zone {}), state {}", Version(),
                 config_->path, config_->jobs.size(), config_->tiers.size(), config_->timezone_name,
                 config_->state_dir);
    LogNext();
    io_.run();
    spdlog::info("mlcrond stopped");
    return 0;
  }

 private:
  // The HTTP API, when the config has `api:`. Its server thread never touches scheduler state:
  // what needs the scheduler is posted to this loop (DaemonApiSide).
  Status StartApi() {
    if (!config_->api.enabled) return Status::Ok();
    api_side_ = std::make_unique<DaemonApiSide>(
        scheduler_.get(), &executor_, [this] { loop_.Kick(); }, SiblingBinary("mlcron"));
    auto api = ApiService::Start(io_, api_side_.get(), config_, metrics_);
    if (!api.ok()) return api.status();
    api_ = std::move(api).value();
    spdlog::info("api listening on {}{} (token in {}/api.token; at most {} connections)",
                 config_->api.socket_path.empty() ? "http://" : "", api_->address(),
                 config_->state_dir, api_->connection_cap());
    return Status::Ok();
  }

  void Shutdown(int sig) {
    spdlog::info("{}: shutting down; running jobs get their kill_grace",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    notifier_.Stopping();
    scheduler_->BeginShutdown();
    loop_.StopWhenIdle();
  }

  void StartWatchdog() {
    auto interval = notifier_.WatchdogInterval();
    if (!interval) return;
    // The only periodic wake-up: systemd restarts us if the loop stops answering.
    watchdog_.expires_after(*interval / 2);
    watchdog_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      notifier_.Watchdog();
      StartWatchdog();
    });
  }

  void ScheduleReload() {
    // Editors write a file in several steps; settle for 200 ms, then read it once.
    reload_debounce_.expires_after(std::chrono::milliseconds(200));
    reload_debounce_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      spdlog::info("config file changed: reloading {}", config_->path);
      Reload();
      loop_.Kick();
    });
  }

  void Reload() {
    notifier_.Reloading();
    std::string outcome;
    LoadResult loaded = LoadConfigFile(config_->path);
    if (!loaded.ok()) {
      for (const auto& e : loaded.errors) spdlog::error("{}", e.ToString());
      outcome = "reload failed: " + std::to_string(loaded.errors.size()) +
                " errors; the running config stays in force";
      spdlog::error("{}", outcome);
    } else if (loaded.config->sha256 == config_->sha256) {
      outcome = "reload: config unchanged";
      spdlog::info("{}", outcome);
    } else if (loaded.config->state_dir != config_->state_dir) {
      outcome = "reload failed: state_dir changed; restart mlcrond to move it";
      spdlog::error("reload failed: state_dir changed ({} -> {}); restart mlcrond to move it",
                    config_->state_dir, loaded.config->state_dir);
    } else if (Status s = WriteSnapshot(*loaded.config); !s.ok()) {
      outcome = "reload failed: cannot snapshot the config; the running config stays";
      spdlog::error("reload failed: cannot snapshot the config: {}; the running config stays",
                    s.message());
    } else {
      if (api_ && loaded.config->api.ToString() != config_->api.ToString()) {
        spdlog::warn("reload: api: changes to listen/socket take effect at the next restart");
      }
      config_ = loaded.config;
      if (api_) {
        api_->SetConfig(config_);
        api_side_->SetConfigLoadedAt(std::chrono::system_clock::now());
      }
      for (const auto& change : scheduler_->Reload(config_)) spdlog::info("reload: {}", change);
      outcome = "reloaded: scheduling " + std::to_string(config_->jobs.size()) + " jobs";
      LogNext();
    }
    notifier_.Ready(outcome);
  }

  void OnClockJump() {
    spdlog::warn("the wall clock was set; recomputing the next deadline");
    loop_.Kick();
  }

  void LogNext() {
    auto status = scheduler_->GetStatus();
    for (const auto& next : status.next) {
      spdlog::info("job {}: next {}{}", next.job,
                   next.at ? FormatInstant(*next.at, config_->tz) : "never",
                   next.paused ? " (paused)" : "");
    }
  }

  const DaemonOptions& options_;
  std::shared_ptr<const Config> config_;
  std::unique_ptr<StateStore> store_;
  std::shared_ptr<RunMetrics> metrics_;
  asio::io_context io_;
  asio::steady_timer watchdog_;
  asio::steady_timer reload_debounce_;
  SystemClock clock_;
  SystemdNotifier notifier_;
  std::unique_ptr<ProcessLauncher> launcher_;
  FileJobLocks locks_;
  ProcessExecutor executor_;
  std::unique_ptr<Scheduler> scheduler_;
  SchedulerLoop loop_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<ConfigWatch> config_watch_;
  std::unique_ptr<ClockJumpWatch> clock_jump_;
  // Last: the API's server thread stops before anything it posts to is destroyed.
  std::unique_ptr<DaemonApiSide> api_side_;
  std::unique_ptr<ApiService> api_;
};

}  // namespace

int RunDaemon(const DaemonOptions& options) {
  SetupLogging(options.log);
  LoadResult loaded = LoadConfigFile(options.config_path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) spdlog::error("{}", e.ToString());
    return 2;
  }
  auto config = loaded.config;
  // Before anything is created: started by root on a packaged system, the daemon becomes
  // the mlcron user that owns state_dir, as the unit's User= would.
  if (Status s = SwitchToStateOwner(config->state_dir); !s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  std::error_code ec;
  for (const auto& dir : {config->state_dir, config->log_dir}) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      spdlog::error("{}: {}", dir, ec.message());
      return 1;
    }
  }
  auto lock = LockFile::TryAcquire(config->state_dir + "/mlcrond.lock");
  if (!lock.ok()) {
    spdlog::error("another mlcrond uses {}: {}", config->state_dir, lock.message());
    return 1;
  }
  auto store = StateStore::Open(config->state_dir + "/mlcron.db");
  if (!store.ok()) {
    spdlog::error("{}", store.message());
    return 1;
  }
  if (Status s = WriteSnapshot(*config); !s.ok()) {
    spdlog::error("cannot snapshot the config: {}", s.message());
    return 1;
  }
  // Every run row the scheduler writes also feeds the /metrics counters.
  auto metrics = std::make_shared<RunMetrics>();
  Daemon daemon(options, config, MetricsStateStore(std::move(store).value(), metrics), metrics);
  return daemon.Run();
}

}  // namespace mlcron
