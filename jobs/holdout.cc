#include "jobs/holdout.h"

#include <algorithm>
#include <cmath>

namespace mlcron {

std::int64_t HoldoutRows(std::int64_t pool_rows, double fraction) {
  if (pool_rows <= 0 || !(fraction > 0)) return 0;
  const double x = static_cast<double>(pool_rows) * fraction;
  const double nearest = std::round(x);
  if (std::abs(x - nearest) <= 1e-9 * std::max(1.0, x)) return static_cast<std::int64_t>(nearest);
  return static_cast<std::int64_t>(std::floor(x));
}

SplitPlan PlanSplit(std::span<const std::int64_t> times, const SplitRequest& request) {
  SplitPlan plan;
  const size_t n = times.size();
  // A precondition, but a silent wrong split would let a model see its own holdout.
  if (auto it = std::is_sorted_until(times.begin(), times.end()); it != times.end()) {
    const size_t i = static_cast<size_t>(it - times.begin());
    plan.infeasible = "rows are not sorted by time: row " + std::to_string(i) + " (time " +
                      std::to_string(times[i]) + ") follows time " + std::to_string(times[i - 1]);
    return plan;
  }

  // Rows at or before the watermark were production's training rows: never holdout.
  const size_t pool_begin =
      request.watermark
          ? static_cast<size_t>(std::upper_bound(times.begin(), times.end(), *request.watermark) -
                                times.begin())
          : 0;
  const auto k =
      static_cast<size_t>(HoldoutRows(static_cast<std::int64_t>(n - pool_begin), request.fraction));

  size_t cut = n - k;
  if (k > 0) {
    // Move back to the first row of the cut's timestamp so no time is on both sides. Every
    // row from pool_begin on is newer than the watermark and every row before it is not, so
    // the group cannot start before the pool; the clamp states that invariant.
    const auto group = std::lower_bound(times.begin(), times.end(), times[cut]);
    cut = std::max(static_cast<size_t>(group - times.begin()), pool_begin);
  }
  plan.holdout_begin = cut;
  plan.holdout_end = n;
  plan.train_end = cut;
  if (request.incremental) {
    plan.train_begin = pool_begin;
  } else if (request.window_seconds && cut < n) {
    const std::int64_t from = times[cut] - *request.window_seconds;
    plan.train_begin =
        static_cast<size_t>(std::lower_bound(times.begin(), times.end(), from) - times.begin());
  }
  plan.train_begin = std::min(plan.train_begin, plan.train_end);

  const auto holdout_rows = static_cast<std::int64_t>(n - cut);
  const std::int64_t needed = std::max<std::int64_t>(request.min_holdout_rows, 1);
  if (holdout_rows < needed) {
    plan.infeasible =
        "waiting for unseen rows: " + std::to_string(holdout_rows) + " < " + std::to_string(needed);
  } else if (plan.train_begin == plan.train_end) {
    plan.infeasible = "no training rows before the holdout";
  }
  return plan;
}

}  // namespace mlcron
