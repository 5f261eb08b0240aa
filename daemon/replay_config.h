// The `replay:` section of the config (DESIGN.md §9): which tables `mlcron replay` reveals
// row by row under its simulated clock, by which time column, and which of their columns are
// labels (hidden until the end of the row's day). Built and checked by config_replay.cc; the
// tables and columns themselves are checked against the data when a replay starts.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "daemon/source_pos.h"

namespace mlcron {

struct ReplaySource {
  std::string table;                // filled by the import job that writes it, or by the data db
  std::string time;                 // a date, an ISO time or unix seconds
  std::vector<std::string> labels;  // NULL until the end of the row's (local) day
  std::chrono::seconds reveal_ahead{86400};  // rows appear this long before their time
  std::vector<std::string> key;              // needed only when no import job writes `table`
  SourcePos pos;
};

struct ReplayConfig {
  std::vector<ReplaySource> sources;
  SourcePos pos;
  bool present() const { return !sources.empty(); }
};

}  // namespace mlcron
