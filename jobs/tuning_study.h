// One tuning study (issue 6, DESIGN.md §6 `tune`): a search over a model's `tuning.space` for
// one segment, each trial scored by time-series cross-validation on the segment's labelled
// rows. `model` is the segment's model as it trains today (tuned params included): trials lay
// their params over it, and it is scored itself as the study's baseline. Every trial is stored as
// it ends (complete, pruned or failed with XGBoost's message), so an interrupted study keeps its
// trials and a resume continues after the last one.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/model_config.h"
#include "daemon/sqlite_db.h"
#include "daemon/status.h"
#include "jobs/sql_value.h"
#include "jobs/tuning_store.h"

namespace mlcron {

struct StudyRequest {
  std::string segment;                         // the registry's key ("" unsegmented)
  std::optional<SqlValue> segment_value;       // rows of this segment only (absent: all rows)
  std::optional<TuningConfig::Method> method;  // overrides of the config (`models tune`)
  std::optional<int> trials;
  std::optional<std::uint64_t> seed;
  // An unfinished (interrupted) study of the segment: kNo starts a new study and marks the old
  // one interrupted; kYes continues it and is an error when there is none or its search or
  // rows differ; kIfSame continues it when its search and rows are the same (the scheduled
  // job, after a restart), else starts anew.
  enum class Resume { kNo, kYes, kIfSame };
  Resume resume = Resume::kNo;
  // Score the model as given (the segment's current params) on the same folds first, so the
  // best trial can be compared with what trains today.
  bool baseline = true;
  std::int64_t now = 0;  // unix seconds: started_at / finished_at
  std::string run_id;
  std::string actor;
  std::function<void(const StudyRecord&, const TrialRecord&)> on_trial;  // progress
};

struct StudyOutcome {
  StudyRecord study;                // as finished
  std::vector<TrialRecord> trials;  // all of them, resumed ones included
  std::optional<TrialRecord> best;  // the best complete trial; none when every trial failed
  bool resumed = false;
  std::string baseline_error;  // why the baseline could not be scored (study.baseline_value unset)
  double train_seconds = 0;    // inside XGBoost (this run's trials only)
};

// The search as a canonical JSON text: what a resume must match.
std::string StudyConfigJson(const TuningConfig& tuning, const std::string& metric);

// Errors that stop the study before its first trial: a model without `tuning:`, rows that do
// not load, too few rows for the folds (scikit-learn's message with the row count), a grid
// with a float without step, a resume whose search or rows differ.
Result<StudyOutcome> RunStudy(const ModelConfig& model, SqliteDb& data, TuningStore& store,
                              const StudyRequest& request);

}  // namespace mlcron
