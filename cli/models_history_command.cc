// `mlcron models history MODEL [--segment S] [--plot FILE.svg] [--json]`: every version of a
// model over time with its primary holdout metric, which one is production now, and (JSON,
// plot) the periods each was production. Reads the registry; writes only the plot file.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <utility>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/models_common.h"
#include "daemon/snapshot.h"
#include "daemon/time_format.h"
#include "jobs/history_svg.h"
#include "jobs/model_history.h"
#include "jobs/registry.h"
#include "jobs/retrain_plan.h"

namespace mlcron {
namespace {

using nlohmann::json;

constexpr const char* kCommand = "mlcron models history";

struct HistoryArgs {
  std::string config;
  std::string model;
  std::string segment;
  std::string plot;
  bool json = false;
};

// "a .. b" for a window; "-" when neither bound is known.
std::string Window(const SqlValue& from, const SqlValue& to) {
  if (from.is_null() && to.is_null()) return "-";
  const auto dash = [](std::string s) { return s.empty() ? std::string("-") : s; };
  return dash(from.ToString()) + " .. " + dash(to.ToString());
}

std::string MetricText(const std::optional<double>& v) {
  return v ? fmt::format("{:.4f}", *v) : "-";
}

std::string Joined(const std::vector<std::string>& segments) {
  std::string out;
  for (const auto& s : segments) out += (out.empty() ? "" : ", ") + (s.empty() ? "\"\"" : s);
  return out;
}

void PrintHistory(const HistoryData& h, const Config& config) {
  std::string metric_heading = h.metric;
  std::transform(metric_heading.begin(), metric_heading.end(), metric_heading.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  std::cout << SegmentLabel(h.model, h.segment) << ": " << h.metric
            << " on each version's holdout, oldest first\n";
  std::vector<std::vector<std::string>> rows = {
      {"ID", "CREATED", "KIND", "STATUS", "TREES", "ROWS", "HOLDOUT", metric_heading, ""}};
  bool any_production = false;
  for (const HistoryVersion& v : h.versions) {
    any_production = any_production || v.production;
    rows.push_back({std::to_string(v.id), When(v.created_at, config), v.kind, v.status,
                    std::to_string(v.trees), std::to_string(v.rows),
                    Window(v.holdout_from, v.holdout_to), MetricText(v.metric),
                    v.production ? "*" : ""});
  }
  PrintTable(rows);
  if (any_production) std::cout << "* = production now\n";
}

json HistoryJson(const HistoryData& h, const Config& config) {
  json out = json::array();
  for (const HistoryVersion& v : h.versions) {
    json periods = json::array();
    for (const ProductionPeriod& p : h.periods) {
      if (p.version != v.id) continue;
      periods.push_back({{"from", When(p.from, config)},
                         {"to", p.to ? json(When(*p.to, config)) : json(nullptr)},
                         {"action", p.action}});
    }
    out.push_back({{"id", v.id},
                   {"model", h.model},
                   {"segment", h.segment},
                   {"created", When(v.created_at, config)},
                   {"created_at", v.created_at},
                   {"kind", v.kind},
                   {"status", v.status},
                   {"trees", v.trees},
                   {"rows", v.rows},
                   {"holdout_from", ValueJson(v.holdout_from)},
                   {"holdout_to", ValueJson(v.holdout_to)},
                   {"metric", h.metric},
                   {"value", v.metric ? json(*v.metric) : json(nullptr)},
                   {"production", v.production},
                   {"production_periods", std::move(periods)}});
  }
  return out;
}

int WritePlot(const HistoryArgs& args, const HistoryData& h, const Config& config) {
  HistorySvgOptions options;
  options.tz = config.tz;
  std::error_code ec;
  const std::filesystem::path path = std::filesystem::absolute(args.plot, ec);
  if (ec) {
    std::cerr << kCommand << ": --plot " << args.plot << ": " << ec.message() << "\n";
    return kExitFailed;
  }
  if (Status s = WriteFileAtomic(path.string(), RenderHistorySvg(h, options), 0644); !s.ok()) {
    std::cerr << kCommand << ": --plot: " << s.message() << "\n";
    return kExitFailed;
  }
  return kExitOk;
}

int History(const HistoryArgs& args) {
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  const ModelConfig* model = FindModelOrPrint(*config, args.model, kCommand);
  if (model == nullptr) return kExitUsage;
  bool absent = false;
  auto registry = OpenRegistryIfPresent(*config, &absent, kCommand);
  if (!registry && !absent) return kExitFailed;
  std::vector<std::string> segments;
  if (registry) {
    auto found = HistorySegments(*registry, args.model);
    if (!found.ok()) {
      std::cerr << kCommand << ": " << found.message() << "\n";
      return kExitFailed;
    }
    segments = std::move(*found);
  }

  std::vector<std::string> chosen = segments;
  if (!args.segment.empty()) {
    const bool known = std::find(segments.begin(), segments.end(), args.segment) != segments.end();
    chosen = known ? std::vector<std::string>{args.segment} : std::vector<std::string>{};
  }
  if (chosen.empty()) {
    std::string none = "no versions of model " + args.model;
    if (!args.segment.empty()) none += " in segment " + args.segment;
    if (absent) none += " (no models trained yet)";
    if (!segments.empty()) none += " (segments with versions: " + Joined(segments) + ")";
    if (!args.plot.empty()) {
      std::cerr << kCommand << ": " << none << ": nothing to plot\n";
      return kExitFailed;
    }
    std::cout << (args.json ? "[]" : none) << "\n";
    return kExitOk;
  }
  if (!args.plot.empty() && chosen.size() > 1) {
    std::cerr << kCommand << ": --plot draws one segment and model " << args.model << " has "
              << chosen.size() << ": " << Joined(chosen) << " (add --segment S)\n";
    return kExitUsage;
  }

  std::vector<HistoryData> histories;
  for (const std::string& segment : chosen) {
    auto h = ReadHistory(*registry, args.model, segment, model->metric);
    if (!h.ok()) {
      std::cerr << kCommand << ": " << h.message() << "\n";
      return kExitFailed;
    }
    histories.push_back(std::move(*h));
  }
  if (args.json) {
    json out = json::array();
    for (const HistoryData& h : histories) {
      for (auto& v : HistoryJson(h, *config)) out.push_back(std::move(v));
    }
    std::cout << out.dump(2) << "\n";
  } else {
    for (size_t i = 0; i < histories.size(); ++i) {
      if (i > 0) std::cout << "\n";
      PrintHistory(histories[i], *config);
    }
  }
  if (args.plot.empty()) return kExitOk;
  const int rc = WritePlot(args, histories.front(), *config);
  if (rc == kExitOk && !args.json) std::cout << "plot written to " << args.plot << "\n";
  return rc;
}

}  // namespace

void AddModelsHistoryCommands(CLI::App& models, int* exit_code) {
  auto args = std::make_shared<HistoryArgs>();
  auto* cmd = models.add_subcommand(
      "history", "every version's holdout metric over time, production marked; --plot draws it");
  cmd->add_option("model", args->model, "model name (see the config's models:)")->required();
  cmd->add_option("-c,--config", args->config, "config file")->required();
  cmd->add_option("--segment", args->segment,
                  "only this segment (required by --plot when "
                  "the model has several)");
  cmd->add_option("--plot", args->plot, "also write the history as an SVG file");
  cmd->add_flag("--json", args->json, "JSON output");
  cmd->callback([args, exit_code] { *exit_code = History(*args); });
}

}  // namespace mlcron
