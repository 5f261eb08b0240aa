// The promotion gate of DESIGN.md §7: whether a candidate replaces production, from the
// primary metric of both on the same holdout (or of the prior-only baseline when production
// cannot be scored), with a reason that carries both numbers. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "daemon/model_config.h"

namespace mlcron {

struct GateInput {
  double candidate = 0;
  // Production's metric on the same holdout; absent for a first version, or when the
  // feature contract, label or objective changed (then `why_no_production` says which).
  std::optional<double> production;
  std::string why_no_production;  // "first version", "the feature contract changed", ...
  double baseline = 0;            // the prior-only baseline's metric on the holdout
};

struct GateResult {
  bool promote = false;
  std::string status;  // production | rejected | candidate (promote: manual)
  // "log_loss 0.9712 vs production 0.9688: -0.2% < 2% required → rejected"
  std::string reason;
};

GateResult Gate(const ModelConfig& model, const GateInput& in);

// Relative improvement of `candidate` over `reference` for `metric`: positive is better.
// (reference - candidate) / |reference| when lower is better, the opposite otherwise.
double RelativeImprovement(const std::string& metric, double candidate, double reference);

}  // namespace mlcron
