#include "jobs/search_random.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mlcron::sampling {
namespace {

std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::mt19937_64 TrialRng(std::uint64_t seed, std::int64_t trial, Stream stream) {
  // Chained SplitMix64 steps mix all three inputs; mt19937_64's own seeding of a single
  // 64-bit value then spreads it over the state.
  std::uint64_t state = seed;
  std::uint64_t mixed = SplitMix64(state);
  state = mixed ^ static_cast<std::uint64_t>(trial);
  mixed = SplitMix64(state);
  state = mixed ^ static_cast<std::uint64_t>(stream);
  return std::mt19937_64(SplitMix64(state));
}

double Uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

std::uint64_t UniformIndex(std::mt19937_64& rng, std::uint64_t n) {
  if (n <= 1) return 0;
  // Rejection above the largest multiple of n keeps every index equally likely.
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % n;
}

bool IsDiscrete(const SpaceParam& p) {
  return p.kind == SpaceParam::Kind::kInt ||
         (p.kind == SpaceParam::Kind::kFloat && p.step.has_value());
}

double StepOf(const SpaceParam& p) {
  if (p.step) return *p.step;
  return p.kind == SpaceParam::Kind::kInt ? 1.0 : 0.0;
}

std::int64_t StepCount(const SpaceParam& p) {
  const double step = StepOf(p);
  if (step <= 0 || p.hi < p.lo) return 0;
  return static_cast<std::int64_t>(std::floor((p.hi - p.lo) / step + 1e-9)) + 1;
}

double GridValue(const SpaceParam& p, std::int64_t k) {
  return p.lo + static_cast<double>(k) * StepOf(p);
}

double RoundToGrid(const SpaceParam& p, double x) {
  const double step = StepOf(p);
  const double last = GridValue(p, StepCount(p) - 1);
  return std::clamp(p.lo + std::round((x - p.lo) / step) * step, p.lo, last);
}

double RandomValue(const SpaceParam& p, std::mt19937_64& rng) {
  if (p.kind == SpaceParam::Kind::kChoice) {
    return static_cast<double>(UniformIndex(rng, p.choices.size()));
  }
  if (IsDiscrete(p)) {
    if (!p.log) {
      return GridValue(p, static_cast<std::int64_t>(UniformIndex(rng, StepCount(p))));
    }
    // Each grid point owns [v − step/2, v + step/2] on the log scale. A float grid whose
    // widened lower bound is not positive keeps lo (Optuna has no float step with log).
    const double half = StepOf(p) / 2;
    const double last = GridValue(p, StepCount(p) - 1);
    const double low = std::log(p.lo - half > 0 ? p.lo - half : p.lo);
    const double high = std::log(last + half);
    return RoundToGrid(p, std::exp(low + Uniform01(rng) * (high - low)));
  }
  if (p.log) {
    const double low = std::log(p.lo), high = std::log(p.hi);
    return std::clamp(std::exp(low + Uniform01(rng) * (high - low)), p.lo, p.hi);
  }
  return p.lo + Uniform01(rng) * (p.hi - p.lo);
}

ParamValues RandomParams(const std::vector<SpaceParam>& space, std::uint64_t seed,
                         std::int64_t trial) {
  std::mt19937_64 rng = TrialRng(seed, trial, Stream::kRandom);
  ParamValues values;
  for (const SpaceParam& p : space) values[p.name] = RandomValue(p, rng);
  return values;
}

}  // namespace mlcron::sampling
