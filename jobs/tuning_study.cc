#include "jobs/tuning_study.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "jobs/dataset.h"
#include "jobs/fault_point.h"
#include "jobs/search.h"
#include "jobs/time_series_split.h"
#include "jobs/tuning_cv.h"

namespace mlcron {
namespace {

using nlohmann::json;

std::string MethodName(TuningConfig::Method m) {
  switch (m) {
    case TuningConfig::Method::kGrid:
      return "grid";
    case TuningConfig::Method::kRandom:
      return "random";
    case TuningConfig::Method::kTpe:
      return "tpe";
  }
  return "tpe";
}

std::string KindName(SpaceParam::Kind k) {
  switch (k) {
    case SpaceParam::Kind::kInt:
      return "int";
    case SpaceParam::Kind::kFloat:
      return "float";
    case SpaceParam::Kind::kChoice:
      return "choice";
  }
  return "float";
}

// A stored trial's params back into the sampler's values (a choice by its index).
ParamValues ValuesOf(const std::vector<SpaceParam>& space, const ParamTexts& texts) {
  ParamValues out;
  for (const SpaceParam& p : space) {
    auto it = texts.find(p.name);
    if (it == texts.end()) continue;
    if (p.kind == SpaceParam::Kind::kChoice) {
      for (size_t i = 0; i < p.choices.size(); ++i) {
        if (p.choices[i] == it->second) out[p.name] = static_cast<double>(i);
      }
    } else {
      out[p.name] = std::strtod(it->second.c_str(), nullptr);
    }
  }
  return out;
}

Result<std::unique_ptr<Sampler>> MakeSampler(TuningConfig::Method method,
                                             const std::vector<SpaceParam>& space,
                                             std::uint64_t seed) {
  switch (method) {
    case TuningConfig::Method::kGrid:
      return MakeGridSampler(space, seed);
    case TuningConfig::Method::kRandom:
      return MakeRandomSampler(space, seed);
    case TuningConfig::Method::kTpe:
      return MakeTpeSampler(space, seed);
  }
  return MakeTpeSampler(space, seed);
}

// The running means per fold of a trial's scores.
std::vector<double> RunningMeans(const std::vector<double>& scores) {
  std::vector<double> out;
  double sum = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    sum += scores[i];
    out.push_back(sum / static_cast<double>(i + 1));
  }
  return out;
}

double Mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

}  // namespace

std::string StudyConfigJson(const TuningConfig& t, const std::string& metric) {
  json space = json::array();
  for (const SpaceParam& p : t.space) {
    json e = {{"name", p.name}, {"kind", KindName(p.kind)}};
    if (p.kind == SpaceParam::Kind::kChoice) {
      e["choices"] = p.choices;
    } else {
      e["lo"] = p.lo;
      e["hi"] = p.hi;
      if (p.step) e["step"] = *p.step;
      if (p.log) e["log"] = true;
    }
    space.push_back(e);
  }
  json j = {{"method", MethodName(t.method)},
            {"trials", t.trials},
            {"folds", t.folds},
            {"gap", t.gap},
            {"by", t.by_time ? "time" : "rows"},
            {"metric", metric},
            {"prune", t.prune == TuningConfig::Prune::kMedian ? "median" : "none"},
            {"seed", t.seed},
            {"space", space}};
  if (t.test_size) j["test_size"] = *t.test_size;
  if (t.max_train_size) j["max_train_size"] = *t.max_train_size;
  return j.dump();
}

