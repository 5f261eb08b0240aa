// Helpers for the config loader tests: load YAML text under a fixed path, and render its
// errors as "LINE:COL: message" for exact comparison.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "daemon/config_loader.h"

namespace mlcron::testing {

inline constexpr const char* kConfigPath = "/etc/mlcron/mlcron.yaml";

inline LoadResult LoadText(std::string_view yaml) { return LoadConfigText(yaml, kConfigPath); }

inline std::vector<std::string> Errors(const LoadResult& r) {
  std::vector<std::string> out;
  for (const ConfigError& e : r.errors) {
    out.push_back(std::to_string(e.line) + ":" + std::to_string(e.col) + ": " + e.message);
  }
  return out;
}

inline std::vector<std::string> Errors(std::string_view yaml) {
  LoadResult r = LoadText(yaml);
  EXPECT_FALSE(r.ok());
  return Errors(r);
}

}  // namespace mlcron::testing
