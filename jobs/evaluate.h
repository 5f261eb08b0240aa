// Scores registered model versions on labelled rows of their model's source, for `mlcron
// models evaluate` and `mlcron models compare` (DESIGN.md §7): the file is verified, the
// feature contract checked, and the metrics are those of jobs/metrics.h. Reads only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config.h"
#include "daemon/sqlite_db.h"
#include "daemon/status.h"
#include "jobs/registry.h"

namespace mlcron {

// The rows to score: labelled rows whose time is in [from, to] (unix seconds, inclusive).
// Neither bound given means the version's holdout window (compare: the newer version's);
// one given leaves the other side open.
struct EvalPeriod {
  std::optional<std::int64_t> from, to;
  std::string from_text, to_text;  // as typed, for messages and output
};

// Parses --from/--to ("" = not given) as the time column's values are read (TimeToUnix):
// unix seconds, or ISO-8601 text in UTC unless it carries an offset. A bare date as `to`
// means the whole day (through 23:59:59). Error: `--from "x": "x" is not a time (…)`.
Result<EvalPeriod> ParsePeriod(std::string_view from, std::string_view to);

struct Evaluation {
  ModelVersion version;
  // The period actually used; null text ("") for an open side.
  std::optional<std::int64_t> from, to;
  std::string from_text, to_text;
  std::vector<std::string> keys;
  std::vector<float> labels;
  std::vector<float> predictions;  // rows × groups
  int groups = 1;
  std::map<std::string, double> metrics;
  size_t rows() const { return labels.size(); }
};

// Errors: "no version 42"; "version 3 is of model m, which is no longer in FILE"; a changed
// feature contract or objective; "no labelled rows of model m [E0] between A and B"; a
// model file whose SHA-256 does not match the registry; any read or XGBoost failure.
Result<Evaluation> EvaluateVersion(const Config& config, SqliteDb& data, Registry& registry,
                                   std::int64_t version, const EvalPeriod& period);

struct Comparison {
  Evaluation a, b;     // on the same rows
  std::string metric;  // the model's primary metric
  // The better version by `metric`; none on a tie or when the metric is undefined there.
  std::optional<std::int64_t> winner;
  // RelativeImprovement(metric, b, a): positive when B is better. None when undefined.
  std::optional<double> b_over_a;
};

// Both versions must be of the same model and segment and have the same feature contract
// and objective (errors name both).
Result<Comparison> CompareVersions(const Config& config, SqliteDb& data, Registry& registry,
                                   std::int64_t a, std::int64_t b, const EvalPeriod& period);

// key,label,p_0..p_{k-1} per row for classifiers (binary: p_0 = 1 − P(1), p_1 = P(1)), or
// key,label,prediction for regression and count; RFC 4180 quoting. Written to a temporary
// file, fsynced and renamed over `path`.
Status WritePredictionsCsv(const std::string& path, const Evaluation& e);

}  // namespace mlcron
