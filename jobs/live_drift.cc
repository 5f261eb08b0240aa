// The live metrics of jobs/live_scores.h: per-version summaries for `mlcron models live` and
// the drift rule of DESIGN.md §7, both computed from live_scores rows with ComputeMetrics.
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <span>

#include "jobs/live_scores.h"
#include "jobs/metrics.h"

namespace mlcron {
namespace {

// The version's holdout value of `metric`, from the metrics_json holdout_eval.cc writes:
// {"holdout": {...}, "baseline": {...}, "production_holdout": ...}.
std::optional<double> HoldoutMetric(const ModelVersion& v, const std::string& metric) {
  const nlohmann::json j = nlohmann::json::parse(v.metrics_json, nullptr, false);
  if (!j.is_object() || !j.contains("holdout") || !j["holdout"].is_object()) return std::nullopt;
  const nlohmann::json& h = j["holdout"];
  if (!h.contains(metric) || !h[metric].is_number()) return std::nullopt;
  return h[metric].get<double>();
}

std::string ObjectiveOf(const ModelConfig& model, const std::optional<ModelVersion>& v) {
  return v && !v->objective.empty() ? v->objective : model.objective;
}

// ComputeMetrics over live rows of one version; every row must have the same output width.
Result<std::map<std::string, double>> LiveMetrics(const std::string& objective,
                                                  std::span<const LiveScore> rows) {
  std::vector<float> labels, values;
  const size_t groups = rows.empty() ? 1 : rows.front().prediction.size();
  labels.reserve(rows.size());
  values.reserve(rows.size() * groups);
  for (const LiveScore& s : rows) {
    if (s.prediction.size() != groups) {
      return Status::Error("live_scores: model " + s.model + " key \"" + s.key +
                           "\": " + std::to_string(s.prediction.size()) +
                           " outputs where version " + std::to_string(s.version) +
                           "'s other rows have " + std::to_string(groups));
    }
    labels.push_back(s.label);
    values.insert(values.end(), s.prediction.begin(), s.prediction.end());
  }
  Predictions p;
  p.values = values;
  p.groups = static_cast<int>(groups);
  return ComputeMetrics(objective, labels, p);
}

// Relative change of `live` from `holdout` (+0.1 = 10% higher); ±inf from a zero holdout.
double RelativeChange(double live, double holdout) {
  if (holdout != 0) return (live - holdout) / std::abs(holdout);
  if (live == holdout) return 0;
  return live > holdout ? std::numeric_limits<double>::infinity()
                        : -std::numeric_limits<double>::infinity();
}

}  // namespace

Result<std::vector<LiveSummary>> SummarizeLive(Registry& registry, const ModelConfig& model,
                                               const std::optional<std::string>& segment) {
  LiveQuery query;
  query.segment = segment;
  Result<std::vector<LiveScore>> rows = ReadLiveScores(registry, model.name, query);
  if (!rows.ok()) return rows.status();
  std::map<std::pair<std::string, std::int64_t>, std::vector<LiveScore>> groups;
  for (LiveScore& s : *rows) groups[{s.segment, s.version}].push_back(std::move(s));

  std::vector<LiveSummary> out;
  for (const auto& [id, scores] : groups) {
    LiveSummary sum;
    sum.segment = id.first;
    sum.version = id.second;
    Result<std::optional<ModelVersion>> v = registry.Get(sum.version);
    if (!v.ok()) return v.status();
    sum.status = *v ? (*v)->status : "unknown";
    sum.rows = static_cast<std::int64_t>(scores.size());
    sum.first_signal = scores.front().signal_at;  // rows come oldest signal first
    sum.last_signal = scores.back().signal_at;
    Result<std::map<std::string, double>> m = LiveMetrics(ObjectiveOf(model, *v), scores);
    if (!m.ok()) {
      return m.status().WithContext("live scores of " + model.name + " version " +
                                    std::to_string(sum.version) + ": ");
    }
    sum.metrics = std::move(*m);
    if (*v) sum.holdout = HoldoutMetric(**v, model.metric);
    out.push_back(std::move(sum));
  }
  return out;
}

Result<std::optional<std::string>> LiveDrift(Registry& registry, const ModelConfig& model,
                                             const ModelVersion& production) {
  const std::optional<double>& max = model.drift.max_degradation;
  if (!max || model.drift.window <= 0) return std::optional<std::string>();
  LiveQuery query;
  query.segment = production.segment;
  query.version = production.id;
  query.limit = static_cast<int>(model.drift.window);
  Result<std::vector<LiveScore>> rows = ReadLiveScores(registry, model.name, query);
  if (!rows.ok()) return rows.status();
  if (static_cast<std::int64_t>(rows->size()) < model.drift.window) {
    return std::optional<std::string>();
  }
  const std::optional<double> holdout = HoldoutMetric(production, model.metric);
  if (!holdout) return std::optional<std::string>();  // nothing recorded to compare with
  Result<std::map<std::string, double>> m = LiveMetrics(ObjectiveOf(model, production), *rows);
  if (!m.ok()) {
    return m.status().WithContext("live scores of " + model.name + " version " +
                                  std::to_string(production.id) + ": ");
  }
  auto it = m->find(model.metric);
  if (it == m->end()) return std::optional<std::string>();  // e.g. roc_auc on one class
  const double live = it->second;
  const double change = RelativeChange(live, *holdout);
  const bool lower = LowerIsBetter(model.metric);
  const double degradation = lower ? change : -change;
  if (!(degradation > *max)) return std::optional<std::string>();
  // The threshold is shown with the sign of the change it bounds: "+12% > 5%" for a metric
  // that rose, "-12% < -5%" for one that fell.
  return std::optional<std::string>(
      fmt::format("live drift: {} {:.3f} over the last {} rows vs holdout {:.3f} ({:+.1f}% {} "
                  "{}{:g}%)",
                  model.metric, live, rows->size(), *holdout, change * 100, lower ? ">" : "<",
                  lower ? "" : "-", *max * 100));
}

}  // namespace mlcron
