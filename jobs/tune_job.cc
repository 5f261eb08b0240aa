#include "jobs/tune_job.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "daemon/suggest.h"
#include "jobs/dataset.h"
#include "jobs/model_job.h"
#include "jobs/promotion_gate.h"
#include "jobs/retrain_plan.h"
#include "jobs/tuned_params.h"

namespace mlcron {

std::optional<ApplyMode> ParseApplyMode(std::string_view name) {
  if (name == "better") return ApplyMode::kBetter;
  if (name == "always") return ApplyMode::kAlways;
  if (name == "never") return ApplyMode::kNever;
  return std::nullopt;
}

namespace {

std::string ParamsText(const ParamTexts& params) {
  std::string out;
  for (const auto& [name, value] : params) out += (out.empty() ? "" : ", ") + name + "=" + value;
  return out;
}

// A close name, else the list when it is short enough to read.
std::string SegmentHint(const std::string& asked, const std::vector<std::string>& names) {
  std::string hint = DidYouMean(asked, names);
  if (!hint.empty() || names.empty() || names.size() > 20) return hint;
  return fmt::format(" (segments: {})", fmt::join(names, ", "));
}

}  // namespace

ApplyVerdict DecideApply(const StudyOutcome& outcome, ApplyMode mode) {
  const StudyRecord& study = outcome.study;
  if (!outcome.best) {
    return {false, "not applied: no trial completed"};
  }
  const std::string best =
      fmt::format("trial {} {} {:.4f}", outcome.best->number, study.metric, *outcome.best->value);
  if (mode == ApplyMode::kNever) return {false, "not applied (--no-apply): best " + best};
  if (!study.baseline_value) {
    if (mode == ApplyMode::kAlways) return {true, "applied (--apply): best " + best};
    return {false, "not applied: best " + best +
                       ", but the current params could not be scored to compare with" +
                       (outcome.baseline_error.empty() ? "" : " (" + outcome.baseline_error + ")")};
  }
  const double gain =
      RelativeImprovement(study.metric, *outcome.best->value, *study.baseline_value);
  const std::string versus =
      fmt::format("the current params' {:.4f} ({:+.2f}%)", *study.baseline_value, gain * 100);
  if (mode == ApplyMode::kAlways)
    return {true, "applied (--apply): best " + best + " vs " + versus};
  if (gain > 0) return {true, "applied: best " + best + " beats " + versus};
  return {false, "not applied: best " + best + " does not beat " + versus};
}

Result<std::vector<TuneSegmentResult>> TuneModel(const ModelConfig& model, SqliteDb& data,
                                                 Registry& registry, const TuneRequest& request) {
  if (!model.tuning) return Status::Error("model " + model.name + " has no tuning: section");
  const DatasetSpec spec = DatasetSpec::FromModel(model);
  // The index the retrain job makes: without it a study before the first retrain loads each
  // segment's rows with a sort.
  bool created = false;
  if (Status s = EnsureSegmentTimeIndex(data, spec, &created); !s.ok()) {
    return s.WithContext("model " + model.name + ": ");
  }
  if (created) {
    *request.out << "model " << model.name << ": created index " << model.table
                 << "_mlcron_seg_time so that each segment's rows load without a sort\n";
  }
  Result<std::vector<SqlValue>> values = ListSegments(data, spec);
  if (!values.ok()) return values.status().WithContext("model " + model.name + ": ");
  std::vector<SqlValue> segments;
  for (const SqlValue& v : *values) {
    // Rows without a segment value belong to no segment model (as in retrain).
    if (!model.segment_by.empty() && v.is_null()) continue;
    const std::string name = model.segment_by.empty() ? "" : v.ToString();
    if (request.segment && name != *request.segment) continue;
    segments.push_back(v);
  }
  if (request.segment && segments.empty()) {
    std::vector<std::string> names;
    for (const SqlValue& v : *values) {
      if (!v.is_null()) names.push_back(v.ToString());
    }
    return Status::Error("model " + model.name + ": no segment \"" + *request.segment +
                         "\" with labelled rows" + SegmentHint(*request.segment, names));
  }

  TuningStore store(registry.db());
  std::ostream& out = *request.out;
  std::vector<TuneSegmentResult> results;
  for (const SqlValue& value : segments) {
    TuneSegmentResult r;
    r.segment = model.segment_by.empty() ? "" : value.ToString();
    const std::string label = SegmentLabel(model.name, r.segment);
    // Trials lay their params over what the segment trains with today, and that is the
    // baseline a best trial must beat.
    Result<TunedOverlay> tuned = LoadTunedOverlay(registry.db(), model, r.segment);
    if (!tuned.ok()) return tuned.status();
    const ModelConfig current = tuned->empty() ? model : WithParams(model, tuned->params);

    StudyRequest sr;
    sr.segment = r.segment;
    if (!model.segment_by.empty()) sr.segment_value = value;
    sr.method = request.method;
    sr.trials = request.trials;
    sr.seed = request.seed;
    sr.resume = request.resume;
    sr.now =
        std::chrono::duration_cast<std::chrono::seconds>(request.now.time_since_epoch()).count();
    sr.run_id = request.run_id;
    sr.actor = request.actor;
    if (request.on_trial) {
      sr.on_trial = [&](const StudyRecord& s, const TrialRecord& t) {
        request.on_trial(label, s, t);
      };
    }
    Result<StudyOutcome> outcome = RunStudy(current, data, store, sr);
    if (!outcome.ok()) {
      r.error = outcome.message();
      out << label << ": study failed: " << r.error << "\n";
      results.push_back(std::move(r));
      continue;
    }
    r.verdict = DecideApply(*outcome, request.apply);
    const StudyRecord& study = outcome->study;
    if (r.verdict.apply) {
      if (Status s = store.Apply(model.name, r.segment, outcome->best->params, study.id, sr.now,
                                 request.actor);
          !s.ok()) {
        r.error = s.message();
        r.verdict = {false, "not applied: " + s.message()};
      }
    }
    if (Status s = store.SetVerdict(study.id, r.verdict.text); !s.ok() && r.error.empty()) {
      r.error = s.message();
    }
    int pruned = 0, failed = 0;
    for (const TrialRecord& t : outcome->trials) {
      pruned += t.state == "pruned";
      failed += t.state == "failed";
    }
    out << label << ": study " << study.id << (outcome->resumed ? " (resumed)" : "") << ", "
        << study.method << ", " << outcome->trials.size() << " trials (" << pruned << " pruned, "
        << failed << " failed) on " << study.rows << " rows: " << r.verdict.text << "\n";
    if (r.verdict.apply) {
      out << label << ": tuned params " << ParamsText(outcome->best->params)
          << "; the next retrain is full\n";
    }
    r.outcome = std::move(*outcome);
    results.push_back(std::move(r));
  }
  return results;
}

int RunTuneJob(const JobContext& ctx) {
  std::ostream& out = *ctx.out;
  const std::string name = "tune " + ctx.job->name;
  std::optional<ModelJob> opened = OpenModelJob(ctx, name);
  if (!opened) return 1;
  const ModelConfig* model = opened->model;
  TuneRequest request;
  request.now = ctx.now;
  request.run_id = ctx.run_id;
  request.out = &out;
  request.apply = ParseApplyMode(ctx.job->builtin.apply).value_or(ApplyMode::kBetter);
  Result<std::vector<TuneSegmentResult>> results =
      TuneModel(*model, *opened->data, *opened->registry, request);
  if (!results.ok()) {
    out << name << ": " << results.message() << "\n";
    return 1;
  }
  for (const TuneSegmentResult& r : *results) {
    if (!r.error.empty()) return 1;
  }
  return 0;
}

}  // namespace mlcron