namespace {

// The rows a study is cut from and its folds.
struct StudyRows {
  Dataset rows;
  std::vector<Fold> folds;
};

Result<StudyRows> LoadStudyRows(const ModelConfig& model, SqliteDb& data,
                                const TuningConfig& tuning, const StudyRequest& request,
                                const std::string& label) {
  RowFilter filter;
  filter.segment = request.segment_value;
  Result<Dataset> rows = LoadDataset(data, DatasetSpec::FromModel(model), filter);
  if (!rows.ok()) return rows.status().WithContext(label + ": ");
  SplitOptions options{tuning.folds, tuning.test_size, tuning.gap, tuning.max_train_size};
  Result<std::vector<Fold>> folds =
      tuning.by_time ? TimeSeriesSplitByTime(rows->time, options)
                     : TimeSeriesSplit(static_cast<std::int64_t>(rows->rows), options);
  if (!folds.ok()) {
    return Status::Error(label + ": " + std::to_string(rows->rows) +
                         " labelled rows: " + folds.message());
  }
  return StudyRows{std::move(*rows), std::move(*folds)};
}

// A new study row, or the segment's unfinished one when resuming (its search and rows must
// be the same, or its trials would mislead the sampler).
Status OpenStudy(const ModelConfig& model, const TuningConfig& tuning, const std::string& metric,
                 std::int64_t rows, TuningStore& store, const StudyRequest& request,
                 const std::string& label, StudyOutcome* out) {
  const std::string config_json = StudyConfigJson(tuning, metric);
  Result<std::optional<StudyRecord>> open = store.Unfinished(model.name, request.segment);
  if (!open.ok()) return open.status();
  using Resume = StudyRequest::Resume;
  if (request.resume == Resume::kYes && !*open) {
    return Status::Error(label + ": no unfinished study to resume");
  }
  if (*open) {
    std::string differs;
    if ((*open)->config_json != config_json) {
      differs = label + ": study " + std::to_string((*open)->id) + " searched differently (" +
                (*open)->config_json + "); start a new study instead of --resume";
    } else if ((*open)->rows != rows) {
      differs = label + ": study " + std::to_string((*open)->id) + " was cut from " +
                std::to_string((*open)->rows) + " rows, now there are " + std::to_string(rows) +
                "; start a new study";
    }
    if (request.resume == Resume::kYes && !differs.empty()) return Status::Error(differs);
    if (request.resume != Resume::kNo && differs.empty()) {
      out->study = **open;
      out->resumed = true;
      Result<std::vector<TrialRecord>> done = store.Trials(out->study.id);
      if (!done.ok()) return done.status();
      out->trials = std::move(*done);
      return Status::Ok();
    }
    // Left behind for good: it keeps its trials, but no longer shows as resumable.
    if (Status s = store.FinishStudy((*open)->id, "interrupted", (*open)->best_trial,
                                     (*open)->best_value, request.now);
        !s.ok()) {
      return s;
    }
  }
  out->study.model = model.name;
  out->study.segment = request.segment;
  out->study.method = MethodName(tuning.method);
  out->study.seed = tuning.seed;
  out->study.metric = metric;
  out->study.trials = tuning.trials;
  out->study.config_json = config_json;
  out->study.rows = rows;
  out->study.started_at = request.now;
  out->study.run_id = request.run_id;
  out->study.actor = request.actor;
  Result<std::int64_t> id = store.CreateStudy(out->study);
  if (!id.ok()) return id.status();
  out->study.id = *id;
  return Status::Ok();
}

// Samples and scores the trials not yet run, storing each as it ends.
Status RunTrials(const ModelConfig& model, const TuningConfig& tuning, const std::string& metric,
                 const StudyRows& data, Sampler& sampler, TuningStore& store,
                 const StudyRequest& request, StudyOutcome* out) {
  const bool lower = LowerIsBetter(metric);
  MedianPruner pruner;
  std::vector<FinishedTrial> finished;
  // Running means per fold of the complete trials, oriented so that lower is better.
  std::vector<std::vector<double>> history;
  auto note = [&](const TrialRecord& t) {
    FinishedTrial f;
    f.params = ValuesOf(tuning.space, t.params);
    f.complete = t.state == "complete";
    if (t.value) f.value = lower ? *t.value : -*t.value;
    if (t.state != "failed") finished.push_back(f);
    if (f.complete) {
      std::vector<double> means = RunningMeans(t.fold_scores);
      if (!lower) {
        for (double& m : means) m = -m;
      }
      history.push_back(std::move(means));
    }
  };
  for (const TrialRecord& t : out->trials) note(t);

  for (int number = static_cast<int>(out->trials.size()); number < tuning.trials; ++number) {
    const auto start = std::chrono::steady_clock::now();
    TrialRecord trial;
    trial.number = number;
    trial.params = ToXgbParams(tuning.space, sampler.Next(number, finished));
    // The pruner judges the running mean after each fold, so a pruned trial stops early.
    bool pruned = false;
    double sum = 0;
    CvTimings timings;
    Result<std::vector<double>> scores = CrossValidate(
        WithParams(model, trial.params), data.rows, data.folds, metric,
        [&](int k, double score) {
          sum += score;
          if (tuning.prune != TuningConfig::Prune::kMedian) return true;
          const double mean = sum / (k + 1);
          pruned = pruner.ShouldPrune(history, k, lower ? mean : -mean);
          return !pruned;
        },
        &timings);
    out->train_seconds += timings.train_seconds;
    if (!scores.ok()) {
      trial.state = "failed";
      trial.error = scores.message();
    } else {
      trial.fold_scores = *scores;
      trial.value = Mean(*scores);
      trial.state = pruned ? "pruned" : "complete";
    }
    trial.duration_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (Status s = store.AddTrial(out->study.id, trial); !s.ok()) return s;
    // An interruption right after a stored trial, for the resume tests.
    FaultPoint(("tune_after_trial_" + std::to_string(number)).c_str());
    note(trial);
    out->trials.push_back(trial);
    if (request.on_trial) request.on_trial(out->study, trial);
  }
  return Status::Ok();
}

}  // namespace

