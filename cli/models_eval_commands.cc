// `mlcron models evaluate VERSION` and `mlcron models compare A B`: score registered versions
// on labelled rows of their model's source (by default a holdout window) and print the
// metrics, as a table or JSON. Reads the registry and the data; writes nothing but the
// optional --predictions file.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "jobs/evaluate.h"
#include "jobs/job_context.h"
#include "jobs/promotion_gate.h"
#include "jobs/retrain_plan.h"

namespace mlcron {
namespace {

using nlohmann::json;

struct EvalArgs {
  std::string config;
  std::int64_t version = 0;
  std::int64_t other = 0;  // compare: B
  std::string from, to;
  std::string predictions;
  bool json = false;
};

// What both commands open: the config, the period, the data and the registry. Prints the
// error prefixed by `command` and sets *exit_code on failure.
struct Opened {
  std::shared_ptr<const Config> config;
  EvalPeriod period;
  std::unique_ptr<SqliteDb> data;
  std::unique_ptr<Registry> registry;
};

std::optional<Opened> Open(const std::string& command, const EvalArgs& args, int* exit_code) {
  Opened o;
  o.config = LoadConfigOrPrint(args.config);
  *exit_code = kExitUsage;
  if (!o.config) return std::nullopt;
  Result<EvalPeriod> period = ParsePeriod(args.from, args.to);
  if (!period.ok()) {
    std::cerr << command << ": " << period.message() << "\n";
    return std::nullopt;
  }
  o.period = std::move(*period);
  *exit_code = kExitFailed;
  // Reading never creates state: no registry means no versions yet.
  if (!std::filesystem::exists(o.config->state_dir + "/mlcron.db")) {
    std::cerr << command << ": no version " << args.version << " (no models trained yet)\n";
    return std::nullopt;
  }
  if (!std::filesystem::exists(o.config->data_path)) {
    std::cerr << command << ": data database " << o.config->data_path << " does not exist\n";
    return std::nullopt;
  }
  if (!RunAsStateOwner(*o.config)) return std::nullopt;
  auto registry = Registry::Open(*o.config);
  auto data = registry.ok() ? OpenDataDb(*o.config) : registry.status();
  if (!data.ok()) {
    std::cerr << command << ": " << data.message() << "\n";
    return std::nullopt;
  }
  o.registry = std::move(*registry);
  o.data = std::move(*data);
  return o;
}

std::string PrimaryMetric(const Config& config, const ModelVersion& v) {
  const ModelConfig* model = config.FindModel(v.model);
  return model && !model->metric.empty() ? model->metric : DefaultMetric(v.objective);
}

std::string Value(const std::map<std::string, double>& metrics, const std::string& name) {
  auto it = metrics.find(name);
  return it == metrics.end() ? "-" : fmt::format("{:.6f}", it->second);
}

// "40 labelled rows between 2024-02-02 and 2024-02-09"
std::string RowsText(const Evaluation& e) {
  std::string text = fmt::format("{} labelled rows", e.rows());
  if (e.from && e.to) return text + " between " + e.from_text + " and " + e.to_text;
  if (e.from) return text + " from " + e.from_text + " on";
  return text + " up to " + e.to_text;
}

json Bound(const std::optional<std::int64_t>& set, const std::string& text) {
  return set ? json(text) : json(nullptr);
}

json MetricsJson(const std::map<std::string, double>& metrics) {
  json out = json::object();
  for (const auto& [name, value] : metrics) out[name] = value;
  return out;
}

void PrintRows(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  }
}

std::string Percent(double r) {
  if (std::isinf(r)) return "∞%";
  return fmt::format("{:.1f}%", r * 100);
}

int Evaluate(const EvalArgs& args) {
  const std::string command = "mlcron models evaluate";
  int exit_code = kExitOk;
  std::optional<Opened> o = Open(command, args, &exit_code);
  if (!o) return exit_code;
  Result<Evaluation> e =
      EvaluateVersion(*o->config, *o->data, *o->registry, args.version, o->period);
  if (!e.ok()) {
    std::cerr << command << ": " << e.message() << "\n";
    return kExitFailed;
  }
  if (!args.predictions.empty()) {
    if (Status s = WritePredictionsCsv(args.predictions, *e); !s.ok()) {
      std::cerr << command << ": " << s.message() << "\n";
      return kExitFailed;
    }
  }
  const ModelVersion& v = e->version;
  const std::string primary = PrimaryMetric(*o->config, v);
  if (args.json) {
    json out = {{"version", v.id},
                {"model", v.model},
                {"segment", v.segment},
                {"rows", e->rows()},
                {"from", Bound(e->from, e->from_text)},
                {"to", Bound(e->to, e->to_text)},
                {"metric", primary},
                {"metrics", MetricsJson(e->metrics)}};
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "version " << v.id << " of " << SegmentLabel(v.model, v.segment) << " on "
            << RowsText(*e) << "\n";
  std::vector<std::vector<std::string>> rows = {{"METRIC", "VALUE", ""}};
  for (const std::string& name : KnownMetrics()) {
    if (!e->metrics.count(name)) continue;
    rows.push_back({name, Value(e->metrics, name), name == primary ? "(primary)" : ""});
  }
  PrintRows(rows);
  return kExitOk;
}

int Compare(const EvalArgs& args) {
  const std::string command = "mlcron models compare";
  int exit_code = kExitOk;
  std::optional<Opened> o = Open(command, args, &exit_code);
  if (!o) return exit_code;
  Result<Comparison> c =
      CompareVersions(*o->config, *o->data, *o->registry, args.version, args.other, o->period);
  if (!c.ok()) {
    std::cerr << command << ": " << c.message() << "\n";
    return kExitFailed;
  }
  const ModelVersion& va = c->a.version;
  const ModelVersion& vb = c->b.version;
  if (args.json) {
    json out = {{"model", va.model},
                {"segment", va.segment},
                {"rows", c->a.rows()},
                {"from", Bound(c->a.from, c->a.from_text)},
                {"to", Bound(c->a.to, c->a.to_text)},
                {"metric", c->metric},
                {"a", {{"version", va.id}, {"metrics", MetricsJson(c->a.metrics)}}},
                {"b", {{"version", vb.id}, {"metrics", MetricsJson(c->b.metrics)}}},
                {"winner", c->winner ? json(*c->winner) : json(nullptr)},
                {"b_over_a", c->b_over_a ? json(*c->b_over_a) : json(nullptr)}};
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << SegmentLabel(va.model, va.segment) << " on " << RowsText(c->a) << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"METRIC", fmt::format("VERSION {}", va.id), fmt::format("VERSION {}", vb.id)}};
  for (const std::string& name : KnownMetrics()) {
    if (!c->a.metrics.count(name) && !c->b.metrics.count(name)) continue;
    rows.push_back({name, Value(c->a.metrics, name), Value(c->b.metrics, name)});
  }
  PrintRows(rows);
  const std::string& m = c->metric;
  if (!c->b_over_a) {
    std::cout << m << " (primary) is undefined on these rows: no winner\n";
  } else if (!c->winner) {
    std::cout << m << " (primary): versions " << va.id << " and " << vb.id << " are equal ("
              << Value(c->a.metrics, m) << ")\n";
  } else {
    const bool b_wins = *c->winner == vb.id;
    const Evaluation& win = b_wins ? c->b : c->a;
    const Evaluation& lose = b_wins ? c->a : c->b;
    const double gain = RelativeImprovement(m, win.metrics.at(m), lose.metrics.at(m));
    std::cout << m << " (primary): version " << *c->winner << " is better by " << Percent(gain)
              << " (" << Value(win.metrics, m) << " vs " << Value(lose.metrics, m) << ")\n";
  }
  return kExitOk;
}

}  // namespace

