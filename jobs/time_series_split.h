// Time-series cross-validation folds, equal to scikit-learn 1.2's TimeSeriesSplit, plus a
// date-aware mode. Pure; thread-safe. Rows are indices 0..n-1 in time order.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "daemon/status.h"

namespace mlcron {

struct Fold {
  std::int64_t train_begin = 0, train_end = 0;  // [train_begin, train_end)
  std::int64_t test_begin = 0, test_end = 0;    // [test_begin, test_end)
  bool operator==(const Fold&) const = default;
};

struct SplitOptions {
  int n_splits = 5;
  std::optional<std::int64_t> test_size;  // default n / (n_splits + 1)
  std::int64_t gap = 0;
  std::optional<std::int64_t> max_train_size;
};

// scikit-learn 1.2 TimeSeriesSplit(n_splits, max_train_size, test_size, gap).split(range(n)),
// with its errors (same wording):
//   "Cannot have number of folds=4 greater than the number of samples=3."
//   "Too many splits=5 for number of samples=10 with test_size=2 and gap=3."
// and n_splits < 2: "k-fold cross-validation requires at least one train/test split by
// setting n_splits=2 or more, got n_splits=1."
Result<std::vector<Fold>> TimeSeriesSplit(std::int64_t n, const SplitOptions& options);

// By time: the same folds computed on rows, then every boundary moved forward to the first
// row of a new timestamp, so that no timestamp is on both sides of a train/test or gap
// boundary. `times` ascending, size n. Errors as above, plus a fold that becomes empty.
Result<std::vector<Fold>> TimeSeriesSplitByTime(std::span<const std::int64_t> times,
                                                const SplitOptions& options);

}  // namespace mlcron