Result<StudyOutcome> RunStudy(const ModelConfig& model, SqliteDb& data, TuningStore& store,
                              const StudyRequest& request) {
  const std::string label =
      model.name + (request.segment.empty() ? "" : " [" + request.segment + "]");
  if (!model.tuning) return Status::Error("model " + model.name + " has no tuning: section");
  TuningConfig tuning = *model.tuning;
  if (request.method) tuning.method = *request.method;
  if (request.trials) tuning.trials = *request.trials;
  if (request.seed) tuning.seed = *request.seed;
  const std::string metric = tuning.metric.empty() ? model.metric : tuning.metric;
  const bool lower = LowerIsBetter(metric);

  Result<StudyRows> rows = LoadStudyRows(model, data, tuning, request, label);
  if (!rows.ok()) return rows.status();
  Result<std::unique_ptr<Sampler>> sampler = MakeSampler(tuning.method, tuning.space, tuning.seed);
  if (!sampler.ok()) return sampler.status().WithContext(label + ": ");

  StudyOutcome out;
  if (Status s = OpenStudy(model, tuning, metric, static_cast<std::int64_t>(rows->rows.rows), store,
                           request, label, &out);
      !s.ok()) {
    return s;
  }
  // The baseline first, and stored at once: a resumed study keeps the one it measured.
  if (request.baseline && !out.study.baseline_value) {
    CvTimings timings;
    Result<std::vector<double>> scores =
        CrossValidate(model, rows->rows, rows->folds, metric, nullptr, &timings);
    out.train_seconds += timings.train_seconds;
    if (!scores.ok()) {
      out.baseline_error = scores.message();
    } else {
      out.study.baseline_value = Mean(*scores);
      if (Status s = store.SetBaseline(out.study.id, *out.study.baseline_value); !s.ok()) return s;
    }
  }
  if (Status s = RunTrials(model, tuning, metric, *rows, **sampler, store, request, &out);
      !s.ok()) {
    return s;
  }

  for (const TrialRecord& t : out.trials) {
    if (t.state != "complete" || !t.value) continue;
    if (!out.best || (lower ? *t.value < *out.best->value : *t.value > *out.best->value)) {
      out.best = t;
    }
  }
  out.study.status = "finished";
  out.study.finished_at = request.now;
  if (out.best) {
    out.study.best_trial = out.best->number;
    out.study.best_value = out.best->value;
  }
  if (Status s = store.FinishStudy(out.study.id, out.study.status, out.study.best_trial,
                                   out.study.best_value, request.now);
      !s.ok()) {
    return s;
  }
  return out;
}

}  // namespace mlcron
