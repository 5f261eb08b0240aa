// What a model version was trained to be: objective, label, ordered features, segment_by,
// the XGBoost version and every param that can change the trees. A change forces a full
// retrain (§7). Params that cannot change the model (nthread, verbosity) are left out, so
// a saved thread count can never make every run retrain from scratch.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "daemon/model_config.h"

namespace mlcron {

struct Fingerprint {
  std::string canonical;  // compact JSON with sorted params, stored with each version
  std::string hash;       // SHA-256 hex of canonical
};

Fingerprint ComputeFingerprint(const ModelConfig& model, std::string_view xgb_version);

// Whether a param is left out of the fingerprint.
bool IsRuntimeOnlyParam(std::string_view name);

// What changed between two canonical forms, one phrase each:
// "params.max_depth 4 → 6", "features reordered", "feature form_20 added", "label result →
// outcome", "XGBoost 1.7.4 → 2.0.0". Empty when they are equal.
std::vector<std::string> DescribeFingerprintChange(std::string_view old_canonical,
                                                   std::string_view new_canonical);

}  // namespace mlcron
