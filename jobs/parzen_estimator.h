// Optuna 3.x's univariate Parzen estimator (optuna/samplers/_tpe/parzen_estimator.py with
// consider_prior, prior_weight 1, consider_magic_clip, consider_endpoints false) and the
// TPESampler's default gamma and weights. Used by tpe_sampler.cc; pure, thread-compatible.
#pragma once

#include <random>
#include <span>
#include <vector>

namespace mlcron::tpe {

// min(ceil(0.1 n), 25): how many of n finished trials form the "below" (good) group.
int DefaultGamma(int n);
// Optuna's default_weights(n), oldest first: n < 25 all ones; otherwise
// linspace(1/n, 1, n − 25) for the oldest n − 25 and ones for the newest 25.
std::vector<double> DefaultWeights(int n);

// log(Φ(b) − Φ(a)) for standard normal bounds a ≤ b, accurate in both tails.
double LogGaussMass(double a, double b);
// Φ⁻¹(p) for p in (0, 1).
double NormalPpf(double p);

// A mixture of normals truncated to one parameter's range, in its transformed space (the
// log for `log`). Continuous (step 0) on [low, high], or discrete on the grid low, low+step,
// ..., high with each point owning [x − step/2, x + step/2].
struct NumericEstimator {
  std::vector<double> weights;  // normalised; the prior component last
  std::vector<double> mus;
  std::vector<double> sigmas;
  double low = 0, high = 0, step = 0;

  double Sample(std::mt19937_64& rng) const;
  double LogPdf(double x) const;
};

// The estimator of observations `obs` (oldest first, transformed) weighted by `weights`
// (DefaultWeights(obs.size())): a kernel per observation with the bandwidth of Optuna's
// univariate rule, plus the prior N((low+high)/2, high − low + step) of weight 1.
NumericEstimator BuildNumericEstimator(std::span<const double> obs, std::span<const double> weights,
                                       double low, double high, double step,
                                       bool magic_clip = true);

// A categorical mixture, kept as its marginal probabilities: kernel k puts
// (1 + 1/(n+1))/(1 + C/(n+1)) on its observed choice and (1/(n+1))/(1 + C/(n+1)) on each
// other; the prior is uniform; the kernels are mixed by the normalised weights.
struct CategoricalEstimator {
  std::vector<double> probs;

  int Sample(std::mt19937_64& rng) const;
  double LogPdf(int choice) const;
};

CategoricalEstimator BuildCategoricalEstimator(std::span<const int> obs,
                                               std::span<const double> weights, int n_choices);

}  // namespace mlcron::tpe
