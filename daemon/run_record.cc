#include "daemon/run_record.h"

#include <array>
#include <utility>

namespace mlcron {
namespace {

// The names are stored in mlcron.db and printed by the CLI: never rename one.
constexpr std::array<std::pair<RunStatus, std::string_view>, 8> kNames = {{
    {RunStatus::kRunning, "running"},
    {RunStatus::kSucceeded, "succeeded"},
    {RunStatus::kFailed, "failed"},
    {RunStatus::kTimedOut, "timed_out"},
    {RunStatus::kKilled, "killed"},
    {RunStatus::kSkipped, "skipped"},
    {RunStatus::kMissed, "missed"},
    {RunStatus::kInterrupted, "interrupted"},
}};

}  // namespace

std::string_view RunStatusName(RunStatus s) {
  for (const auto& [status, name] : kNames) {
    if (status == s) return name;
  }
  return "unknown";
}

std::optional<RunStatus> ParseRunStatus(std::string_view name) {
  for (const auto& [status, n] : kNames) {
    if (n == name) return status;
  }
  return std::nullopt;
}

bool IsFinal(RunStatus s) {
  // `interrupted` is not final: the occurrence is retried once (DESIGN.md §4).
  return s != RunStatus::kRunning && s != RunStatus::kInterrupted;
}

}  // namespace mlcron