void AddModelsEvalCommands(CLI::App& models, int* exit_code) {
  auto eval_args = std::make_shared<EvalArgs>();
  auto* evaluate = models.add_subcommand(
      "evaluate", "score a version on labelled rows (default: its holdout window)");
  evaluate->add_option("version", eval_args->version, "version id (see models list)")->required();
  evaluate->add_option("-c,--config", eval_args->config, "config file")->required();
  evaluate->add_option("--from", eval_args->from, "first time to include (unix s or ISO-8601)");
  evaluate->add_option("--to", eval_args->to, "last time to include (a date: the whole day)");
  evaluate->add_option("--predictions", eval_args->predictions,
                       "also write key,label,predictions per row to this CSV file");
  evaluate->add_flag("--json", eval_args->json, "JSON output");
  evaluate->callback([eval_args, exit_code] { *exit_code = Evaluate(*eval_args); });

  auto cmp_args = std::make_shared<EvalArgs>();
  auto* compare = models.add_subcommand(
      "compare", "score two versions on the same rows (default: the newer one's holdout)");
  compare->add_option("a", cmp_args->version, "version id A")->required();
  compare->add_option("b", cmp_args->other, "version id B")->required();
  compare->add_option("-c,--config", cmp_args->config, "config file")->required();
  compare->add_option("--from", cmp_args->from, "first time to include (unix s or ISO-8601)");
  compare->add_option("--to", cmp_args->to, "last time to include (a date: the whole day)");
  compare->add_flag("--json", cmp_args->json, "JSON output");
  compare->callback([cmp_args, exit_code] { *exit_code = Compare(*cmp_args); });
}

}  // namespace mlcron
