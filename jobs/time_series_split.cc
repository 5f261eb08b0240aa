#include "jobs/time_series_split.h"

#include <string>

namespace mlcron {
namespace {

std::string S(std::int64_t v) { return std::to_string(v); }

// Moves a boundary forward past the rows that share the time of the row before it, so the
// boundary falls where a new timestamp starts (or at n).
std::int64_t ToNewTimestamp(std::span<const std::int64_t> times, std::int64_t b) {
  const auto n = static_cast<std::int64_t>(times.size());
  while (b > 0 && b < n && times[b] == times[b - 1]) ++b;
  return b;
}

}  // namespace

Result<std::vector<Fold>> TimeSeriesSplit(std::int64_t n, const SplitOptions& options) {
  const std::int64_t n_splits = options.n_splits;
  if (n_splits < 2) {
    // scikit-learn's _BaseKFold constructor refuses this before any split.
    return Status::Error(
        "k-fold cross-validation requires at least one train/test split by setting n_splits=2 "
        "or more, got n_splits=" +
        S(n_splits) + ".");
  }
  // scikit-learn leaves these unchecked (a zero step fails inside range(), a negative gap or
  // max_train_size gives odd windows); here they are plain errors.
  if (options.test_size && *options.test_size < 1) {
    return Status::Error("test_size must be at least 1, got test_size=" + S(*options.test_size) +
                         ".");
  }
  if (options.gap < 0)
    return Status::Error("gap must be at least 0, got gap=" + S(options.gap) + ".");
  if (options.max_train_size && *options.max_train_size < 1) {
    return Status::Error("max_train_size must be at least 1, got max_train_size=" +
                         S(*options.max_train_size) + ".");
  }

  const std::int64_t n_folds = n_splits + 1;
  const std::int64_t gap = options.gap;
  const std::int64_t test_size = options.test_size.value_or(n / n_folds);
  if (n_folds > n) {
    return Status::Error("Cannot have number of folds=" + S(n_folds) +
                         " greater than the number of samples=" + S(n) + ".");
  }
  // scikit-learn's `n - gap - test_size * n_splits <= 0`, written so that a huge test_size
  // cannot overflow: with rest = n - gap > 0 it is test_size >= ceil(rest / n_splits).
  const std::int64_t rest = n - gap;
  if (rest <= 0 || test_size >= (rest + n_splits - 1) / n_splits) {
    return Status::Error("Too many splits=" + S(n_splits) + " for number of samples=" + S(n) +
                         " with test_size=" + S(test_size) + " and gap=" + S(gap) + ".");
  }

  std::vector<Fold> folds;
  folds.reserve(static_cast<size_t>(n_splits));
  for (std::int64_t test_start = n - n_splits * test_size; test_start < n;
       test_start += test_size) {
    Fold f;
    f.train_end = test_start - gap;
    if (options.max_train_size && *options.max_train_size < f.train_end) {
      f.train_begin = f.train_end - *options.max_train_size;
    }
    f.test_begin = test_start;
    f.test_end = test_start + test_size;
    folds.push_back(f);
  }
  return folds;
}

Result<std::vector<Fold>> TimeSeriesSplitByTime(std::span<const std::int64_t> times,
                                                const SplitOptions& options) {
  for (size_t i = 1; i < times.size(); ++i) {
    if (times[i] < times[i - 1]) {
      return Status::Error("by time: the rows are not in time order (row " + std::to_string(i) +
                           " is earlier than row " + std::to_string(i - 1) + ")");
    }
  }
  Result<std::vector<Fold>> folds =
      TimeSeriesSplit(static_cast<std::int64_t>(times.size()), options);
  if (!folds.ok()) return folds;
  const size_t count = folds->size();
  for (size_t i = 0; i < count; ++i) {
    Fold& f = (*folds)[i];
    const Fold rows = f;
    f.train_begin = ToNewTimestamp(times, f.train_begin);
    f.train_end = ToNewTimestamp(times, f.train_end);
    f.test_begin = ToNewTimestamp(times, f.test_begin);
    f.test_end = ToNewTimestamp(times, f.test_end);
    const bool no_train = f.train_begin >= f.train_end;
    if (no_train || f.test_begin >= f.test_end) {
      const std::string what = no_train ? "train" : "test";
      const std::int64_t begin = no_train ? rows.train_begin : rows.test_begin;
      const std::int64_t end = no_train ? rows.train_end : rows.test_end;
      const std::string rows_text = end - begin == 1
                                        ? "row " + S(begin) + " has"
                                        : "rows " + S(begin) + ".." + S(end - 1) + " have";
      return Status::Error("by time: fold " + std::to_string(i + 1) + " of " +
                           std::to_string(count) + " has no " + what + " rows: " + rows_text +
                           " the same time as row " + S(begin - 1) +
                           "; use fewer folds, a larger test_size or by: rows");
    }
  }
  return folds;
}

}  // namespace mlcron
