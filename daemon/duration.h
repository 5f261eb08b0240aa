// Parsing of the config's durations ("90s", "15m", "6h", "1d", "2w", "1h30m") and byte
// sizes ("512K", "2G"). Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/status.h"

namespace mlcron {

// Units: s, m, h, d (24 h), w (7 d), y (365 d). Parts may be combined ("1h30m").
// A bare "0" is zero. Negative values, missing units and overflow are errors.
Result<std::chrono::seconds> ParseDuration(std::string_view text);

// Units: none (bytes), K, M, G, T (powers of 1024), optionally followed by "B" or "iB".
Result<std::uint64_t> ParseSize(std::string_view text);

// The shortest exact form: 90 → "90s", 900 → "15m", 86400 → "1d".
std::string FormatDuration(std::chrono::seconds d);

}  // namespace mlcron
