#include "jobs/retrain_job.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "jobs/dataset.h"
#include "jobs/fault_point.h"
#include "jobs/fingerprint.h"
#include "jobs/holdout.h"
#include "jobs/holdout_eval.h"
#include "jobs/model_job.h"
#include "jobs/model_store.h"
#include "jobs/retention.h"
#include "jobs/retrain_plan.h"
#include "jobs/trainer.h"
#include "jobs/xgb_booster.h"

namespace mlcron {

bool RetrainResult::failed() const {
  for (const SegmentResult& s : segments) {
    if (!s.error.empty()) return true;
  }
  return false;
}

namespace {

std::int64_t UnixNow(std::chrono::system_clock::time_point now) {
  return std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
}

std::string Window(const SqlValue& from, const SqlValue& to) {
  return from.ToString() + ".." + to.ToString();
}

class SegmentTrainer {
 public:
  SegmentTrainer(const Config& config, const ModelConfig& model, SqliteDb& data, Registry& registry,
                 const RetrainRequest& request, const Fingerprint& fp)
      : config_(config),
        model_(model),
        data_(data),
        registry_(registry),
        request_(request),
        fp_(fp) {}

  // Trains the planned candidate; returns its version id, or nullopt when the exact split
  // turned out infeasible (the decision then became skip, with the reason added).
  Result<std::optional<std::int64_t>> Run(SegmentPlan& plan) {
    const bool incremental = plan.decision.kind == DecisionKind::kIncremental;
    const std::optional<ModelVersion>& prod = plan.production;

    RowFilter filter;
    if (!model_.segment_by.empty()) filter.segment = plan.segment_value;
    std::optional<std::int64_t> watermark;
    if (prod && !prod->train_to.is_null()) {
      Result<std::int64_t> w = TimeToUnix(prod->train_to);
      if (!w.ok()) return w.status().WithContext("production watermark: ");
      watermark = *w;
      // An incremental candidate only ever sees rows after its parent's watermark, so
      // only those are read: the memory saving is the point of incremental training.
      if (incremental) filter.after = prod->train_to;
    }
    const auto load_start = std::chrono::steady_clock::now();
    Result<Dataset> rows = LoadDataset(data_, DatasetSpec::FromModel(model_), filter);
    if (!rows.ok()) return rows.status();
    const double load_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();

    SplitRequest sr;
    sr.watermark = watermark;
    sr.fraction = model_.holdout.fraction;
    sr.min_holdout_rows = model_.holdout.min_rows;
    sr.incremental = incremental;
    if (model_.window && !incremental) sr.window_seconds = model_.window->count();
    SplitPlan split = PlanSplit(rows->time, sr);
    if (!split.ok()) {
      plan.decision.reasons.push_back(split.infeasible);
      plan.decision.kind = DecisionKind::kSkip;
      return std::optional<std::int64_t>();
    }

    TrainRequest tr;
    tr.incremental = incremental;
    if (incremental) {
      Result<std::string> bytes = LoadVerifiedModel(prod->file, prod->sha256);
      if (!bytes.ok()) return bytes.status();
      tr.parent_ubj = std::move(*bytes);
      tr.parent_num_class = prod->num_class;
    }
    Result<TrainedModel> trained = TrainCandidate(model_, *rows, split, tr);
    if (!trained.ok()) return trained.status();
    FaultPoint("after_train");

    Result<HoldoutEvaluation> eval = EvaluateOnHoldout(model_, *rows, split, *trained, prod,
                                                       incremental ? &tr.parent_ubj : nullptr);
    if (!eval.ok()) return eval.status();

    const std::string models_dir = (std::filesystem::path(config_.state_dir) / "models").string();
    Result<StoredModel> stored =
        StoreModelFile(models_dir, model_.name, trained->ubj, request_.writer);
    if (!stored.ok()) return stored.status();
    FaultPoint("after_save");

    // Registering, the gate's outcome and the production move are one transaction.
    ModelVersion v = Describe(plan, *rows, split, *trained, *stored, incremental);
    v.status = eval->gate.status;
    v.reason = eval->gate.reason;
    v.metrics_json = eval->MetricsJson();
    Result<std::int64_t> id = registry_.AddVersion(v, eval->gate.promote, request_.actor);
    if (!id.ok()) return id.status();
    FaultPoint("after_register");
    *request_.out << SegmentLabel(model_.name, plan.segment) << ": version " << *id << " ("
                  << v.kind << ", " << (incremental ? "+" : "")
                  << (incremental ? model_.incremental.rounds : model_.rounds) << " trees on "
                  << v.rows << " rows " << Window(v.train_from, v.train_to) << ", holdout "
                  << v.holdout_rows << " rows " << Window(v.holdout_from, v.holdout_to) << ") in "
                  << fmt_seconds(trained->seconds) << " (rows read in " << fmt_seconds(load_s)
                  << ") → " << v.status << " (" << v.reason << ")\n";
    return std::optional<std::int64_t>(*id);
  }

