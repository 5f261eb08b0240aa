// One policy's pass of `mlcron replay` (DESIGN.md §9): a simulated clock walks the real tier
// graph over [from, to) against scratch copies of the data and state databases, revealing the
// source rows by the reveal rule before each occurrence and running the real job code in this
// process. The operator's state_dir and data database are never opened for writing.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/schedule.h"
#include "daemon/status.h"
#include "jobs/live_scores.h"
#include "jobs/replay_source.h"
#include "jobs/retrain_policy.h"

namespace mlcron {

// A tier's firing inside the range, in time order, then tier order.
struct ReplayOccurrence {
  Instant at{};
  size_t tier = 0;  // index into Config::tiers
};
std::vector<ReplayOccurrence> ReplayOccurrences(const Config& config, Instant from, Instant to);

// One retrain decision of one segment.
struct ReplayDecision {
  Instant at{};
  std::string job, model, segment;
  std::string decision;  // skip | incremental | full
  std::string outcome;   // production | rejected | candidate | error: ... | "" for a skip
  std::optional<std::int64_t> version;
  double seconds = 0;  // the version's training wall time
  std::string reasons;
};

// A model's live record: every signal scored once its label arrived, with the prior-only
// baseline's prediction for the same row (the class frequencies, or the mean label, of the
// segment's rows whose labels had arrived when the signal was made).
struct ReplayLive {
  ModelConfig model;              // a copy: the pass's scratch Config does not outlive it
  std::vector<LiveScore> scores;  // oldest signal first
  std::vector<std::vector<float>> baseline;  // parallel to scores
};

struct PolicyRun {
  ReplayPolicy policy = ReplayPolicy::kDefault;
  std::vector<ReplayDecision> decisions;
  std::vector<ReplayLive> live;  // per model with a signals job, in config order
  int occurrences = 0;
  std::int64_t rows_revealed = 0, labels_revealed = 0;
  // Inside retrain jobs, decisions and skips included: process CPU time (XGBoost's threads
  // too) and wall time. TrainSeconds() is the training alone.
  double retrain_cpu_seconds = 0;
  double retrain_seconds = 0;
  double seconds = 0;  // the whole pass

  // The sum of the trained versions' training times (ModelVersion::duration_s: building the
  // matrix and boosting), the cost the retraining policies are compared by.
  double TrainSeconds() const;
};

struct PolicyRequest {
  ReplayPolicy policy = ReplayPolicy::kDefault;
  Instant from{}, to{};         // [from, to)
  std::string scratch_dir;      // created; holds this pass's state and data databases
  std::ostream* log = nullptr;  // every job's output, as its run log would show it
};

// Errors stop the pass and name the occurrence and job: a features job that fails (for
// example one that reads the wall clock) would fail every day of a replay.
Result<PolicyRun> RunReplayPolicy(const Config& config, const ReplaySources& sources,
                                  const PolicyRequest& request);

}  // namespace mlcron
