#include "jobs/model_history.h"

#include <nlohmann/json.hpp>
#include <utility>

namespace mlcron {

std::optional<double> HoldoutMetric(const std::string& metrics_json, const std::string& metric) {
  const nlohmann::json parsed = nlohmann::json::parse(metrics_json, nullptr, false);
  if (!parsed.is_object()) return std::nullopt;
  const auto holdout = parsed.find("holdout");
  if (holdout == parsed.end() || !holdout->is_object()) return std::nullopt;
  const auto value = holdout->find(metric);
  if (value == holdout->end() || !value->is_number()) return std::nullopt;
  return value->get<double>();
}

std::vector<ProductionPeriod> ProductionPeriods(const std::vector<AuditRecord>& audit) {
  std::vector<ProductionPeriod> out;
  for (const AuditRecord& a : audit) {
    if (a.action != "promote" && a.action != "rollback") continue;
    const bool open = !out.empty() && !out.back().to;
    if (open && a.to_version && out.back().version == *a.to_version) continue;
    if (open) out.back().to = a.at;
    if (a.to_version) out.push_back({*a.to_version, a.at, std::nullopt, a.action});
  }
  return out;
}

Result<std::vector<std::string>> HistorySegments(Registry& registry, const std::string& model) {
  SqliteStatement st = registry.db().Prepare(
      "SELECT DISTINCT segment FROM model_versions WHERE model = ?1 ORDER BY segment");
  st.Bind(1, model);
  std::vector<std::string> out;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(st.Text(0));
  }
}

Result<std::vector<AuditRecord>> SegmentAudit(Registry& registry, const std::string& model,
                                              const std::string& segment) {
  SqliteStatement st =
      registry.db().Prepare(std::string("SELECT ") + kAuditColumns +
                            " FROM model_audit WHERE model = ?1 AND segment = ?2 ORDER BY id");
  st.Bind(1, model).Bind(2, segment);
  return ReadAuditRows(st);
}

Result<HistoryData> ReadHistory(Registry& registry, const std::string& model,
                                const std::string& segment, const std::string& metric) {
  HistoryData h;
  h.model = model;
  h.segment = segment;
  h.metric = metric;
  // List treats an empty segment as "all segments", so the segment is filtered here too.
  Result<std::vector<ModelVersion>> versions = registry.List(model, segment, 0);
  if (!versions.ok()) return versions.status();
  Result<std::optional<ModelVersion>> production = registry.Production(model, segment);
  if (!production.ok()) return production.status();
  Result<std::vector<AuditRecord>> audit = SegmentAudit(registry, model, segment);
  if (!audit.ok()) return audit.status();

  const std::int64_t production_id = *production ? (*production)->id : 0;
  for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
    const ModelVersion& v = *it;
    if (v.segment != segment) continue;
    HistoryVersion hv;
    hv.id = v.id;
    hv.created_at = v.created_at;
    hv.kind = v.kind;
    hv.status = v.status;
    hv.trees = v.trees;
    hv.rows = v.rows;
    hv.holdout_from = v.holdout_from;
    hv.holdout_to = v.holdout_to;
    hv.metric = HoldoutMetric(v.metrics_json, metric);
    hv.production = v.id == production_id;
    h.versions.push_back(std::move(hv));
  }
  h.periods = ProductionPeriods(*audit);
  return h;
}

}  // namespace mlcron
