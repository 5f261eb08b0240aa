// Turns control-socket requests into scheduler calls: status, pause, resume, kill and
// run (one job at an instant). Pure glue on the loop thread; see docs/cli-reference.md for the
// protocol.
#pragma once

#include <nlohmann/json.hpp>

namespace mlcron {

class Scheduler;
struct SchedulerStatus;
struct Config;

// Replies {"ok": true, ...} or {"ok": false, "error": "..."}.
nlohmann::json HandleControl(Scheduler& scheduler, const nlohmann::json& request);

// The running runs of a status snapshot, as both the control socket and the HTTP API show
// them: run_id, job, scheduled, attempt, pid, started.
nlohmann::json RunningJson(const SchedulerStatus& status, const Config& config);

}  // namespace mlcron
