// `mlcron models tune MODEL`: runs the model's tuning study by hand (jobs/tune_job.h), with a
// line per trial on a terminal, and `--history` lists the studies run (`--study N` one
// study's trials). Applying follows the config's rule (better than the current params)
// unless --apply or --no-apply says otherwise.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/models_common.h"
#include "jobs/job_context.h"
#include "jobs/retrain_plan.h"
#include "jobs/tune_job.h"

namespace mlcron {
namespace {

using nlohmann::json;

constexpr const char* kCommand = "mlcron models tune";

struct TuneArgs {
  std::string config;
  std::string model;
  std::string segment;
  std::string method;
  int trials = 0;
  std::int64_t seed = -1;
  bool apply = false;
  bool no_apply = false;
  bool resume = false;
  bool history = false;
  std::int64_t study = 0;
  int limit = 20;
  bool json = false;
};

std::string Dash(const std::string& s) { return s.empty() ? "-" : s; }
std::string Value(const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : "-"; }
json ValueOrNull(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

std::string ParamsText(const ParamTexts& params) {
  std::string out;
  for (const auto& [name, value] : params) out += (out.empty() ? "" : " ") + name + "=" + value;
  return out;
}

json TrialJson(const TrialRecord& t) {
  return {{"number", t.number},           {"state", t.state},   {"value", ValueOrNull(t.value)},
          {"fold_scores", t.fold_scores}, {"params", t.params}, {"error", t.error},
          {"duration_s", t.duration_s}};
}

json StudyJson(const StudyRecord& s, const Config& config) {
  return {{"study", s.id},
          {"model", s.model},
          {"segment", s.segment},
          {"method", s.method},
          {"seed", s.seed},
          {"metric", s.metric},
          {"trials", s.trials},
          {"rows", s.rows},
          {"status", s.status},
          {"started_at", When(s.started_at, config)},
          {"finished_at", s.finished_at ? json(When(*s.finished_at, config)) : json(nullptr)},
          {"best_trial", s.best_trial ? json(*s.best_trial) : json(nullptr)},
          {"best_value", ValueOrNull(s.best_value)},
          {"baseline_value", ValueOrNull(s.baseline_value)},
          {"applied", s.applied_at.has_value()},
          {"verdict", s.verdict},
          {"actor", s.actor},
          {"run_id", s.run_id}};
}

// A line per trial on stderr, only for a person watching a terminal.
void PrintProgress(const std::string& label, const StudyRecord& study, const TrialRecord& t,
                   std::optional<double>* best, bool lower) {
  if (t.state == "complete" && t.value &&
      (!*best || (lower ? *t.value < **best : *t.value > **best))) {
    *best = t.value;
  }
  std::cerr << fmt::format("{}: trial {}/{} {:<8} {} {}  best {}  {:.1f} s{}\n", label,
                           t.number + 1, study.trials, t.state, study.metric, Value(t.value),
                           Value(*best), t.duration_s, t.error.empty() ? "" : "  " + t.error);
}

int ShowHistory(const TuneArgs& args, const Config& config, const ModelConfig& model) {
  bool absent = false;
  std::unique_ptr<Registry> registry = OpenRegistryIfPresent(config, &absent, kCommand);
  if (!registry && !absent) return kExitFailed;
  if (!registry) {
    if (args.json) {
      std::cout << "[]\n";
    } else {
      std::cout << "no tuning studies yet for model " << model.name << "\n";
    }
    return kExitOk;
  }
  TuningStore store(registry->db());
  if (args.study > 0) {
    Result<std::optional<StudyRecord>> study = store.Study(args.study);
    if (!study.ok() || !*study || (*study)->model != model.name) {
      std::cerr << kCommand << ": no study " << args.study << " of model " << model.name << "\n";
      return study.ok() ? kExitUsage : kExitFailed;
    }
    Result<std::vector<TrialRecord>> trials = store.Trials(args.study);
    if (!trials.ok()) {
      std::cerr << kCommand << ": " << trials.message() << "\n";
      return kExitFailed;
    }
    if (args.json) {
      json j = StudyJson(**study, config);
      j["trials_run"] = json::array();
      for (const TrialRecord& t : *trials) j["trials_run"].push_back(TrialJson(t));
      std::cout << j.dump(2) << "\n";
      return kExitOk;
    }
    std::cout << "study " << (*study)->id << " of " << SegmentLabel(model.name, (*study)->segment)
              << ": " << (*study)->method << ", seed " << (*study)->seed << ", " << (*study)->rows
              << " rows, baseline " << (*study)->metric << " " << Value((*study)->baseline_value)
              << "; " << Dash((*study)->verdict) << "\n";
    std::vector<std::vector<std::string>> rows = {
        {"TRIAL", "STATE", (*study)->metric, "FOLDS", "SECONDS", "PARAMS"}};
    for (const TrialRecord& t : *trials) {
      rows.push_back({std::to_string(t.number), t.state, Value(t.value),
                      std::to_string(t.fold_scores.size()), fmt::format("{:.1f}", t.duration_s),
                      t.error.empty() ? ParamsText(t.params) : t.error});
    }
    PrintTable(rows);
    return kExitOk;
  }
  Result<std::vector<StudyRecord>> studies = store.Studies(model.name, args.limit);
  if (!studies.ok()) {
    std::cerr << kCommand << ": " << studies.message() << "\n";
    return kExitFailed;
  }
  if (args.json) {
    json out = json::array();
    for (const StudyRecord& s : *studies) out.push_back(StudyJson(s, config));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (studies->empty()) {
    std::cout << "no tuning studies yet for model " << model.name << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"STUDY", "SEGMENT", "METHOD", "TRIALS", "STATUS", "STARTED", "BEST", "BASELINE", "VERDICT"}};
  for (const StudyRecord& s : *studies) {
    rows.push_back({std::to_string(s.id), Dash(s.segment), s.method, std::to_string(s.trials),
                    s.status, When(s.started_at, config), Value(s.best_value),
                    Value(s.baseline_value), Dash(s.verdict)});
  }
  PrintTable(rows);
  return kExitOk;
}

int RunTune(const TuneArgs& args) {
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  const ModelConfig* model = FindModelOrPrint(*config, args.model, kCommand);
  if (model == nullptr) return kExitUsage;
  if (!model->tuning) {
    std::cerr << kCommand << ": model " << model->name << " has no tuning: section in "
              << config->path << " (see docs/tuning.md)\n";
    return kExitUsage;
  }
  if (args.history) return ShowHistory(args, *config, *model);

  TuneRequest request;
  if (!args.method.empty()) {
    if (args.method == "grid") request.method = TuningConfig::Method::kGrid;
    if (args.method == "random") request.method = TuningConfig::Method::kRandom;
    if (args.method == "tpe") request.method = TuningConfig::Method::kTpe;
  }
  if (args.trials > 0) request.trials = args.trials;
  if (args.seed >= 0) request.seed = static_cast<std::uint64_t>(args.seed);
  if (!args.segment.empty()) request.segment = args.segment;
  request.resume = args.resume ? StudyRequest::Resume::kYes : StudyRequest::Resume::kNo;
  request.apply = args.apply      ? ApplyMode::kAlways
                  : args.no_apply ? ApplyMode::kNever
                                  : ApplyMode::kBetter;
  request.actor = CurrentActor();
  request.now = std::chrono::system_clock::now();
  std::ostringstream log;
  request.out = args.json ? static_cast<std::ostream*>(&log) : &std::cout;
  std::optional<double> best;
  std::string current;
  const bool lower =
      LowerIsBetter(model->tuning->metric.empty() ? model->metric : model->tuning->metric);
  if (::isatty(STDERR_FILENO)) {
    request.on_trial = [&](const std::string& label, const StudyRecord& s, const TrialRecord& t) {
      if (label != current) best.reset();
      current = label;
      PrintProgress(label, s, t, &best, lower);
    };
  }

  if (!RunAsStateOwner(*config)) return kExitFailed;
  auto data = OpenDataDb(*config);
  if (!data.ok()) {
    std::cerr << kCommand << ": " << data.message() << "\n";
    return kExitFailed;
  }
  auto registry = Registry::Open(*config);
  if (!registry.ok()) {
    std::cerr << kCommand << ": " << registry.message() << "\n";
    return kExitFailed;
  }
  Result<std::vector<TuneSegmentResult>> results = TuneModel(*model, **data, **registry, request);
  if (!results.ok()) {
    std::cerr << kCommand << ": " << results.message() << "\n";
    return kExitFailed;
  }
  bool failed = false;
  json out = json::array();
  for (const TuneSegmentResult& r : *results) {
    failed = failed || !r.error.empty();
    if (!args.json) continue;
    json j = r.outcome ? StudyJson(r.outcome->study, *config) : json::object();
    j["model"] = model->name;
    j["segment"] = r.segment;
    j["applied"] = r.verdict.apply;
    j["verdict"] = r.verdict.text;
    j["error"] = r.error;
    if (r.outcome) {
      j["resumed"] = r.outcome->resumed;
      j["best_params"] = r.outcome->best ? json(r.outcome->best->params) : json(nullptr);
      j["trials_run"] = json::array();
      for (const TrialRecord& t : r.outcome->trials) j["trials_run"].push_back(TrialJson(t));
    }
    out.push_back(std::move(j));
  }
  if (args.json) std::cout << out.dump(2) << "\n";
  return failed ? kExitFailed : kExitOk;
}

}  // namespace

void AddModelsTuneCommand(CLI::App& models, int* exit_code) {
  auto args = std::make_shared<TuneArgs>();
  auto* cmd = models.add_subcommand(
      "tune", "run the model's tuning study now (time-series CV), or list studies (--history)");
  cmd->add_option("model", args->model, "model name (see the config's models:)")->required();
  cmd->add_option("-c,--config", args->config, "config file")->required();
  cmd->add_option("--segment", args->segment, "only this segment");
  cmd->add_option("--method", args->method, "override tuning.method")
      ->check(CLI::IsMember({"grid", "random", "tpe"}));
  cmd->add_option("--trials", args->trials, "override tuning.trials")->check(CLI::Range(1, 100000));
  cmd->add_option("--seed", args->seed, "override tuning.seed")->check(CLI::NonNegativeNumber);
  auto* apply = cmd->add_flag("--apply", args->apply,
                              "apply the best params even when they do not beat the current ones");
  auto* no_apply =
      cmd->add_flag("--no-apply", args->no_apply, "record the study only, apply nothing");
  apply->excludes(no_apply);
  cmd->add_flag("--resume", args->resume,
                "continue the segment's interrupted study (its finished trials are kept)");
  auto* history = cmd->add_flag("--history", args->history, "list the model's studies");
  cmd->add_option("--study", args->study, "with --history: one study's trials")->needs(history);
  cmd->add_option("--limit", args->limit, "with --history: at most this many studies")
      ->needs(history);
  cmd->add_flag("--json", args->json, "JSON output");
  cmd->callback([args, exit_code] { *exit_code = RunTune(*args); });
}

}  // namespace mlcron
