// The `tune` job kind (DESIGN.md §6, issue 6): for each segment of a model, a tuning study
// over its `tuning.space`, scored by time-series cross-validation, then the verdict whether
// the best params become the segment's tuned params (which the next full retrain uses).
// Also what `mlcron models tune` runs by hand. Segments are independent: one failing study
// never stops another's.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/model_config.h"
#include "daemon/sqlite_db.h"
#include "jobs/job_context.h"
#include "jobs/registry.h"
#include "jobs/tuning_study.h"

namespace mlcron {

// When a study's best params are applied (the tune job's `apply:` key; the CLI's
// --apply / --no-apply).
enum class ApplyMode { kBetter, kAlways, kNever };
std::optional<ApplyMode> ParseApplyMode(std::string_view name);  // "better" | "always" | "never"

struct ApplyVerdict {
  bool apply = false;
  // "applied: log_loss 0.9612 beats the current params' 0.9688 (-0.78%)",
  // "not applied: log_loss 0.9701 does not beat the current params' 0.9688", ...
  std::string text;
};

// Pure: the study's best complete trial against its baseline (the params the segment trains
// with today, scored on the same folds), under `mode`. A tie keeps the current params.
ApplyVerdict DecideApply(const StudyOutcome& outcome, ApplyMode mode);

struct TuneRequest {
  std::chrono::system_clock::time_point now;
  std::string run_id;
  std::string actor = "auto";
  std::optional<std::string> segment;  // only this segment (as text)
  std::optional<TuningConfig::Method> method;
  std::optional<int> trials;
  std::optional<std::uint64_t> seed;
  StudyRequest::Resume resume = StudyRequest::Resume::kIfSame;
  ApplyMode apply = ApplyMode::kBetter;
  std::ostream* out = nullptr;  // a line per study and per applied result
  // Progress: called after every trial with the segment's label ("result [E0]").
  std::function<void(const std::string&, const StudyRecord&, const TrialRecord&)> on_trial;
};

struct TuneSegmentResult {
  std::string segment;
  std::optional<StudyOutcome> outcome;
  ApplyVerdict verdict;
  std::string error;  // non-empty when this segment's study failed
};

// Errors that stop the whole model (no tuning section, rows that do not load, an unknown
// segment) are returned as a Status; a segment's own failure is in its result.
Result<std::vector<TuneSegmentResult>> TuneModel(const ModelConfig& model, SqliteDb& data,
                                                 Registry& registry, const TuneRequest& request);

// `mlcron job tune`: exit 0 when every segment's study ran, 1 otherwise.
int RunTuneJob(const JobContext& ctx);

}  // namespace mlcron
