// The samplers of a tuning study (DESIGN.md §6 `tune`): grid, seeded random search, and TPE
// faithful to Optuna's univariate defaults; plus the median pruner. Pure and deterministic for
// a seed: a sampler proposes the next trial's parameters from the finished trials only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/status.h"
#include "daemon/tuning_config.h"

namespace mlcron {

// A value of one parameter: numbers for int/float, the index into `choices` for a choice.
using ParamValues = std::map<std::string, double>;

// What XGBoost gets: "6" for an int, "0.031622776601683791" (%.17g,
// so the value reads back bit for bit) for a float, the choice
// text for a choice.
std::map<std::string, std::string> ToXgbParams(const std::vector<SpaceParam>& space,
                                               const ParamValues& values);

struct FinishedTrial {
  ParamValues params;
  double value = 0;      // the study's objective, lower is better (the caller negates a
                         // higher-is-better metric)
  bool complete = true;  // false for pruned or failed trials
  bool failed = false;   // with complete false: failed (TPE ignores it, as Optuna does) rather
                         // than pruned (TPE counts it as a bad trial, see docs/tuning.md)
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  // The parameters of trial number `trial` (0-based), given the trials finished so far.
  virtual ParamValues Next(int trial, const std::vector<FinishedTrial>& done) = 0;
};

// Grid: the cartesian product in space order (int: lo..hi by step; float: needs a step, or
// an error; choice: each), visited in a seeded shuffled order so a cut-short grid still
// spreads out; GridSize tells how many points there are.
Result<std::unique_ptr<Sampler>> MakeGridSampler(const std::vector<SpaceParam>& space,
                                                 std::uint64_t seed);
std::int64_t GridSize(const std::vector<SpaceParam>& space);
// Independent uniform draws (log-uniform for `log`, rounded to step for int/step).
std::unique_ptr<Sampler> MakeRandomSampler(const std::vector<SpaceParam>& space,
                                           std::uint64_t seed);
// Optuna 3.x TPESampler defaults (univariate): n_startup_trials 10 (random), n_ei_candidates
// 24, gamma(n) = min(ceil(0.1 n), 25), prior_weight 1, consider_magic_clip, consider_endpoints
// false, weights of Optuna's default_weights, log scale for `log`, int/step discretised,
// categorical with the prior.
std::unique_ptr<Sampler> MakeTpeSampler(const std::vector<SpaceParam>& space, std::uint64_t seed);

// Optuna's MedianPruner(n_startup_trials=5, n_warmup_steps=0, interval_steps=1): after fold k
// (step k), a trial is pruned when its running mean over folds 0..k is worse (higher) than the
// median of the running means at step k of the completed trials, once 5 trials completed.
class MedianPruner {
 public:
  // `history`: for each completed trial, its running means per step.
  bool ShouldPrune(const std::vector<std::vector<double>>& history, int step,
                   double running_mean) const;
  int startup_trials = 5;
};

}  // namespace mlcron