 private:
  static std::string fmt_seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", s);
    return buf;
  }

  ModelVersion Describe(const SegmentPlan& plan, const Dataset& rows, const SplitPlan& split,
                        const TrainedModel& trained, const StoredModel& stored,
                        bool incremental) const {
    ModelVersion v;
    v.model = model_.name;
    v.segment = plan.segment;
    v.kind = incremental ? "incremental" : "full";
    v.fingerprint = fp_.hash;
    v.fingerprint_text = fp_.canonical;
    nlohmann::json params = nlohmann::json::object();
    for (const auto& [name, value] : trained.params) params[name] = value;
    if (!incremental) params["base_score"] = trained.base_score;
    v.params_json = params.dump();
    v.features = model_.features;
    v.objective = model_.objective;
    v.num_class = trained.num_class;
    v.trees = trained.trees;
    v.rows = static_cast<std::int64_t>(split.train_end - split.train_begin);
    v.train_from = rows.RawTime(split.train_begin);
    v.train_to = rows.RawTime(split.train_end - 1);
    v.holdout_from = rows.RawTime(split.holdout_begin);
    v.holdout_to = rows.RawTime(split.holdout_end - 1);
    v.holdout_rows = static_cast<std::int64_t>(split.holdout_end - split.holdout_begin);
    v.duration_s = trained.seconds;
    v.file = stored.path;
    v.sha256 = stored.sha256;
    v.created_at = UnixNow(request_.now);
    v.run_id = request_.run_id;
    if (incremental) {
      v.parent = plan.production->id;
      v.chain = plan.production->chain + 1;
      v.full_at = plan.production->full_at;
    } else {
      v.chain = 0;
      v.full_at = v.created_at;
    }
    return v;
  }

  const Config& config_;
  const ModelConfig& model_;
  SqliteDb& data_;
  Registry& registry_;
  const RetrainRequest& request_;
  const Fingerprint& fp_;
};

}  // namespace

