// The head of a run's log file, which the scheduler echoes into the daemon's own log when a
// built-in job ends: an operator tailing `journalctl -u mlcrond` (or the terminal of
// `mlcrond --run-now`) sees each retrain decision with its reasons, not only "succeeded".
// Bounded, because this runs on the loop thread: at most `max_lines` lines and `max_bytes`.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace mlcron {

inline constexpr size_t kEchoLines = 40;
inline constexpr size_t kEchoBytes = 8192;

// The first lines of `path` (without newlines, empty lines skipped). When the file has more,
// the last element says how many bytes were left out and where to read them. A missing file
// gives nothing.
std::vector<std::string> ReadOutputHead(const std::string& path, size_t max_lines = kEchoLines,
                                        size_t max_bytes = kEchoBytes);

}  // namespace mlcron
