// Turns control-socket requests into scheduler calls: status, pause, resume, kill and
// run (one job at an instant). Pure glue on the loop thread; see docs/cli-reference.md for the
// protocol.
#pragma once

#include <nlohmann/json.hpp>

namespace mlcron {

class Scheduler;

// Replies {"ok": true, ...} or {"ok": false, "error": "..."}.
nlohmann::json HandleControl(Scheduler& scheduler, const nlohmann::json& request);

}  // namespace mlcron
