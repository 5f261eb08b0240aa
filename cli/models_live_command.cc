// `mlcron models live MODEL [--segment S] [--json]`: each version's live record, the signals
// the signals job scored once their labels arrived (jobs/live_scores.h), with the model's
// metric live against the same metric on the version's holdout. Reads the registry only.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/models_common.h"
#include "daemon/time_format.h"
#include "jobs/live_scores.h"
#include "jobs/registry.h"

namespace mlcron {
namespace {

using nlohmann::json;

constexpr const char* kCommand = "mlcron models live";

struct LiveArgs {
  std::string config;
  std::string model;
  std::string segment;
  bool json = false;
};

// A stored IsoUtc instant in the config's zone, like every other time the CLI shows.
std::string Local(const std::string& iso_utc, const Config& config) {
  Result<Instant> t = ParseInstant(iso_utc, config.tz);
  return t.ok() ? FormatInstant(*t, config.tz) : iso_utc;
}

std::optional<double> Live(const LiveSummary& s, const std::string& metric) {
  auto it = s.metrics.find(metric);
  return it == s.metrics.end() ? std::nullopt : std::optional<double>(it->second);
}

// (live - holdout) / |holdout|: positive when the metric rose.
std::optional<double> Change(const LiveSummary& s, const std::string& metric) {
  const std::optional<double> live = Live(s, metric);
  if (!live || !s.holdout || *s.holdout == 0) return std::nullopt;
  return (*live - *s.holdout) / std::abs(*s.holdout);
}

std::string Number(const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : "-"; }

void PrintSummaries(const ModelConfig& model, const std::vector<LiveSummary>& sums,
                    const Config& config) {
  std::string heading = model.metric;
  std::transform(heading.begin(), heading.end(), heading.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const bool segmented = !model.segment_by.empty();
  const bool classifier = model.IsClassifier() && model.metric != "accuracy";
  std::cout << model.name << ": " << model.metric
            << " of the signals scored once their labels arrived, against each version's "
               "holdout\n";
  std::vector<std::string> head;
  if (segmented) head.push_back("SEGMENT");
  for (const char* h : {"VERSION", "STATUS", "ROWS", "FIRST SIGNAL", "LAST SIGNAL"}) {
    head.push_back(h);
  }
  head.push_back(heading);
  head.push_back("HOLDOUT");
  head.push_back("CHANGE");
  if (classifier) head.push_back("ACCURACY");
  std::vector<std::vector<std::string>> rows = {head};
  for (const LiveSummary& s : sums) {
    std::vector<std::string> row;
    if (segmented) row.push_back(s.segment);
    const std::optional<double> change = Change(s, model.metric);
    for (std::string cell : {std::to_string(s.version), s.status, std::to_string(s.rows),
                             Local(s.first_signal, config), Local(s.last_signal, config),
                             Number(Live(s, model.metric)), Number(s.holdout),
                             change ? fmt::format("{:+.1f}%", *change * 100) : std::string("-")}) {
      row.push_back(std::move(cell));
    }
    if (classifier) row.push_back(Number(Live(s, "accuracy")));
    rows.push_back(std::move(row));
  }
  PrintTable(rows);
  if (model.drift.max_degradation) {
    std::cout << fmt::format(
        "drift rule: production's {} over its last {} rows worse than holdout by more than "
        "{:g}% → full retrain\n",
        model.metric, model.drift.window, *model.drift.max_degradation * 100);
  }
}

json SummaryJson(const ModelConfig& model, const LiveSummary& s, const Config& config) {
  const auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  return {{"model", model.name},
          {"segment", s.segment},
          {"version", s.version},
          {"status", s.status},
          {"rows", s.rows},
          {"first_signal", Local(s.first_signal, config)},
          {"last_signal", Local(s.last_signal, config)},
          {"metric", model.metric},
          {"live", opt(Live(s, model.metric))},
          {"holdout", opt(s.holdout)},
          {"change", opt(Change(s, model.metric))},
          {"metrics", s.metrics}};
}

int ShowLive(const LiveArgs& args) {
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  const ModelConfig* model = FindModelOrPrint(*config, args.model, kCommand);
  if (model == nullptr) return kExitUsage;
  std::vector<LiveSummary> sums;
  std::error_code ec;
  // No state database yet: nothing was ever scored, and reading must not create one.
  if (std::filesystem::exists(config->state_dir + "/mlcron.db", ec)) {
    if (!RunAsStateOwner(*config)) return kExitFailed;
    auto registry = Registry::Open(*config);
    if (!registry.ok()) {
      std::cerr << kCommand << ": " << registry.message() << "\n";
      return kExitFailed;
    }
    std::optional<std::string> segment;
    if (!args.segment.empty()) segment = args.segment;
    auto found = SummarizeLive(**registry, *model, segment);
    if (!found.ok()) {
      std::cerr << kCommand << ": " << found.message() << "\n";
      return kExitFailed;
    }
    sums = std::move(*found);
  }
  if (args.json) {
    json out = json::array();
    for (const LiveSummary& s : sums) out.push_back(SummaryJson(*model, s, *config));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (sums.empty()) {
    std::cout << "no live scores yet for model " << model->name
              << (args.segment.empty() ? "" : " in segment " + args.segment)
              << " (the signals job scores a signal once its label arrives)\n";
    return kExitOk;
  }
  PrintSummaries(*model, sums, *config);
  return kExitOk;
}

}  // namespace

void AddModelsLiveCommand(CLI::App& models, int* exit_code) {
  auto args = std::make_shared<LiveArgs>();
  auto* cmd = models.add_subcommand(
      "live", "each version's live metric (signals scored once labelled) against its holdout");
  cmd->add_option("model", args->model, "model name (see the config's models:)")->required();
  cmd->add_option("-c,--config", args->config, "config file")->required();
  cmd->add_option("--segment", args->segment, "only this segment");
  cmd->add_flag("--json", args->json, "JSON output");
  cmd->callback([args, exit_code] { *exit_code = ShowLive(*args); });
}

}  // namespace mlcron
