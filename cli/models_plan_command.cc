// `mlcron models plan [--model M] [--segment S] [--full] [--json]`: the retrain decisions
// the next retrain run would take, computed exactly as the job computes them (registry and
// indexed counts), without training and without writing anything.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/models_common.h"
#include "jobs/fingerprint.h"
#include "jobs/job_context.h"
#include "jobs/registry.h"
#include "jobs/retrain_plan.h"
#include "jobs/xgb_booster.h"

namespace mlcron {
namespace {

using nlohmann::json;

struct PlanArgs {
  std::string config;
  std::string model;
  std::string segment;
  bool full = false;
  bool json = false;
};

json ToJson(const ModelConfig& model, const SegmentPlan& p) {
  return {{"model", model.name},
          {"segment", p.segment},
          {"decision", DecisionName(p.decision.kind)},
          {"reasons", p.decision.reasons},
          {"summary", p.decision.Summary()},
          {"labelled_rows", p.input.labelled_rows},
          {"new_rows", p.input.new_rows},
          {"holdout_pool", p.input.holdout_pool},
          {"production", p.production ? json(p.production->id) : json(nullptr)},
          {"tuned_params", p.tuned.params},
          {"tuned_study", p.tuned.study ? json(*p.tuned.study) : json(nullptr)}};
}

int Plan(const PlanArgs& args) {
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  if (!args.model.empty() && !FindModelOrPrint(*config, args.model, "mlcron models plan")) {
    return kExitUsage;
  }
  if (!std::filesystem::exists(config->data_path)) {
    std::cerr << "mlcron models plan: data database " << config->data_path
              << " does not exist yet (nothing to train on)\n";
    return kExitFailed;
  }
  if (!RunAsStateOwner(*config)) return kExitFailed;
  auto data = OpenDataDb(*config);
  if (!data.ok()) {
    std::cerr << "mlcron models plan: " << data.message() << "\n";
    return kExitFailed;
  }
  auto registry = Registry::Open(*config);
  if (!registry.ok()) {
    std::cerr << "mlcron models plan: " << registry.message() << "\n";
    return kExitFailed;
  }
  PlanRequest request;
  request.now = std::chrono::system_clock::now();
  request.exact_counts = true;
  if (args.full) request.forced = "--full";
  if (!args.segment.empty()) request.segment = args.segment;

  json out = json::array();
  bool failed = false;
  for (const ModelConfig& model : config->models) {
    if (!args.model.empty() && model.name != args.model) continue;
    Result<std::vector<SegmentPlan>> plans =
        PlanModel(**data, **registry, model, XgbVersion(), request);
    if (!plans.ok()) {
      std::cerr << "mlcron models plan: " << plans.message() << "\n";
      failed = true;
      continue;
    }
    for (const SegmentPlan& p : *plans) {
      if (args.json) {
        out.push_back(ToJson(model, p));
      } else {
        std::cout << std::left << std::setw(24) << SegmentLabel(model.name, p.segment) << " "
                  << std::setw(12) << DecisionName(p.decision.kind) << p.decision.Summary() << "\n";
      }
    }
  }
  if (args.json) std::cout << out.dump(2) << "\n";
  return failed ? kExitFailed : kExitOk;
}

}  // namespace

void AddModelsPlanCommand(CLI::App& models, int* exit_code) {
  auto args = std::make_shared<PlanArgs>();
  auto* cmd = models.add_subcommand("plan", "show the retrain decisions without training");
  cmd->add_option("-c,--config", args->config, "config file")->required();
  cmd->add_option("--model", args->model, "only this model");
  cmd->add_option("--segment", args->segment, "only this segment");
  cmd->add_flag("--full", args->full, "show the plan as if a full retrain were forced");
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->callback([args, exit_code] { *exit_code = Plan(*args); });
}

}  // namespace mlcron
