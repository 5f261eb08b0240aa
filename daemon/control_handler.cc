#include "daemon/control_handler.h"

#include "daemon/scheduler.h"
#include "daemon/time_format.h"

namespace mlcron {
namespace {

using nlohmann::json;

json Error(const std::string& message) { return {{"ok", false}, {"error", message}}; }

json StatusReply(const Scheduler& scheduler) {
  const Config& config = scheduler.config();
  const SchedulerStatus status = scheduler.GetStatus();
  const json running = RunningJson(status, config);
  json next = json::array();
  for (const auto& n : status.next) {
    next.push_back({{"job", n.job},
                    {"next", n.at ? json(FormatInstant(*n.at, config.tz)) : json(nullptr)},
                    {"paused", n.paused}});
  }
  return {{"ok", true},
          {"daemon_running", true},
          {"config", config.path},
          {"config_sha256", config.sha256},
          {"running", running},
          {"next", next},
          {"waiting", status.pending}};
}

}  // namespace

json RunningJson(const SchedulerStatus& status, const Config& config) {
  json running = json::array();
  for (const auto& r : status.running) {
    running.push_back({{"run_id", r.run_id},
                       {"job", r.job},
                       {"scheduled", FormatInstant(r.scheduled, config.tz)},
                       {"attempt", r.attempt},
                       {"pid", r.pid},
                       {"started", FormatTimePoint(r.started, config.tz)}});
  }
  return running;
}

json HandleControl(Scheduler& scheduler, const json& request) {
  const std::string cmd = request.value("cmd", "");
  if (cmd == "status") return StatusReply(scheduler);
  if (cmd == "pause" || cmd == "resume") {
    const std::string name = request.value("name", "");
    Status s = cmd == "pause" ? scheduler.Pause(name) : scheduler.Resume(name);
    return s.ok() ? json{{"ok", true}} : Error(s.message());
  }
  if (cmd == "kill") {
    if (!request.contains("run_id") || !request["run_id"].is_number_integer()) {
      return Error("kill needs an integer run_id");
    }
    Status s = scheduler.Kill(request["run_id"].get<std::int64_t>());
    return s.ok() ? json{{"ok", true}} : Error(s.message());
  }
  if (cmd == "run") {
    const Config& config = scheduler.config();
    const std::string job = request.value("job", "");
    auto index = config.JobIndex(job);
    if (!index) return Error("no job named \"" + job + "\"");
    auto at = ParseInstant(request.value("at", ""), config.tz);
    if (!at.ok()) return Error(at.message());
    const int batch = scheduler.QueueBatch({*index}, *at, "manual");
    return {{"ok", true}, {"batch", batch}, {"scheduled", FormatInstant(*at, config.tz)}};
  }
  return Error("unknown command \"" + cmd + "\"");
}

}  // namespace mlcron
