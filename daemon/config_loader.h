// Loads and validates a config file into an immutable Config. Every problem becomes a
// ConfigError with the file, line and column of the offending YAML node; loading collects all
// errors it can instead of stopping at the first. Thread-safe (no shared state).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config.h"

namespace mlcron {

struct ConfigError {
  std::string file;
  int line = 0;  // 1-based; 0 when the error concerns the whole file
  int col = 0;
  std::string message;           // e.g. `tiers[1].at: "9:70" is not a time (expected HH:MM[:SS])`
  std::string ToString() const;  // "FILE:LINE:COL: message" (or "FILE: message")
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // null when errors is non-empty
  std::vector<ConfigError> errors;
  bool ok() const { return config != nullptr; }
  std::string ErrorText() const;  // all errors, one per line
};

inline constexpr std::size_t kMaxConfigBytes = 4u << 20;  // bounded input

struct LoadOptions {
  // Refuse a file that is group- or world-writable, or owned by another non-root user,
  // as sshd refuses loose permissions. Tests of the parser itself turn this off.
  bool check_permissions = true;
};

LoadResult LoadConfigFile(const std::string& path, const LoadOptions& options = {});
// Parses `text` as if read from `path` (used for messages and to resolve relative paths).
LoadResult LoadConfigText(std::string_view text, const std::string& path);

}  // namespace mlcron
