#include "jobs/parzen_estimator.h"

#include <algorithm>
#include <boost/math/policies/policy.hpp>
#include <boost/math/special_functions/erf.hpp>
#include <cmath>
#include <limits>
#include <numeric>

#include "jobs/search_random.h"

namespace mlcron::tpe {
namespace {

constexpr double kSqrt2 = 1.4142135623730951;
constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(√(2π))
constexpr double kInf = std::numeric_limits<double>::infinity();

// Errors as values: erfc_inv at the ends returns ±inf instead of throwing.
using NoThrow = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::errno_on_error>,
    boost::math::policies::overflow_error<boost::math::policies::errno_on_error>>;

double Phi(double x) { return 0.5 * std::erfc(-x / kSqrt2); }

// log Φ(x), as scipy's log_ndtr: direct where Φ is representable, the asymptotic series
// φ(x)/(−x)·(1 − 1/x² + 3/x⁴ − 15/x⁶ + 105/x⁸) deep in the left tail.
double LogNdtr(double x) {
  if (x > 6) return std::log1p(-0.5 * std::erfc(x / kSqrt2));
  if (x > -20) return std::log(Phi(x));
  const double x2 = x * x;
  double term = 1, sum = 1;
  for (int k = 1; k <= 4; ++k) {
    term *= -(2.0 * k - 1) / x2;
    sum += term;
  }
  return -0.5 * x2 - std::log(-x) - kLogSqrt2Pi + std::log(sum);
}

// log(e^la − e^lb) for la ≥ lb.
double LogDiffExp(double la, double lb) { return la + std::log1p(-std::exp(lb - la)); }

double LogSumExp(const std::vector<double>& terms) {
  const double top = *std::max_element(terms.begin(), terms.end());
  if (!std::isfinite(top)) return top;
  double sum = 0;
  for (double t : terms) sum += std::exp(t - top);
  return top + std::log(sum);
}

// Inverse-CDF draw from the standard normal truncated to [a, b], working in whichever tail
// keeps Φ away from 1 (Optuna's _truncnorm.ppf does the same by symmetry).
double StdTruncNormPpf(double a, double b, double u) {
  if (a > 0) return -StdTruncNormPpf(-b, -a, 1 - u);
  const double pa = Phi(a), pb = Phi(b);
  return std::clamp(NormalPpf(pa + u * (pb - pa)), a, b);
}

// Index of the first cumulative weight above u (the last one on rounding).
size_t PickIndex(const std::vector<double>& probs, double u) {
  double cum = 0;
  for (size_t i = 0; i + 1 < probs.size(); ++i) {
    cum += probs[i];
    if (u < cum) return i;
  }
  return probs.size() - 1;
}

}  // namespace

int DefaultGamma(int n) { return std::min(static_cast<int>(std::ceil(0.1 * n)), 25); }

std::vector<double> DefaultWeights(int n) {
  if (n <= 0) return {};
  if (n < 25) return std::vector<double>(n, 1.0);
  // np.linspace(1/n, 1, n − 25): start + i·(stop − start)/(num − 1), the last exactly stop.
  const int ramp = n - 25;
  std::vector<double> w;
  w.reserve(n);
  const double start = 1.0 / n;
  if (ramp == 1) w.push_back(start);
  if (ramp > 1) {
    const double step = (1.0 - start) / (ramp - 1);
    for (int i = 0; i + 1 < ramp; ++i) w.push_back(start + i * step);
    w.push_back(1.0);
  }
  w.resize(n, 1.0);
  return w;
}

double LogGaussMass(double a, double b) {
  if (!(a < b)) return -kInf;
  if (b <= 0) return LogDiffExp(LogNdtr(b), LogNdtr(a));
  if (a > 0) return LogGaussMass(-b, -a);
  return std::log1p(-Phi(a) - Phi(-b));
}

double NormalPpf(double p) {
  if (p <= 0) return -kInf;
  if (p >= 1) return kInf;
  return -kSqrt2 * boost::math::erfc_inv(2 * p, NoThrow());
}

double NumericEstimator::Sample(std::mt19937_64& rng) const {
  const size_t k = PickIndex(weights, sampling::Uniform01(rng));
  const double lo = low - step / 2, hi = high + step / 2;
  const double mu = mus[k], sigma = sigmas[k];
  const double z = StdTruncNormPpf((lo - mu) / sigma, (hi - mu) / sigma, sampling::Uniform01(rng));
  const double x = std::clamp(mu + sigma * z, lo, hi);
  if (step <= 0) return x;
  return std::clamp(low + std::round((x - low) / step) * step, low, high);
}

double NumericEstimator::LogPdf(double x) const {
  std::vector<double> terms(mus.size());
  const double lo = low - step / 2, hi = high + step / 2;
  for (size_t k = 0; k < mus.size(); ++k) {
    const double mu = mus[k], sigma = sigmas[k];
    const double log_accept = LogGaussMass((lo - mu) / sigma, (hi - mu) / sigma);
    double log_pdf;
    if (step > 0) {
      // The mass of the grid cell of x.
      const double cell_lo = std::max(x - step / 2, lo), cell_hi = std::min(x + step / 2, hi);
      log_pdf = LogGaussMass((cell_lo - mu) / sigma, (cell_hi - mu) / sigma) - log_accept;
    } else {
      const double z = (x - mu) / sigma;
      log_pdf = -0.5 * z * z - kLogSqrt2Pi - std::log(sigma) - log_accept;
    }
    terms[k] = std::log(weights[k]) + log_pdf;
  }
  return LogSumExp(terms);
}

NumericEstimator BuildNumericEstimator(std::span<const double> obs, std::span<const double> weights,
                                       double low, double high, double step, bool magic_clip) {
  const size_t n = obs.size();
  const double prior_mu = 0.5 * (low + high);
  const double range = high - low + step;

  // Bandwidths: sort the observations with the prior's mean, then each kernel's sigma is
  // the larger distance to its neighbours, the range ends counting as neighbours (low and
  // high widened by step/2) except for the first and last kernel (consider_endpoints false).
  std::vector<double> with_prior(obs.begin(), obs.end());
  with_prior.push_back(prior_mu);
  std::vector<size_t> order(n + 1);
  std::iota(order.begin(), order.end(), 0);
  // Stable, so that ties keep observation order (numpy's argsort does for small arrays).
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return with_prior[x] < with_prior[y]; });
  std::vector<double> ext(n + 3);
  ext[0] = low - step / 2;
  for (size_t i = 0; i <= n; ++i) ext[i + 1] = with_prior[order[i]];
  ext[n + 2] = high + step / 2;
  std::vector<double> sorted_sigmas(n + 1);
  for (size_t i = 0; i <= n; ++i) {
    sorted_sigmas[i] = std::max(ext[i + 1] - ext[i], ext[i + 2] - ext[i + 1]);
  }
  if (n >= 1) {
    sorted_sigmas[0] = ext[2] - ext[1];
    sorted_sigmas[n] = ext[n + 1] - ext[n];
  }
  std::vector<double> sigmas(n + 1);
  for (size_t i = 0; i <= n; ++i) sigmas[order[i]] = sorted_sigmas[i];

  // Magic clip: no kernel narrower than range / min(100, 1 + kernels), none wider than it.
  const double min_sigma =
      magic_clip ? range / std::min(100.0, 1.0 + static_cast<double>(n + 1)) : 1e-12;
  NumericEstimator e;
  e.low = low;
  e.high = high;
  e.step = step;
  for (size_t i = 0; i < n; ++i) {
    e.mus.push_back(obs[i]);
    e.sigmas.push_back(std::clamp(sigmas[i], min_sigma, range));
  }
  e.mus.push_back(prior_mu);
  e.sigmas.push_back(range);
  if (n == 0) {
    e.weights = {1.0};
  } else {
    e.weights.assign(weights.begin(), weights.begin() + n);
    e.weights.push_back(1.0);  // prior_weight
    const double total = std::accumulate(e.weights.begin(), e.weights.end(), 0.0);
    for (double& w : e.weights) w /= total;
  }
  return e;
}

