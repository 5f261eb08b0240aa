#include "jobs/holdout_eval.h"

#include <nlohmann/json.hpp>

#include "jobs/metrics.h"
#include "jobs/model_store.h"
#include "jobs/xgb_booster.h"

namespace mlcron {

std::string HoldoutEvaluation::MetricsJson() const {
  nlohmann::json j = {{"holdout", candidate}, {"baseline", baseline}};
  j["production_holdout"] = production ? nlohmann::json(*production) : nlohmann::json(nullptr);
  if (!why_no_production.empty()) j["production_not_scored"] = why_no_production;
  return j.dump();
}

std::string ContractChange(const ModelConfig& model, const ModelVersion& production,
                           int candidate_classes) {
  if (production.features != model.features) return "the feature contract changed";
  if (production.objective != model.objective) return "the objective changed";
  const auto fp = nlohmann::json::parse(production.fingerprint_text, nullptr, false);
  if (fp.is_object() && fp.contains("label") && fp["label"].is_string() &&
      fp["label"].get<std::string>() != model.label) {
    return "the label changed";
  }
  if (production.num_class != candidate_classes) return "the class count changed";
  return "";
}

namespace {

struct HoldoutSlice {
  std::span<const float> x;
  std::span<const float> y;
  size_t n = 0;
  size_t cols = 0;
};

Result<std::map<std::string, double>> Score(const ModelConfig& model, const std::string& ubj,
                                            const HoldoutSlice& h, const std::string& who) {
  Result<XgbBooster> booster = XgbBooster::FromUbj(ubj);
  if (!booster.ok()) return booster.status().WithContext(who + ": ");
  if (Status s = booster->CheckFeatures(model.features); !s.ok()) return s.WithContext(who + ": ");
  Result<std::vector<float>> out = booster->Predict(h.x, h.n, h.cols);
  if (!out.ok()) return out.status().WithContext(who + ": ");
  const int groups = static_cast<int>(out->size() / h.n);
  Result<std::map<std::string, double>> m =
      ComputeMetrics(model.objective, h.y, Predictions{*out, groups});
  if (!m.ok()) return m.status().WithContext(who + " on the holdout: ");
  return m;
}

}  // namespace

Result<HoldoutEvaluation> EvaluateOnHoldout(const ModelConfig& model, const Dataset& rows,
                                            const SplitPlan& split, const TrainedModel& candidate,
                                            const std::optional<ModelVersion>& production,
                                            const std::string* production_ubj) {
  HoldoutSlice h;
  h.n = split.holdout_end - split.holdout_begin;
  h.cols = rows.cols;
  h.x = std::span<const float>(rows.x.data() + split.holdout_begin * rows.cols, h.n * rows.cols);
  h.y = std::span<const float>(rows.y.data() + split.holdout_begin, h.n);

  HoldoutEvaluation e;
  Result<std::map<std::string, double>> cand = Score(model, candidate.ubj, h, "candidate");
  if (!cand.ok()) return cand.status();
  e.candidate = std::move(*cand);

  const int groups = model.objective == "multi:softprob" ? candidate.num_class : 1;
  std::span<const float> train_y(rows.y.data() + split.train_begin,
                                 split.train_end - split.train_begin);
  const std::vector<float> prior = BaselinePredictions(model.objective, groups, train_y, h.n);
  Result<std::map<std::string, double>> base =
      ComputeMetrics(model.objective, h.y, Predictions{prior, groups});
  if (!base.ok()) return base.status().WithContext("prior-only baseline on the holdout: ");
  e.baseline = std::move(*base);

  if (!production) {
    e.why_no_production = "first version";
  } else {
    e.why_no_production = ContractChange(model, *production, candidate.num_class);
  }
  if (e.why_no_production.empty()) {
    std::string bytes;
    if (production_ubj == nullptr) {
      Result<std::string> loaded = LoadVerifiedModel(production->file, production->sha256);
      if (!loaded.ok())
        return loaded.status().WithContext("production version " + std::to_string(production->id) +
                                           ": ");
      bytes = std::move(*loaded);
      production_ubj = &bytes;
    }
    Result<std::map<std::string, double>> prod =
        Score(model, *production_ubj, h, "production version " + std::to_string(production->id));
    if (!prod.ok()) return prod.status();
    e.production = std::move(*prod);
  }

  const std::string& metric = model.metric;
  GateInput in;
  // roc_auc is undefined on a single-class holdout; such a candidate cannot show it is better.
  if (!e.candidate.count(metric) || !e.baseline.count(metric) ||
      (e.production && !e.production->count(metric))) {
    e.gate.status = model.promote.manual ? "candidate" : "rejected";
    e.gate.reason = metric + " is undefined on this holdout (" + std::to_string(h.n) +
                    " rows, one class?) → " + e.gate.status;
    return e;
  }
  in.candidate = e.candidate.at(metric);
  in.baseline = e.baseline.at(metric);
  if (e.production) {
    in.production = e.production->at(metric);
  } else {
    in.why_no_production = e.why_no_production;
  }
  e.gate = Gate(model, in);
  return e;
}

}  // namespace mlcron
