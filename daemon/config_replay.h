// Internal to the config loader: reads and checks the `replay:` section (DESIGN.md §9).
#pragma once

#include "daemon/replay_config.h"
#include "daemon/yaml_reader.h"

namespace mlcron {

struct JobConfig;

ReplayConfig ReadReplay(const Field& replay, ErrorSink* errors);

// Every source table is written by at most one import job; without one, `key:` is required.
// Errors point at the source.
void CheckReplaySources(const ReplayConfig& replay, const std::vector<JobConfig>& jobs,
                        ErrorSink* errors);

}  // namespace mlcron
