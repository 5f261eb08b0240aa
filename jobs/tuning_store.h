// Tuning studies, their trials and the applied best parameters, in state_dir/mlcron.db
// (migration 4). A trial is stored the moment it ends, so a study interrupted halfway keeps
// what it finished and can be resumed. Writes are short BEGIN IMMEDIATE transactions like
// the registry's, on the registry's connection.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/sqlite_db.h"
#include "daemon/status.h"

namespace mlcron {

using ParamTexts = std::map<std::string, std::string>;  // XGBoost params as set

struct TrialRecord {
  int number = 0;  // 0-based within the study
  ParamTexts params;
  std::vector<double> fold_scores;  // the metric on each fold it finished
  std::string state;                // complete | pruned | failed
  std::optional<double> value;      // mean of fold_scores (pruned: the running mean at the stop)
  std::string error;                // why it failed
  double duration_s = 0;
};

struct StudyRecord {
  std::int64_t id = 0;
  std::string model;
  std::string segment;
  std::string method;  // grid | random | tpe
  std::uint64_t seed = 0;
  std::string metric;
  int trials = 0;           // planned
  std::string config_json;  // the search as run; a resume must match it
  std::int64_t rows = 0;    // rows the folds were cut from
  std::int64_t started_at = 0;
  std::optional<std::int64_t> finished_at;
  std::string status = "running";  // running | finished | interrupted (left for a new one)
  std::optional<int> best_trial;
  std::optional<double> best_value;
  std::optional<std::int64_t> applied_at;
  // The segment's params as they trained before the study, scored on the same folds.
  std::optional<double> baseline_value;
  std::string verdict;  // "applied: …" | "not applied: …"; empty while running
  std::string run_id;
  std::string actor;
};

struct TunedParams {
  std::string model, segment;
  ParamTexts params;
  std::optional<std::int64_t> study_id;
  std::int64_t applied_at = 0;
  std::string actor;
};

class TuningStore {
 public:
  explicit TuningStore(SqliteDb& db) : db_(&db) {}

  Result<std::int64_t> CreateStudy(const StudyRecord& study);
  // Inserting a trial number twice is an error (a resumed study continues after the last).
  Status AddTrial(std::int64_t study, const TrialRecord& trial);
  Status FinishStudy(std::int64_t study, const std::string& status, std::optional<int> best_trial,
                     std::optional<double> best_value, std::int64_t at);

  Status SetBaseline(std::int64_t study, double value);
  Status SetVerdict(std::int64_t study, const std::string& verdict);

  Result<std::optional<StudyRecord>> Study(std::int64_t id);
  // The newest study of the segment still `running` (interrupted), if any.
  Result<std::optional<StudyRecord>> Unfinished(const std::string& model,
                                                const std::string& segment);
  // Newest first; limit <= 0 means all.
  Result<std::vector<StudyRecord>> Studies(const std::string& model, int limit);
  // By number.
  Result<std::vector<TrialRecord>> Trials(std::int64_t study);

  // Makes `params` the segment's tuned params and stamps the study applied, in one
  // transaction. `study` may be 0 for params set by hand.
  Status Apply(const std::string& model, const std::string& segment, const ParamTexts& params,
               std::int64_t study, std::int64_t at, const std::string& actor);
  Result<std::optional<TunedParams>> Tuned(const std::string& model, const std::string& segment);

 private:
  SqliteDb* db_;
};

}  // namespace mlcron
