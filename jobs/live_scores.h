// Live (prequential) scores, DESIGN.md §7 "drift" and §9: every signal is scored once its
// label has arrived, against the version that made it. The signals job scores what arrived
// before it writes new signals; the retrain decision compares production's recent live metric
// with its holdout metric (the "live drift" trigger); `mlcron models live` and replay read
// them back. Rows live in state_dir/mlcron.db (table live_scores, migration 3), one per
// (model, key): a key is scored once, with the last signal made for it before its label.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/model_config.h"
#include "daemon/sqlite_db.h"
#include "daemon/status.h"
#include "jobs/registry.h"

namespace mlcron {

struct LiveScore {
  std::string model;
  std::string segment;  // "" for an unsegmented model
  std::string key;      // the row's key, as text
  std::int64_t version = 0;
  std::string signal_at;  // the signal's scheduled occurrence (IsoUtc), as in the output table
  std::string scored_at;  // when its label was found (IsoUtc of the scoring run's `now`)
  float label = 0;
  std::vector<float> prediction;  // the model's outputs for the row: num_class values or one
};

struct LiveScoringStats {
  std::int64_t scored = 0;    // keys scored by this call
  std::int64_t awaiting = 0;  // signalled keys of the model still without a label
};

// Scores the signals of `model` in the `output` table (written by ScoreSignals) whose label is
// now present in the model's source (its table or query, by key): for each such key the
// latest signal (by `scheduled`) is stored in live_scores, then all of the key's signal rows
// are marked scored in `output`, so each key is read once. Idempotent and crash-safe: the
// state row is written first and inserting it again is a no-op. `now` stamps scored_at.
Result<LiveScoringStats> ScoreArrivedLabels(const ModelConfig& model, SqliteDb& data,
                                            Registry& registry, const std::string& output,
                                            std::chrono::system_clock::time_point now);

struct LiveQuery {
  std::optional<std::string> segment;  // absent: every segment
  std::optional<std::int64_t> version;
  int limit = 0;  // > 0: only the newest `limit` rows (by signal_at, then key)
};

// Oldest signal first (signal_at, then key).
Result<std::vector<LiveScore>> ReadLiveScores(Registry& registry, const std::string& model,
                                              const LiveQuery& query = {});

// One version's live record, for `mlcron models live`.
struct LiveSummary {
  std::string segment;
  std::int64_t version = 0;
  std::string status;  // the version's registry status (production, archived, ...)
  std::int64_t rows = 0;
  std::string first_signal, last_signal;  // IsoUtc
  std::map<std::string, double> metrics;  // ComputeMetrics over all its live rows
  std::optional<double> holdout;          // its holdout value of model.metric, when recorded
};
Result<std::vector<LiveSummary>> SummarizeLive(Registry& registry, const ModelConfig& model,
                                               const std::optional<std::string>& segment);

// The drift trigger of §7: with model.drift.max_degradation set and at least drift.window live
// rows of `production`, its metric over the newest window rows is compared with its holdout
// metric; worse by more than max_degradation (relative) gives the reason, e.g.
// "live drift: log_loss 1.083 over the last 200 rows vs holdout 0.981 (+10.4% > 5%)".
// nullopt when the rule is off, the rows are too few, or the model is within bounds.
Result<std::optional<std::string>> LiveDrift(Registry& registry, const ModelConfig& model,
                                             const ModelVersion& production);

}  // namespace mlcron
