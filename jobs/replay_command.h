// `command` jobs marked `replay: true` in a replay (DESIGN.md §9): started like the daemon
// starts them (no shell, own process group, argv placeholders of the simulated occurrence),
// but pointed at the replay's scratch databases and waited for, since the replay's clock
// only moves on when the occurrence's jobs are done.
#pragma once

#include <ostream>
#include <string>

#include "daemon/config.h"
#include "daemon/status.h"

namespace mlcron {

// `config` is the replay's (scratch state_dir and data path). The command's output goes to
// `log_path` and is then copied to `log`. An exit other than 0, a signal or the job's timeout
// is an error saying how it ended (the caller names the job and the occurrence).
Status RunReplayCommand(const Config& config, const JobConfig& job, Instant at,
                        const std::string& run_id, const std::string& policy,
                        const std::string& log_path, std::ostream& log);

}  // namespace mlcron
