// Scores a freshly trained candidate, production and the prior-only baseline on the same
// holdout rows (which neither model trained on), and runs the promotion gate on the primary
// metric. Production is left out, and the candidate gated against the baseline, when it
// cannot be scored on these rows: a first version, or a changed feature contract, label,
// objective or class count.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "daemon/model_config.h"
#include "daemon/status.h"
#include "jobs/dataset.h"
#include "jobs/holdout.h"
#include "jobs/promotion_gate.h"
#include "jobs/registry.h"
#include "jobs/trainer.h"

namespace mlcron {

struct HoldoutEvaluation {
  std::map<std::string, double> candidate;
  std::optional<std::map<std::string, double>> production;
  std::map<std::string, double> baseline;
  std::string why_no_production;  // set when production is absent
  GateResult gate;
  // {"holdout": {...}, "production_holdout": {...} | null, "baseline": {...}, "rows": n}
  std::string MetricsJson() const;
};

// `production_ubj` is the production file's verified bytes when the caller already has them
// (an incremental's parent); otherwise they are read and verified here.
Result<HoldoutEvaluation> EvaluateOnHoldout(const ModelConfig& model, const Dataset& rows,
                                            const SplitPlan& split, const TrainedModel& candidate,
                                            const std::optional<ModelVersion>& production,
                                            const std::string* production_ubj);

// Why production cannot be scored with the config's contract, or "" when it can.
std::string ContractChange(const ModelConfig& model, const ModelVersion& production,
                           int candidate_classes);

}  // namespace mlcron
