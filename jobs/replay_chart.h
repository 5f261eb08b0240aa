// The replay's chart: a model's live metric per week (a rolling mean over four weeks, so
// that a week of few matches does not dominate), one line per policy, with a tick under the
// line for every full retrain of that policy. Plain SVG written by hand, like the history
// chart: no plotting library is in the stack and the drawing is a few dozen elements.
#pragma once

#include <string>
#include <vector>

#include "daemon/status.h"
#include "jobs/replay_run.h"

namespace date {
class time_zone;
}

namespace mlcron {

Result<std::string> LiveChartSvg(const std::vector<PolicyRun>& runs, const std::string& model,
                                 const date::time_zone* tz);

}  // namespace mlcron
