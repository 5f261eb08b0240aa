// A model's `tuning:` section (DESIGN.md §6 `tune`): the search method, the time-series
// cross-validation and the search space. Built and checked by config_tuning.cc as part of
// the model; immutable afterwards like the rest of Config.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/source_pos.h"

namespace mlcron {

// One searched XGBoost parameter.
//   {int: [lo, hi], step: s}       integers lo, lo+s, ... <= hi (step default 1)
//   {float: [lo, hi], log: true}   reals in [lo, hi], sampled on a log scale when `log`
//   {float: [lo, hi], step: s}     reals lo, lo+s, ... <= hi
//   {choice: [a, b, ...]}          one of the values, kept as written (strings)
struct SpaceParam {
  enum class Kind { kInt, kFloat, kChoice };
  std::string name;  // the XGBoost parameter ("max_depth")
  Kind kind = Kind::kFloat;
  double lo = 0, hi = 0;
  std::optional<double> step;
  bool log = false;
  std::vector<std::string> choices;
  SourcePos pos;
};

struct TuningConfig {
  enum class Method { kGrid, kRandom, kTpe };
  enum class Prune { kNone, kMedian };
  Method method = Method::kTpe;
  int trials = 30;  // grid: at most this many of the grid's points (all when the grid is smaller)
  int folds = 5;
  std::int64_t gap = 0;                   // rows left out between train and test
  std::optional<std::int64_t> test_size;  // default n / (folds + 1)
  std::optional<std::int64_t> max_train_size;
  bool by_time = false;  // `by: time`: never one timestamp on both sides of a fold boundary
  std::string metric;    // default: the model's metric
  Prune prune = Prune::kNone;
  std::uint64_t seed = 0;
  std::vector<SpaceParam> space;  // file order
  SourcePos pos;
};

}  // namespace mlcron
