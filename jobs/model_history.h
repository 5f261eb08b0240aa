// The history of one (model, segment) as `mlcron models history` shows it: every version
// with its primary holdout metric, and the periods each version was in production, derived
// from the audit trail. Reads the registry; the parsing and period rules are pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/status.h"
#include "jobs/registry.h"
#include "jobs/sql_value.h"

namespace mlcron {

struct HistoryVersion {
  std::int64_t id = 0;
  std::int64_t created_at = 0;  // unix seconds
  std::string kind;             // full | incremental
  std::string status;
  int trees = 0;
  std::int64_t rows = 0;
  SqlValue holdout_from, holdout_to;
  std::optional<double> metric;  // the primary metric on its own holdout; none when not recorded
  bool production = false;       // the production pointer names it now
};

// [from, to): the version was production from `from` until `to`; no `to` while it still is.
struct ProductionPeriod {
  std::int64_t version = 0;
  std::int64_t from = 0;
  std::optional<std::int64_t> to;
  std::string action;  // the audit action that started it: promote | rollback
};

struct HistoryData {
  std::string model;
  std::string segment;                    // "" for an unsegmented model
  std::string metric;                     // the model's primary metric, e.g. log_loss
  std::vector<HistoryVersion> versions;   // oldest first
  std::vector<ProductionPeriod> periods;  // oldest first
};

// metrics_json["holdout"][metric] when it is a number. Anything else (bad JSON, no holdout
// object, a missing or non-numeric value) is "not recorded": older versions and versions
// promoted without evaluation have no metrics.
std::optional<double> HoldoutMetric(const std::string& metrics_json, const std::string& metric);

// The production periods of one segment from its audit rows, oldest first. Only promote and
// rollback rows move the pointer: pin and unpin rows (which keep a version from retention)
// neither start nor end a period. A move to the version already in production continues its
// period; a move to no version ends it.
std::vector<ProductionPeriod> ProductionPeriods(const std::vector<AuditRecord>& audit);

// The segments of `model` that have versions, sorted; {""} for an unsegmented model, empty
// when it has none.
Result<std::vector<std::string>> HistorySegments(Registry& registry, const std::string& model);

// The audit rows of one segment, oldest first.
Result<std::vector<AuditRecord>> SegmentAudit(Registry& registry, const std::string& model,
                                              const std::string& segment);

// Everything above for one segment; `metric` names the value taken from each version.
Result<HistoryData> ReadHistory(Registry& registry, const std::string& model,
                                const std::string& segment, const std::string& metric);

}  // namespace mlcron
