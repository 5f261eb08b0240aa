// TPE as Optuna 3.x's TPESampler with its defaults (univariate): random start-up trials,
// then per parameter a "below" and an "above" Parzen estimator and the best of 24 candidates
// drawn from below by log l(x) − log g(x). See docs/tuning.md for the formulas.
#include "jobs/tpe_sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "jobs/parzen_estimator.h"
#include "jobs/search.h"
#include "jobs/search_random.h"

namespace mlcron {
namespace {

constexpr size_t kStartupTrials = 10;
constexpr int kEiCandidates = 24;

// How one numeric parameter maps into the estimator's space (Optuna's _transform and the
// log-int "hack" of parzen_estimator.py).
struct Transform {
  bool log = false;
  bool round = false;  // an int/step value on the log scale, rounded back to its grid
  double low = 0, high = 0, step = 0;
};

Transform TransformOf(const SpaceParam& p) {
  Transform t;
  const bool discrete = sampling::IsDiscrete(p);
  const double step = sampling::StepOf(p);
  const double last = discrete ? sampling::GridValue(p, sampling::StepCount(p) - 1) : p.hi;
  if (p.log && discrete) {
    // Continuous on log(lo − step/2) .. log(hi + step/2), rounded after sampling. A float
    // grid whose widened lower bound is not positive keeps lo.
    t.log = t.round = true;
    t.low = std::log(p.lo - step / 2 > 0 ? p.lo - step / 2 : p.lo);
    t.high = std::log(last + step / 2);
  } else if (p.log) {
    t.log = true;
    t.low = std::log(p.lo);
    t.high = std::log(p.hi);
  } else {
    t.low = p.lo;
    t.high = last;
    t.step = discrete ? step : 0;
  }
  return t;
}

class TpeSampler : public Sampler {
 public:
  TpeSampler(std::vector<SpaceParam> space, std::uint64_t seed)
      : space_(std::move(space)), seed_(seed) {}

  ParamValues Next(int trial, const std::vector<FinishedTrial>& done) override {
    // Optuna counts complete and pruned trials, never failed ones.
    const size_t usable =
        std::count_if(done.begin(), done.end(), [](const FinishedTrial& t) { return !t.failed; });
    if (usable < kStartupTrials) return sampling::RandomParams(space_, seed_, trial);
    const tpe::TrialSplit split = tpe::SplitTrials(done);
    const std::vector<size_t>& below = split.below;
    const std::vector<size_t>& above = split.above;

    std::mt19937_64 rng = sampling::TrialRng(seed_, trial, sampling::Stream::kTpe);
    ParamValues values;
    for (const SpaceParam& p : space_) {
      values[p.name] = p.kind == SpaceParam::Kind::kChoice
                           ? SampleChoice(p, done, below, above, rng)
                           : SampleNumber(p, done, below, above, rng);
    }
    return values;
  }

 private:
  // The param's values in the given trials (those that have it), oldest first.
  static std::vector<double> Values(const SpaceParam& p, const std::vector<FinishedTrial>& done,
                                    const std::vector<size_t>& trials) {
    std::vector<double> out;
    for (size_t i : trials) {
      auto it = done[i].params.find(p.name);
      if (it != done[i].params.end()) out.push_back(it->second);
    }
    return out;
  }

  static double SampleNumber(const SpaceParam& p, const std::vector<FinishedTrial>& done,
                             const std::vector<size_t>& below, const std::vector<size_t>& above,
                             std::mt19937_64& rng) {
    const Transform t = TransformOf(p);
    auto to_space = [&](double v) {
      // A value from an older space outside today's bounds still maps inside.
      v = std::clamp(v, p.lo, p.hi);
      return t.log ? std::log(v) : v;
    };
    auto build = [&](const std::vector<size_t>& trials) {
      std::vector<double> obs = Values(p, done, trials);
      for (double& v : obs) v = to_space(v);
      const std::vector<double> w = tpe::DefaultWeights(obs.size());
      return tpe::BuildNumericEstimator(obs, w, t.low, t.high, t.step);
    };
    const tpe::NumericEstimator l = build(below), g = build(above);
    double best = 0, best_score = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < kEiCandidates; ++c) {
      double x = l.Sample(rng);
      if (t.log) x = std::exp(x);
      x = t.round ? sampling::RoundToGrid(p, x) : std::clamp(x, p.lo, p.hi);
      // Scored after rounding, as Optuna scores its untransformed candidates.
      const double score = l.LogPdf(to_space(x)) - g.LogPdf(to_space(x));
      if (c == 0 || score > best_score) {
        best = x;
        best_score = score;
      }
    }
    return best;
  }

  static double SampleChoice(const SpaceParam& p, const std::vector<FinishedTrial>& done,
                             const std::vector<size_t>& below, const std::vector<size_t>& above,
                             std::mt19937_64& rng) {
    const int n_choices = static_cast<int>(p.choices.size());
    auto build = [&](const std::vector<size_t>& trials) {
      std::vector<int> obs;
      for (double v : Values(p, done, trials)) {
        const long long k = std::llround(v);
        if (k >= 0 && k < n_choices) obs.push_back(static_cast<int>(k));
      }
      const std::vector<double> w = tpe::DefaultWeights(obs.size());
      return tpe::BuildCategoricalEstimator(obs, w, n_choices);
    };
    const tpe::CategoricalEstimator l = build(below), g = build(above);
    int best = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < kEiCandidates; ++c) {
      const int x = l.Sample(rng);
      const double score = l.LogPdf(x) - g.LogPdf(x);
      if (c == 0 || score > best_score) {
        best = x;
        best_score = score;
      }
    }
    return best;
  }

  std::vector<SpaceParam> space_;
  std::uint64_t seed_;
};

}  // namespace

namespace tpe {

TrialSplit SplitTrials(const std::vector<FinishedTrial>& done) {
  // Pruned trials always go above: a simplification of Optuna, which ranks them by their
  // last intermediate value after the complete ones (see docs/tuning.md).
  std::vector<size_t> complete;
  int n = 0;
  for (size_t i = 0; i < done.size(); ++i) {
    if (done[i].failed) continue;
    ++n;
    if (done[i].complete) complete.push_back(i);
  }
  std::stable_sort(complete.begin(), complete.end(), [&](size_t x, size_t y) {
    const double vx = done[x].value, vy = done[y].value;
    if (std::isnan(vy)) return !std::isnan(vx);
    return vx < vy;
  });
  const size_t n_below = std::min(complete.size(), static_cast<size_t>(DefaultGamma(n)));
  TrialSplit split;
  split.below.assign(complete.begin(), complete.begin() + n_below);
  std::sort(split.below.begin(), split.below.end());
  for (size_t i = 0; i < done.size(); ++i) {
    if (!done[i].failed && !std::binary_search(split.below.begin(), split.below.end(), i)) {
      split.above.push_back(i);
    }
  }
  return split;
}

}  // namespace tpe

std::unique_ptr<Sampler> MakeTpeSampler(const std::vector<SpaceParam>& space, std::uint64_t seed) {
  return std::make_unique<TpeSampler>(space, seed);
}

}  // namespace mlcron
