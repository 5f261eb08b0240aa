// Grid and random search, the parameter formatting and the median pruner; TPE lives in
// tpe_sampler.cc, the shared random streams in search_random.cc.
#include "jobs/search.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_map>

#include "jobs/search_random.h"

namespace mlcron {
namespace {

using sampling::GridValue;
using sampling::StepCount;

std::string FieldName(const SpaceParam& p) {
  std::string name = "tuning.space." + p.name;
  if (p.pos.line > 0) name += " (line " + std::to_string(p.pos.line) + ")";
  return name;
}

// The number of grid points of one parameter; 0 for a float range without a step.
std::int64_t Points(const SpaceParam& p) {
  if (p.kind == SpaceParam::Kind::kChoice) return static_cast<std::int64_t>(p.choices.size());
  return StepCount(p);
}

class GridSampler : public Sampler {
 public:
  GridSampler(std::vector<SpaceParam> space, std::uint64_t seed, std::int64_t size)
      : space_(std::move(space)), seed_(seed), size_(size) {}

  ParamValues Next(int trial, const std::vector<FinishedTrial>& /*done*/) override {
    std::int64_t index = PermutedIndex(trial % size_);
    // Mixed-radix decoding: the last parameter varies fastest, as in a nested loop written
    // in space order.
    ParamValues values;
    for (auto it = space_.rbegin(); it != space_.rend(); ++it) {
      const std::int64_t points = Points(*it);
      const std::int64_t k = index % points;
      index /= points;
      values[it->name] =
          it->kind == SpaceParam::Kind::kChoice ? static_cast<double>(k) : GridValue(*it, k);
    }
    return values;
  }

 private:
  // Position t of a seeded Fisher–Yates shuffle of 0..size-1, replayed sparsely (only the
  // swapped slots are stored) so that a huge grid costs O(t), not O(size).
  std::int64_t PermutedIndex(std::int64_t t) const {
    std::mt19937_64 rng = sampling::TrialRng(seed_, 0, sampling::Stream::kGrid);
    std::unordered_map<std::int64_t, std::int64_t> moved;
    auto at = [&moved](std::int64_t i) {
      auto it = moved.find(i);
      return it == moved.end() ? i : it->second;
    };
    std::int64_t chosen = 0;
    for (std::int64_t i = 0; i <= t; ++i) {
      const std::int64_t j = i + static_cast<std::int64_t>(sampling::UniformIndex(rng, size_ - i));
      chosen = at(j);
      moved[j] = at(i);
      moved[i] = chosen;
    }
    return chosen;
  }

  std::vector<SpaceParam> space_;
  std::uint64_t seed_;
  std::int64_t size_;
};

class RandomSampler : public Sampler {
 public:
  RandomSampler(std::vector<SpaceParam> space, std::uint64_t seed)
      : space_(std::move(space)), seed_(seed) {}

  ParamValues Next(int trial, const std::vector<FinishedTrial>& /*done*/) override {
    return sampling::RandomParams(space_, seed_, trial);
  }

 private:
  std::vector<SpaceParam> space_;
  std::uint64_t seed_;
};

}  // namespace

std::map<std::string, std::string> ToXgbParams(const std::vector<SpaceParam>& space,
                                               const ParamValues& values) {
  std::map<std::string, std::string> out;
  for (const SpaceParam& p : space) {
    auto it = values.find(p.name);
    if (it == values.end()) continue;
    const double v = it->second;
    switch (p.kind) {
      case SpaceParam::Kind::kInt:
        out[p.name] = std::to_string(std::llround(v));
        break;
      case SpaceParam::Kind::kFloat: {
        // 6 significant digits: XGBoost keeps float params as 32-bit floats (about 7 digits),
        // so more would only be noise in logs, fingerprints and decisions.
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6g", v);
        out[p.name] = buf;
        break;
      }
      case SpaceParam::Kind::kChoice: {
        const long long k = std::llround(v);
        if (k >= 0 && static_cast<size_t>(k) < p.choices.size()) out[p.name] = p.choices[k];
        break;
      }
    }
  }
  return out;
}

std::int64_t GridSize(const std::vector<SpaceParam>& space) {
  if (space.empty()) return 0;
  std::int64_t size = 1;
  for (const SpaceParam& p : space) {
    const std::int64_t points = Points(p);
    if (points <= 0) return 0;
    // Saturate rather than overflow: such a grid is never walked to the end anyway.
    if (size > std::numeric_limits<std::int64_t>::max() / points) {
      return std::numeric_limits<std::int64_t>::max();
    }
    size *= points;
  }
  return size;
}

Result<std::unique_ptr<Sampler>> MakeGridSampler(const std::vector<SpaceParam>& space,
                                                 std::uint64_t seed) {
  if (space.empty()) return Status::Error("tuning.space: grid search needs at least one parameter");
  for (const SpaceParam& p : space) {
    if (Points(p) > 0) continue;
    if (p.kind == SpaceParam::Kind::kFloat && !p.step) {
      return Status::Error(FieldName(p) +
                           ": grid search needs a `step` for a float range (or use method: "
                           "random or tpe)");
    }
    return Status::Error(FieldName(p) + ": has no grid points");
  }
  return std::unique_ptr<Sampler>(new GridSampler(space, seed, GridSize(space)));
}

std::unique_ptr<Sampler> MakeRandomSampler(const std::vector<SpaceParam>& space,
                                           std::uint64_t seed) {
  return std::make_unique<RandomSampler>(space, seed);
}

bool MedianPruner::ShouldPrune(const std::vector<std::vector<double>>& history, int step,
                               double running_mean) const {
  // Optuna prunes a trial whose reported value is NaN.
  if (std::isnan(running_mean)) return true;
  if (history.empty() || static_cast<int>(history.size()) < startup_trials || step < 0) {
    return false;
  }
  std::vector<double> at_step;
  for (const std::vector<double>& means : history) {
    if (static_cast<size_t>(step) < means.size() && !std::isnan(means[step])) {
      at_step.push_back(means[step]);
    }
  }
  if (at_step.empty()) return false;
  std::sort(at_step.begin(), at_step.end());
  const size_t n = at_step.size();
  // numpy's percentile(·, 50) with linear interpolation: the mean of the middle pair.
  const double median =
      n % 2 == 1 ? at_step[n / 2] : at_step[n / 2 - 1] + (at_step[n / 2] - at_step[n / 2 - 1]) / 2;
  return running_mean > median;
}

}  // namespace mlcron
