// The files `mlcron replay` writes (DESIGN.md §9), all from the passes' results and all
// deterministic except the timing columns (seconds, cpu_seconds), which summary.csv and
// decisions.csv carry so that the other files can be compared byte for byte:
//   decisions.csv     every retrain decision: when, segment, skip/incremental/full, outcome,
//                     training seconds, reasons
//   live_scores.csv   every live score with its per-row loss and the baseline's
//   live_weekly.csv   the live metric per model and week (Monday, local), with the baseline's
//   live_summary.csv  the live metric per model over the whole range
//   summary.csv       per policy: occurrences, decisions, training seconds (XGBoost), and the
//                     CPU and wall seconds of the retrain jobs and of the whole pass
//   live_<model>.svg  the live metric over time, one line per policy, full retrains marked
#pragma once

#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/status.h"
#include "jobs/replay_run.h"

namespace mlcron {

// One model's live metric over some rows: the model's metric, its baseline's, and accuracy
// for classifiers.
struct LiveAggregate {
  std::int64_t rows = 0;
  double live = 0, baseline = 0;
  std::optional<double> accuracy;
};
Result<LiveAggregate> AggregateLive(const ModelConfig& model, const ReplayLive& live, size_t begin,
                                    size_t end);

// The live scores of one week: [begin, end) of ReplayLive::scores, which are in signal order.
struct WeekRange {
  std::string monday;  // "2016-08-08", the local date the week starts
  size_t begin = 0, end = 0;
};
Result<std::vector<WeekRange>> Weeks(const ReplayLive& live, const date::time_zone* tz);

// The per-row term whose mean is the metric: log loss for classifiers, Poisson deviance for
// count:poisson, squared error otherwise.
double RowLoss(const ModelConfig& model, float label, const std::vector<float>& prediction);

std::string DecisionsCsv(const std::vector<PolicyRun>& runs, const date::time_zone* tz);
std::string LiveScoresCsv(const std::vector<PolicyRun>& runs);
Result<std::string> LiveWeeklyCsv(const std::vector<PolicyRun>& runs, const date::time_zone* tz);
Result<std::string> LiveSummaryCsv(const std::vector<PolicyRun>& runs);
std::string SummaryCsv(const std::vector<PolicyRun>& runs);

// Writes every file above into `dir` (each atomically); `chart_models` names the models that
// get a chart. Returns the paths written.
Result<std::vector<std::string>> WriteReplayOutputs(const std::string& dir,
                                                    const std::vector<PolicyRun>& runs,
                                                    const Config& config);

}  // namespace mlcron
