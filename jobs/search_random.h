// The samplers' shared pieces (search.cc, tpe_sampler.cc): deterministic random streams and
// the grid of an int/step parameter. Draws use std::mt19937_64 (its output is fixed by the
// C++ standard) and hand-written transforms, since std::*_distribution may differ between
// standard libraries. Pure functions of their arguments; thread-compatible.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "daemon/tuning_config.h"
#include "jobs/search.h"

namespace mlcron::sampling {

// Which of a trial's independent streams: the random draw, TPE's candidates, the grid order.
enum class Stream : std::uint64_t { kRandom = 0, kTpe = 1, kGrid = 2 };

// A generator seeded from (seed, trial, stream) through SplitMix64, so that trial k's draw
// does not depend on how many draws earlier trials made (a resumed study proposes the same).
std::mt19937_64 TrialRng(std::uint64_t seed, std::int64_t trial, Stream stream);

double Uniform01(std::mt19937_64& rng);                             // [0, 1), 53 bits
std::uint64_t UniformIndex(std::mt19937_64& rng, std::uint64_t n);  // [0, n), unbiased

// An int (step default 1) or a float with a step is discrete.
bool IsDiscrete(const SpaceParam& p);
double StepOf(const SpaceParam& p);  // 1 for an int without a step; 0 for a continuous float
// Grid points lo, lo+step, ... <= hi (a float error of 1e-9 steps still counts hi in).
std::int64_t StepCount(const SpaceParam& p);
double GridValue(const SpaceParam& p, std::int64_t k);  // lo + k·step
// The nearest grid point to x, clipped to the grid (Optuna's round-and-clip).
double RoundToGrid(const SpaceParam& p, double x);

// One uniform draw: a choice index, a grid point, log-uniform for `log` (int/step: on the
// log of the bounds widened by step/2, then rounded, as Optuna's RandomSampler does).
double RandomValue(const SpaceParam& p, std::mt19937_64& rng);
// Trial `trial`'s random parameters for `seed` (stream kRandom), in space order.
ParamValues RandomParams(const std::vector<SpaceParam>& space, std::uint64_t seed,
                         std::int64_t trial);

}  // namespace mlcron::sampling