int CategoricalEstimator::Sample(std::mt19937_64& rng) const {
  return static_cast<int>(PickIndex(probs, sampling::Uniform01(rng)));
}

double CategoricalEstimator::LogPdf(int choice) const { return std::log(probs[choice]); }

CategoricalEstimator BuildCategoricalEstimator(std::span<const int> obs,
                                               std::span<const double> weights, int n_choices) {
  CategoricalEstimator e;
  const size_t n = obs.size();
  if (n == 0) {
    e.probs.assign(n_choices, 1.0 / n_choices);
    return e;
  }
  double total = 1.0;  // prior_weight
  for (size_t i = 0; i < n; ++i) total += weights[i];
  // Each kernel's row: prior_weight / n_kernels on every choice, +1 on the observed one,
  // normalised; the prior kernel's row is uniform.
  const double base = 1.0 / static_cast<double>(n + 1);
  const double row_sum = n_choices * base + 1.0;
  e.probs.assign(n_choices, (1.0 / total) / n_choices);
  for (size_t i = 0; i < n; ++i) {
    const double w = weights[i] / total;
    for (int c = 0; c < n_choices; ++c) {
      e.probs[c] += w * (base + (c == obs[i] ? 1.0 : 0.0)) / row_sum;
    }
  }
  return e;
}

}  // namespace mlcron::tpe
