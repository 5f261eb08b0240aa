#include "daemon/api_loop.h"

#include <spdlog/spdlog.h>

#include "daemon/control_handler.h"
#include "daemon/scheduler.h"
#include "daemon/time_format.h"
#include "daemon/version.h"

namespace mlcron {

using nlohmann::json;

DaemonApiSide::DaemonApiSide(Scheduler* scheduler, ProcessExecutor* executor,
                             std::function<void()> kick, std::string mlcron_path)
    : scheduler_(scheduler),
      executor_(executor),
      kick_(std::move(kick)),
      mlcron_path_(std::move(mlcron_path)) {}

json DaemonApiSide::StatusJson() {
  const Config& config = scheduler_->config();
  const SchedulerStatus status = scheduler_->GetStatus();
  std::map<std::string, const SchedulerStatus::Next*> next;
  for (const auto& n : status.next) next[n.job] = &n;
  json tiers = json::array();
  for (const TierConfig& tier : config.tiers) {
    json jobs = json::array();
    for (size_t j : tier.jobs) {
      const JobConfig& job = config.jobs[j];
      json after = json::array();
      for (size_t u : job.upstream) after.push_back(config.jobs[u].name);
      auto it = next.find(job.name);
      const bool has = it != next.end();
      jobs.push_back(
          {{"name", job.name},
           {"kind", job.kind},
           {"schedule", tier.schedule.ToString()},
           {"after", after},
           {"next", has && it->second->at ? json(FormatInstant(*it->second->at, config.tz))
                                          : json(nullptr)},
           {"paused", has && it->second->paused}});
    }
    tiers.push_back({{"name", tier.name}, {"tier", tier.tier}, {"jobs", jobs}});
  }
  return {{"version", Version()},
          {"config", config.path},
          {"config_sha256", config.sha256},
          {"config_loaded_at", FormatTimePoint(loaded_at_, config.tz)},
          {"now", FormatTimePoint(std::chrono::system_clock::now(), config.tz)},
          {"tz", config.timezone_name},
          {"tiers", tiers},
          {"running", RunningJson(status, config)},
          {"waiting", status.pending}};
}

HttpResponse DaemonApiSide::Retrain(const ApiCall& call) {
  const Config& config = scheduler_->config();
  const ModelConfig* model = config.FindModel(*call.model);
  if (!model) return JsonError(404, "no model \"" + *call.model + "\" in " + config.path);
  const JobConfig* job = nullptr;
  for (const JobConfig& j : config.jobs) {
    if (j.kind == "retrain" && j.builtin.model == model->name) {
      job = &j;
      break;
    }
  }
  if (!job) {
    return JsonError(404, "model \"" + model->name + "\" has no retrain job in " + config.path);
  }
  if (call.segment && model->segment_by.empty()) {
    return JsonError(400, "model \"" + model->name + "\" has no segments (no segment_by)");
  }
  for (const auto& r : scheduler_->GetStatus().running) {
    if (r.job == job->name) {
      return JsonError(
          409, "job " + job->name + " is already running (run " + std::to_string(r.run_id) + ")");
    }
  }
  std::map<std::string, std::string> env;
  if (call.full) env["MLCRON_FORCE_FULL"] = "1";
  if (call.segment) env["MLCRON_SEGMENT"] = *call.segment;
  const Instant at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const int batch = scheduler_->QueueBatch({*config.JobIndex(job->name)}, at, "api", env);
  kick_();
  const auto run_id = scheduler_->BatchRunId(batch, job->name);
  spdlog::info("api: retrain of model {}{}{} queued as job {} (run {}, actor api)", model->name,
               call.segment ? " segment " + *call.segment : "", call.full ? " (full)" : "",
               job->name, run_id ? std::to_string(*run_id) : "waiting");
  HttpResponse r;
  r.status = 202;
  r.body = json{{"run_id", run_id ? json(*run_id) : json(nullptr)},
                {"job", job->name},
                {"scheduled", FormatInstant(at, config.tz)},
                {"segment", call.segment ? json(*call.segment) : json(nullptr)},
                {"full", call.full}}
               .dump();
  return r;
}

void DaemonApiSide::RunCli(const std::vector<std::string>& args,
                           std::function<void(const ProcessExecutor::ToolResult&)> done) {
  std::vector<std::string> argv = {mlcron_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  if (Status s = executor_->StartTool(argv, done); !s.ok()) {
    ProcessExecutor::ToolResult failed;
    failed.exit.exit_code = 1;
    failed.err = s.message();
    done(failed);
  }
}

}  // namespace mlcron
