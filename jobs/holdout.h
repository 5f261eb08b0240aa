// The holdout split of DESIGN.md §7 over rows sorted by time: the newest `fraction` of the
// labelled rows after production's watermark, cut on a time boundary so that no timestamp
// falls on both sides. Pure; indices refer to the sorted rows.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace mlcron {

struct SplitRequest {
  std::optional<std::int64_t> watermark;  // production's newest training time (unix s)
  double fraction = 0.2;
  std::int64_t min_holdout_rows = 20;
  bool incremental = false;                    // train only on rows after the watermark
  std::optional<std::int64_t> window_seconds;  // full: only rows within this of the cut
};

struct SplitPlan {
  size_t train_begin = 0;  // [train_begin, train_end)
  size_t train_end = 0;
  size_t holdout_begin = 0;  // [holdout_begin, holdout_end)
  size_t holdout_end = 0;
  // Non-empty when the split is infeasible, e.g. "waiting for unseen rows: 12 < 20" or
  // "no training rows before the holdout"; the decision then becomes skip.
  std::string infeasible;
  bool ok() const { return infeasible.empty(); }
};

// k = floor(pool_rows × fraction), the holdout size before the timestamp cut extends it.
// Products that miss an integer by float error only (100 × 0.29 = 28.999…) count as that
// integer. Decide() and PlanSplit() share it so the plan never contradicts the decision.
std::int64_t HoldoutRows(std::int64_t pool_rows, double fraction);

// The pool is the rows with time > watermark (all rows without one). k = floor(pool ×
// fraction) newest rows form the holdout, extended back to the start of the first holdout
// row's timestamp. Full training takes the rows before the holdout (within the window);
// incremental only those after the watermark.
SplitPlan PlanSplit(std::span<const std::int64_t> times, const SplitRequest& request);

}  // namespace mlcron
