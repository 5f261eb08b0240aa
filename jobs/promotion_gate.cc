#include "jobs/promotion_gate.h"

#include <fmt/format.h>

#include <cmath>

namespace mlcron {

double RelativeImprovement(const std::string& metric, double candidate, double reference) {
  const double gain = LowerIsBetter(metric) ? reference - candidate : candidate - reference;
  if (reference == 0) return gain > 0 ? INFINITY : (gain < 0 ? -INFINITY : 0);
  return gain / std::fabs(reference);
}

namespace {

std::string Percent(double r) {
  if (std::isinf(r)) return r > 0 ? "+∞%" : "−∞%";
  return fmt::format("{:+.1f}%", r * 100);
}

// cand ≤ ref·(1−r) for lower-is-better, cand ≥ ref·(1+r) otherwise; a reference of 0
// (a perfect or degenerate score) can only be beaten strictly.
bool Beats(const std::string& metric, double candidate, double reference, double r) {
  if (reference == 0) return LowerIsBetter(metric) ? candidate < 0 : candidate > 0;
  return LowerIsBetter(metric) ? candidate <= reference * (1 - r)
                               : candidate >= reference * (1 + r);
}

// Beating the prior-only baseline means being strictly better: equal to it is a model that
// learnt nothing.
bool StrictlyBetter(const std::string& metric, double candidate, double reference) {
  return LowerIsBetter(metric) ? candidate < reference : candidate > reference;
}

}  // namespace

GateResult Gate(const ModelConfig& model, const GateInput& in) {
  const std::string& metric = model.metric;
  GateResult out;
  std::string comparison;
  bool passes = false;
  if (in.production) {
    const double r = model.promote.min_improvement;
    const double gain = RelativeImprovement(metric, in.candidate, *in.production);
    passes = Beats(metric, in.candidate, *in.production, r);
    comparison =
        fmt::format("{} {:.4f} vs production {:.4f}: {} {} {:g}% required", metric, in.candidate,
                    *in.production, Percent(gain), passes ? "≥" : "<", r * 100);
  } else {
    // A first version, or one production cannot be compared with, must beat knowing
    // nothing but the label's prior.
    const double gain = RelativeImprovement(metric, in.candidate, in.baseline);
    passes = StrictlyBetter(metric, in.candidate, in.baseline);
    comparison = fmt::format("{}: {} {:.4f} vs prior-only baseline {:.4f}: {} ({})",
                             in.why_no_production, metric, in.candidate, in.baseline, Percent(gain),
                             passes ? "beats it" : "does not beat it");
  }
  if (model.promote.manual) {
    out.status = "candidate";
    out.reason = comparison + "; promote: manual → candidate";
  } else {
    out.promote = passes;
    out.status = passes ? "production" : "rejected";
    out.reason = comparison + (passes ? " → promoted" : " → rejected");
  }
  return out;
}

}  // namespace mlcron
