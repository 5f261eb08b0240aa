// The validated, immutable config model (DESIGN.md §3). Built only by config_loader; shared
// as std::shared_ptr<const Config> and swapped whole on reload, so readers on any thread
// see one consistent graph.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/api_config.h"
#include "daemon/job_params.h"
#include "daemon/model_config.h"
#include "daemon/replay_config.h"
#include "daemon/schedule.h"
#include "daemon/source_pos.h"

namespace date {
class time_zone;
}

namespace mlcron {

enum class Overlap { kSkip, kQueue, kReplace };
enum class Catchup { kNone, kLatest, kAll };
enum class Trigger { kAllSuccess, kAllDone };

// Lets the name indexes below be searched with a string_view.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using NameIndex = std::unordered_map<std::string, size_t, NameHash, std::equal_to<>>;

// Settings every job inherits from `defaults:` unless it sets its own.
struct JobDefaults {
  std::chrono::seconds timeout{30 * 60};
  int retries = 0;
  std::chrono::seconds retry_delay{30};
  std::chrono::seconds kill_grace{10};
  Overlap overlap = Overlap::kSkip;
  Catchup catchup = Catchup::kLatest;
  std::chrono::seconds catchup_window{86400};
  int max_catchup = 10;
  std::uint64_t log_max_bytes = 10ull << 20;  // per-run log capture cap
};

struct JobConfig {
  std::string name;
  std::string kind = "command";  // command | import | features | retrain | signals | tune
  size_t tier_index = 0;         // into Config::tiers

  // command jobs
  std::vector<std::string> argv;  // {date}-style placeholders expand per run
  bool shell = false;             // argv is [script] run by /bin/sh -c only when asked
  bool replay = false;            // `mlcron replay` runs it too (DESIGN.md §9)
  std::map<std::string, std::string> env;
  std::string cwd;  // absolute; empty means the config's folder
  // Keys of the built-in kinds (file, sql, model, input, output, ...).
  BuiltinJobParams builtin;

  std::vector<std::string> after;  // as written on the job
  // Resolved upstream jobs (indices into Config::jobs): the tier's `after` expanded to jobs,
  // plus the job's own. Sorted, no duplicates.
  std::vector<size_t> upstream;

  std::chrono::seconds timeout{0};  // 0 = none
  int retries = 0;
  std::chrono::seconds retry_delay{0};
  std::chrono::seconds kill_grace{0};
  Overlap overlap = Overlap::kSkip;
  Catchup catchup = Catchup::kLatest;
  std::chrono::seconds catchup_window{0};
  int max_catchup = 0;
  Trigger trigger = Trigger::kAllSuccess;
  std::vector<std::string> on_failure;  // argv; run once after the last attempt fails
  std::optional<int> nice;
  std::optional<std::uint64_t> memory_max_bytes;
  std::uint64_t log_max_bytes = 0;

  SourcePos pos;
};

struct TierConfig {
  double tier = 0;  // ordering key: 4, 4.5, 5
  std::string name;
  Schedule schedule;
  std::vector<std::string> after;  // as written
  std::vector<size_t> jobs;        // indices into Config::jobs, in dependency order
  SourcePos pos;
};

struct Config {
  std::string path;      // absolute path of the file it was loaded from
  std::string base_dir;  // relative paths resolve against this
  std::string text;      // the exact bytes loaded (snapshotted for children)
  std::string sha256;    // hex digest of text

  std::string timezone_name = "UTC";
  const date::time_zone* tz = nullptr;
  std::string state_dir;  // absolute
  std::string log_dir;    // absolute
  std::string data_path;  // absolute
  int max_parallel = 2;
  std::chrono::seconds history_keep{90 * 86400};
  JobDefaults defaults;

  std::vector<TierConfig> tiers;  // ascending by tier number
  std::vector<JobConfig> jobs;    // tier order, then dependency order within a tier

  // Name -> index into jobs / tiers, filled by the loader. The lookups below fall back to a
  // scan when these are stale, so a Config built by hand (in tests) needs no index.
  NameIndex job_index;
  NameIndex tier_index;

  std::vector<ModelConfig> models;  // `models:` in file order
  ReplayConfig replay;              // `replay:`; empty when absent
  ApiConfig api;                    // `api:`; disabled when absent

  const ModelConfig* FindModel(std::string_view name) const;

  const JobConfig* FindJob(std::string_view name) const;
  const TierConfig* FindTier(std::string_view name) const;
  const TierConfig& TierOf(const JobConfig& job) const { return tiers[job.tier_index]; }
  std::optional<size_t> JobIndex(std::string_view name) const;
};

}  // namespace mlcron
