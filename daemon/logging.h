// Logging setup for both executables: spdlog to stderr, with syslog-style "<N>" level
// prefixes and no timestamps when journald reads stderr (it adds its own), plus an
// optional size-rotated file.
#pragma once

#include <string>

namespace mlcron {

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error
  std::string file;            // optional rotating log file
};

void SetupLogging(const LogOptions& options);

}  // namespace mlcron
