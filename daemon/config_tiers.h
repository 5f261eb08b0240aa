// Internal to the config loader: reads the `tiers:` section into tiers and jobs in file
// order, plus the names and positions the graph resolver (config_graph.h) needs.
#pragma once

#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/config_graph.h"
#include "daemon/yaml_reader.h"

namespace mlcron {

struct ParsedTiers {
  std::vector<TierConfig> tiers;  // file order; TierConfig::jobs holds file job indices
  std::vector<JobConfig> jobs;    // file order
  GraphInput graph;               // parallel to tiers and jobs
};

// Reads and checks every tier and job. Jobs start from `defaults`; relative `cwd`s resolve
// against `base_dir`. Tiers or jobs with errors are still returned (as far as they could be
// read) so the graph can be checked too; the caller discards the result if `errors` is not
// empty.
ParsedTiers ReadTiers(const Field& tiers, const JobDefaults& defaults, const std::string& base_dir,
                      ErrorSink* errors);

// Reads the settings a job inherits from `defaults:` (timeout, retries, ...) that `map` sets,
// over the values already in `settings`.
void ReadJobSettings(MapReader& map, JobDefaults* settings);

// Name rule for tiers and jobs: they appear in file names and on the command line.
bool IsValidName(std::string_view name);

// "/a/b" + "c" -> "/a/b/c"; absolute paths are kept. Both normalized lexically.
std::string ResolvePath(const std::string& base_dir, const std::string& path);

}  // namespace mlcron