Result<RetrainResult> RetrainModel(const Config& config, const ModelConfig& model, SqliteDb& data,
                                   Registry& registry, const RetrainRequest& request) {
  const DatasetSpec spec = DatasetSpec::FromModel(model);
  bool created = false;
  if (Status s = EnsureSegmentTimeIndex(data, spec, &created); !s.ok()) {
    return s.WithContext("model " + model.name + ": ");
  }
  if (created) {
    *request.out << "model " << model.name << ": created index " << model.table
                 << "_mlcron_seg_time so that skip decisions count rows without a scan\n";
  }
  // A retrain killed at any step leaves at worst an unregistered file or a file of a row
  // already marked deleted; this model's folder is repaired before anything else.
  Result<RepairReport> repair =
      RepairModelStore(registry, config, std::chrono::seconds(0), model.name);
  if (!repair.ok()) return repair.status();
  for (const RepairAction& a : repair->removed) {
    *request.out << "model " << model.name << ": repaired: " << a.path << " (" << a.why << ")\n";
  }
  for (const RepairProblem& p : repair->problems) {
    *request.out << "model " << model.name << ": problem: " << p.message << "\n";
  }
  PlanRequest pr{request.now, request.forced, request.segment};
  pr.policy = request.policy;
  Result<std::vector<SegmentPlan>> plans = PlanModel(data, registry, model, XgbVersion(), pr);
  if (!plans.ok()) return plans.status();

  RetrainResult result;
  for (SegmentPlan& plan : *plans) {
    // Each segment trains with its own tuned params, so it gets its own model and fingerprint.
    const ModelConfig segment_model = SegmentModel(model, plan);
    SegmentTrainer trainer(config, segment_model, data, registry, request, plan.fingerprint);
    SegmentResult r;
    r.segment = plan.segment;
    const std::string label = SegmentLabel(model.name, plan.segment);
    // The decision line comes first in the log, then what came of it.
    *request.out << label << ": " << plan.decision.Summary() << "\n";
    if (plan.decision.kind != DecisionKind::kSkip) {
      Result<std::optional<std::int64_t>> trained = trainer.Run(plan);
      if (!trained.ok()) {
        r.error = trained.message();
        *request.out << label << ": failed: " << r.error << "\n";
      } else if (!*trained) {
        *request.out << label << ": " << plan.decision.Summary() << "\n";
      } else {
        r.version = *trained;
      }
    }
    r.decision = plan.decision;

    DecisionRecord d;
    d.model = model.name;
    d.segment = plan.segment;
    d.run_id = request.run_id;
    d.decided_at = UnixNow(request.now);
    d.decision = std::string(DecisionName(plan.decision.kind));
    d.summary = plan.decision.Summary() + (r.error.empty() ? "" : "; failed: " + r.error);
    d.new_rows = plan.input.new_rows;
    d.version = r.version;
    if (Status s = registry.RecordDecision(d); !s.ok()) {
      if (r.error.empty()) r.error = s.message();
    }
    result.segments.push_back(std::move(r));
  }

  // Retention after the production moves, so the new previous-production is protected.
  Result<RetentionResult> kept = ApplyRetention(registry, config, model, /*dry_run=*/false);
  if (!kept.ok()) return kept.status();
  if (kept->deleted > 0) {
    *request.out << "model " << model.name << ": retention (keep " << model.keep
                 << "): " << kept->deleted << " version(s) deleted, " << kept->files_removed
                 << " file(s) removed, " << kept->files_archived << " archived\n";
  }
  FaultPoint("after_retention");
  if (kept->failed()) {
    SegmentResult r;
    r.error = "retention failed; the next run repairs it";
    result.segments.push_back(std::move(r));
  }
  return result;
}

int RunRetrainJob(const JobContext& ctx) {
  std::ostream& out = *ctx.out;
  std::optional<ModelJob> opened = OpenModelJob(ctx, "retrain " + ctx.job->name);
  if (!opened) return 1;
  const ModelConfig* model = opened->model;
  RetrainRequest request;
  request.now = ctx.now;
  request.run_id = ctx.run_id;
  request.actor = "auto";
  request.out = &out;
  if (!ctx.segment.empty()) request.segment = ctx.segment;
  if (!ctx.forced_by.empty()) {
    request.forced = ctx.forced_by;
  } else if (ctx.job->builtin.full) {
    request.forced = "job full: true";
  }
  Result<RetrainResult> result =
      RetrainModel(*ctx.config, *model, *opened->data, *opened->registry, request);
  if (!result.ok()) {
    out << "retrain " << ctx.job->name << ": " << result.message() << "\n";
    return 1;
  }
  return result->failed() ? 1 : 0;
}

}  // namespace mlcron
