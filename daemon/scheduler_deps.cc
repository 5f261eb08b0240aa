// Dependency binding (DESIGN.md §4): a downstream occurrence at t waits for, runs after, or
// is skipped because of the latest occurrence s <= t of each upstream job.
#include <algorithm>

#include "daemon/scheduler.h"
#include "daemon/scheduler_types.h"
#include "daemon/time_format.h"

namespace mlcron {
namespace {

std::string Describe(const RunRecord& r) {
  switch (r.status) {
    case RunStatus::kSkipped:
      return "was skipped (" + r.reason + ")";
    case RunStatus::kMissed:
      return "missed its run";
    case RunStatus::kInterrupted:
      return "was interrupted";
    default:
      break;
  }
  std::string text = std::string(RunStatusName(r.status));
  if (!r.reason.empty()) text += " (" + r.reason + ")";
  return text;
}

}  // namespace

Scheduler::DepVerdict Scheduler::CheckUpstreams(const Occurrence& occ, std::string* reason) {
  const JobConfig& job = occ.job_config();
  const Config& config = *occ.config;
  const bool all_done = job.trigger == Trigger::kAllDone;
  bool wait = false;
  std::string skip_reason;

  for (size_t up_index : job.upstream) {
    const std::string& up = config.jobs[up_index].name;
    if (occ.batch != 0) {
      // Within a batch only the batch's own jobs bind, all at the batch's instant.
      const auto& members = batches_[occ.batch];
      auto it = members.find(up);
      if (it == members.end()) continue;
      if (!it->second) {
        wait = true;
        *reason = "upstream " + up + " did not finish";
      } else if (*it->second != RunStatus::kSucceeded && skip_reason.empty()) {
        skip_reason = "upstream " + up + " " + std::string(RunStatusName(*it->second));
      }
      continue;
    }

    // The bound instant: the latest of the upstream's schedule, its waiting or running
    // occurrences, and its recorded runs, at or before t.
    std::optional<Instant> bound =
        config.TierOf(config.jobs[up_index]).schedule.PrevAtOrBefore(occ.scheduled, config.tz);
    bool in_flight = false;
    for (const auto& other : occurrences_) {
      if (!other || other->job != up || other->scheduled > occ.scheduled) continue;
      if (!bound || other->scheduled >= *bound) {
        bound = other->scheduled;
        in_flight = true;
      }
    }
    auto recorded = store_->LatestRunAtOrBefore(up, occ.scheduled);
    std::optional<RunRecord> record = recorded.ok() ? *recorded : std::nullopt;
    if (record && (!bound || record->scheduled > *bound)) {
      bound = record->scheduled;
      in_flight = false;
    }
    // An occurrence in flight at the bound instant wins over an earlier attempt's record.
    if (in_flight ||
        (bound && std::any_of(occurrences_.begin(), occurrences_.end(), [&](const auto& o) {
           return o && o->job == up && o->scheduled == *bound;
         }))) {
      wait = true;
      *reason = "upstream " + up + " did not finish";
      continue;
    }
    if (!bound) continue;  // the upstream has never been due: nothing to bind to
    if (record && record->scheduled == *bound) {
      if (record->status == RunStatus::kSucceeded) continue;
      if (skip_reason.empty()) skip_reason = "upstream " + up + " " + Describe(*record);
      continue;
    }
    if (skip_reason.empty()) {
      skip_reason = "upstream " + up + " never ran for " + FormatInstant(*bound, config.tz);
    }
  }

  if (wait) return DepVerdict::kWait;
  if (!skip_reason.empty() && !all_done) {
    *reason = skip_reason;
    return DepVerdict::kSkip;
  }
  return DepVerdict::kReady;
}

}  // namespace mlcron
