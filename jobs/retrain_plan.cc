#include "jobs/retrain_plan.h"

#include <algorithm>
#include <cmath>

#include "jobs/dataset.h"
#include "jobs/live_scores.h"

namespace mlcron {

std::string SegmentLabel(const std::string& model, const std::string& segment) {
  return segment.empty() ? model : model + " [" + segment + "]";
}

namespace {

std::chrono::seconds Since(std::chrono::system_clock::time_point now, std::int64_t unix) {
  return std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()) -
         std::chrono::seconds(unix);
}

Status FillInput(SqliteDb& data, Registry& registry, const DatasetSpec& spec,
                 const ModelConfig& model, const PlanRequest& request, SegmentPlan* plan) {
  const Fingerprint& current = plan->fingerprint;
  PolicyInput& in = plan->input;
  RowFilter labelled;
  if (!model.segment_by.empty()) labelled.segment = plan->segment_value;
  // What the decision compares counts with: min_rows, and the pool size at which the
  // holdout becomes feasible. Beyond those only "at least" matters.
  const std::int64_t pool_cap =
      static_cast<std::int64_t>(
          std::ceil(static_cast<double>(model.holdout.min_rows + 1) / model.holdout.fraction)) +
      1;
  const std::int64_t cap = request.exact_counts ? 0 : std::max(model.min_rows, pool_cap);
  Result<std::int64_t> all = CountRows(data, spec, labelled, cap);
  if (!all.ok()) return all.status();
  in.labelled_rows = *all;

  // New rows are those after the last attempt's horizon, so a rejected attempt's rows do not
  // count again (the back-off that prevents a retraining loop).
  in.new_rows = in.labelled_rows;
  if (plan->last_attempt && !plan->last_attempt->holdout_to.is_null()) {
    RowFilter after = labelled;
    after.after = plan->last_attempt->holdout_to;
    Result<std::int64_t> n = CountRows(data, spec, after);
    if (!n.ok()) return n.status();
    in.new_rows = *n;
  }
  if (plan->last_attempt) {
    const std::string& status = plan->last_attempt->status;
    in.last_attempt_rejected = status == "rejected" || status == "candidate";
    in.last_attempt_outcome = status == "candidate" ? "awaits manual promotion" : "rejected";
  }

  in.holdout_pool = in.labelled_rows;
  if (const std::optional<ModelVersion>& prod = plan->production) {
    in.has_production = true;
    if (prod->fingerprint != current.hash) {
      ChangeSplit changes = SplitTunedChanges(
          DescribeFingerprintChange(prod->fingerprint_text, current.canonical), plan->tuned.params);
      in.fingerprint_changes = std::move(changes.other);
      in.tuned_changes = std::move(changes.tuned);
      in.tuned_study = plan->tuned.study;
      if (in.fingerprint_changes.empty() && in.tuned_changes.empty()) {
        in.fingerprint_changes.push_back("hash differs");
      }
    }
    // full_every counts from the last full *attempt*: a fresh full the gate rejected found
    // production still better, so the next from-scratch fit is due full_every after it, not
    // on every run until one wins (incrementals go on meanwhile).
    Result<std::optional<std::int64_t>> tried =
        registry.LastFullAttemptAt(plan->production->model, plan->production->segment);
    if (!tried.ok()) return tried.status();
    in.since_last_full = Since(request.now, std::max(prod->full_at, tried->value_or(0)));
    in.chain = prod->chain;
    in.model_age = Since(request.now, prod->created_at);
    // Off (one branch) unless drift.max_degradation is set; then one indexed read of at most
    // drift.window live rows, so the skip path stays cheap.
    Result<std::optional<std::string>> drift = LiveDrift(registry, model, *prod);
    if (!drift.ok()) return drift.status();
    in.drift = std::move(*drift);
    if (!prod->train_to.is_null()) {
      RowFilter after = labelled;
      after.after = prod->train_to;
      Result<std::int64_t> n = CountRows(data, spec, after, request.exact_counts ? 0 : pool_cap);
      if (!n.ok()) return n.status();
      in.holdout_pool = *n;
    }
  }
  in.forced = request.forced;
  plan->decision = DecideUnder(request.policy, model, in);
  return Status::Ok();
}

}  // namespace

ModelConfig SegmentModel(const ModelConfig& model, const SegmentPlan& plan) {
  return plan.tuned.empty() ? model : WithParams(model, plan.tuned.params);
}

Result<std::vector<SegmentPlan>> PlanModel(SqliteDb& data, Registry& registry,
                                           const ModelConfig& model, std::string_view xgb_version,
                                           const PlanRequest& request) {
  const DatasetSpec spec = DatasetSpec::FromModel(model);
  Result<std::vector<SqlValue>> values = ListSegments(data, spec);
  if (!values.ok()) return values.status().WithContext("model " + model.name + ": ");

  std::vector<SegmentPlan> plans;
  for (const SqlValue& v : *values) {
    // Rows without a segment value belong to no segment model (documented).
    if (!model.segment_by.empty() && v.is_null()) continue;
    SegmentPlan p;
    p.segment_value = v;
    p.segment = model.segment_by.empty() ? "" : v.ToString();
    plans.push_back(std::move(p));
  }
  // A segment whose rows are gone still has a production model worth reporting on.
  Result<std::vector<ModelVersion>> versions = registry.List(model.name, "", 0);
  if (!versions.ok()) return versions.status();
  for (const ModelVersion& v : *versions) {
    if (v.status != "production") continue;
    const bool known = std::any_of(plans.begin(), plans.end(),
                                   [&](const SegmentPlan& p) { return p.segment == v.segment; });
    if (!known) {
      SegmentPlan p;
      p.segment_value = SqlValue::Text(v.segment);
      p.segment = v.segment;
      plans.push_back(std::move(p));
    }
  }
  std::sort(plans.begin(), plans.end(),
            [](const SegmentPlan& a, const SegmentPlan& b) { return a.segment < b.segment; });
  if (request.segment) {
    std::erase_if(plans, [&](const SegmentPlan& p) { return p.segment != *request.segment; });
    if (plans.empty()) {
      return Status::Error("model " + model.name + ": no segment \"" + *request.segment + "\"");
    }
  }

  for (SegmentPlan& p : plans) {
    Result<std::optional<ModelVersion>> prod = registry.Production(model.name, p.segment);
    if (!prod.ok()) return prod.status();
    p.production = std::move(*prod);
    Result<std::optional<ModelVersion>> last = registry.LastAttempt(model.name, p.segment);
    if (!last.ok()) return last.status();
    p.last_attempt = std::move(*last);
    Result<TunedOverlay> tuned = LoadTunedOverlay(registry.db(), model, p.segment);
    if (!tuned.ok()) return tuned.status();
    p.tuned = std::move(*tuned);
    p.fingerprint = ComputeFingerprint(SegmentModel(model, p), xgb_version);
    if (Status s = FillInput(data, registry, spec, model, request, &p); !s.ok()) {
      return s.WithContext(SegmentLabel(model.name, p.segment) + ": ");
    }
  }
  return plans;
}

}  // namespace mlcron
