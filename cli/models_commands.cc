// `mlcron models list|show`: read the model registry in state_dir/mlcron.db. Reading never
// creates state: without a database there are simply no models yet.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/models_common.h"
#include "daemon/time_format.h"
#include "jobs/registry.h"

namespace mlcron {
namespace {

using nlohmann::json;

// A window bound as people read it; SqlValue::ToString's format, kept here so the CLI does
// not depend on its definition.
std::string ValueText(const SqlValue& v) {
  switch (v.type) {
    case SqlValue::Type::kNull:
      return "";
    case SqlValue::Type::kInteger:
      return std::to_string(v.i);
    case SqlValue::Type::kReal:
      return fmt::format("{}", v.r);
    case SqlValue::Type::kText:
      return v.s;
  }
  return "";
}

// Stored JSON text embedded as JSON: null when empty, kept as a string if it does not parse.
json EmbedJson(const std::string& text) {
  if (text.empty()) return nullptr;
  json parsed = json::parse(text, nullptr, false);
  return parsed.is_discarded() ? json(text) : parsed;
}

std::string Dash(const std::string& s) { return s.empty() ? "-" : s; }

std::string Opt(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "-"; }

json OptJson(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }

// The ids the production pointers name, for the (model, segment) pairs in `versions`.
Result<std::set<std::int64_t>> ProductionIds(Registry& registry,
                                             const std::vector<ModelVersion>& versions) {
  std::set<std::pair<std::string, std::string>> segments;
  for (const auto& v : versions) segments.emplace(v.model, v.segment);
  std::set<std::int64_t> ids;
  for (const auto& [model, segment] : segments) {
    auto production = registry.Production(model, segment);
    if (!production.ok()) return production.status();
    if (*production) ids.insert((*production)->id);
  }
  return ids;
}

struct ListArgs {
  std::string config, model, segment;
  int limit = 50;
  bool json = false;
};

int List(const ListArgs& args) {
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  bool absent = false;
  auto registry = OpenRegistryIfPresent(*config, &absent);
  if (!registry && !absent) return kExitFailed;
  std::vector<ModelVersion> versions;
  std::set<std::int64_t> production;
  if (registry) {
    auto listed = registry->List(args.model, args.segment, args.limit);
    auto ids = listed.ok() ? ProductionIds(*registry, *listed) : listed.status();
    if (!ids.ok()) {
      std::cerr << "mlcron models list: " << ids.message() << "\n";
      return kExitFailed;
    }
    versions = std::move(*listed);
    production = std::move(*ids);
  }
  if (args.json) {
    json out = json::array();
    for (const auto& v : versions) {
      out.push_back({{"id", v.id},
                     {"model", v.model},
                     {"segment", v.segment},
                     {"kind", v.kind},
                     {"status", v.status},
                     {"production", production.count(v.id) > 0},
                     {"trees", v.trees},
                     {"rows", v.rows},
                     {"created", When(v.created_at, *config)},
                     {"watermark", ValueJson(v.train_to)},
                     {"parent", OptJson(v.parent)},
                     {"file", v.file},
                     {"sha256", v.sha256}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (versions.empty()) {
    if (args.model.empty() && args.segment.empty()) {
      std::cout << "no models trained yet\n";
    } else {
      std::cout << "no versions" << (args.model.empty() ? "" : " of model " + args.model)
                << (args.segment.empty() ? "" : " in segment " + args.segment) << "\n";
    }
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"", "ID", "MODEL", "SEGMENT", "KIND", "STATUS",
                                                 "TREES", "ROWS", "CREATED", "WATERMARK", "PARENT",
                                                 "SHA256"}};
  for (const auto& v : versions) {
    rows.push_back({production.count(v.id) ? "*" : "", std::to_string(v.id), v.model,
                    Dash(v.segment), v.kind, v.status, std::to_string(v.trees),
                    std::to_string(v.rows), When(v.created_at, *config),
                    Dash(ValueText(v.train_to)), Opt(v.parent), v.sha256.substr(0, 12)});
  }
  PrintTable(rows);
  if (!production.empty()) std::cout << "* = production\n";
  return kExitOk;
}

json AuditJson(const AuditRecord& a, const Config& config) {
  return {{"id", a.id},
          {"at", When(a.at, config)},
          {"action", a.action},
          {"from", OptJson(a.from_version)},
          {"to", OptJson(a.to_version)},
          {"reason", a.reason},
          {"actor", a.actor}};
}

json VersionJson(const ModelVersion& v, bool production, const std::vector<AuditRecord>& audit,
                 const Config& config) {
  json j = {{"id", v.id},
            {"model", v.model},
            {"segment", v.segment},
            {"parent", OptJson(v.parent)},
            {"kind", v.kind},
            {"status", v.status},
            {"production", production},
            {"reason", v.reason},
            {"created", When(v.created_at, config)},
            {"created_at", v.created_at},
            {"chain", v.chain},
            {"full_at", v.full_at},
            {"run_id", v.run_id},
            {"objective", v.objective},
            {"num_class", v.num_class},
            {"trees", v.trees},
            {"rows", v.rows},
            {"train_from", ValueJson(v.train_from)},
            {"train_to", ValueJson(v.train_to)},
            {"holdout_from", ValueJson(v.holdout_from)},
            {"holdout_to", ValueJson(v.holdout_to)},
            {"holdout_rows", v.holdout_rows},
            {"duration_s", v.duration_s},
            {"features", v.features},
            {"params", EmbedJson(v.params_json)},
            {"fingerprint", v.fingerprint},
            {"fingerprint_text", v.fingerprint_text},
            {"file", v.file},
            {"sha256", v.sha256},
            {"metrics", EmbedJson(v.metrics_json)}};
  j["audit"] = json::array();
  for (const auto& a : audit) j["audit"].push_back(AuditJson(a, config));
  return j;
}

// "a .. b" for a window; "-" when neither bound is known.
std::string Window(const SqlValue& from, const SqlValue& to) {
  if (from.is_null() && to.is_null()) return "-";
  return Dash(ValueText(from)) + " .. " + Dash(ValueText(to));
}

constexpr size_t kLabelWidth = 18;

void PrintVersion(const ModelVersion& v, bool production, const std::vector<AuditRecord>& audit,
                  const Config& config) {
  std::string features;
  for (const auto& f : v.features) features += (features.empty() ? "" : ", ") + f;
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"version", std::to_string(v.id)},
      {"model", v.model},
      {"segment", Dash(v.segment)},
      {"status", v.status + (production ? " (the production pointer)" : "")},
      {"reason", Dash(v.reason)},
      {"kind", v.kind},
      {"parent", Opt(v.parent)},
      {"chain", std::to_string(v.chain) +
                    (v.full_at > 0 ? " (full trained " + When(v.full_at, config) + ")" : "")},
      {"created", When(v.created_at, config)},
      {"run", Dash(v.run_id)},
      {"objective", Dash(v.objective) +
                        (v.num_class > 0 ? " (" + std::to_string(v.num_class) + " classes)" : "")},
      {"trees", std::to_string(v.trees)},
      {"training", std::to_string(v.rows) + " rows, " + Window(v.train_from, v.train_to) +
                       " (watermark " + Dash(ValueText(v.train_to)) + ")"},
      {"holdout", std::to_string(v.holdout_rows) + " rows, " +
                      Window(v.holdout_from, v.holdout_to) + " (horizon " +
                      Dash(ValueText(v.holdout_to)) + ")"},
      {"duration", fmt::format("{:.3f} s", v.duration_s)},
      {"features", Dash(features)},
      {"params", Dash(v.params_json)},
      {"fingerprint", Dash(v.fingerprint)},
      {"fingerprint text", Dash(v.fingerprint_text)},
      {"file", v.file},
      {"sha256", v.sha256},
      {"metrics", Dash(v.metrics_json)},
  };
  for (const auto& [name, value] : fields) {
    std::cout << name << std::string(kLabelWidth - name.size(), ' ') << value << "\n";
  }
  if (audit.empty()) {
    std::cout << "audit" << std::string(kLabelWidth - 5, ' ') << "none\n";
    return;
  }
  std::cout << "audit\n";
  std::vector<std::vector<std::string>> rows = {
      {"  AT", "ACTION", "FROM", "TO", "ACTOR", "REASON"}};
  for (const auto& a : audit) {
    rows.push_back({"  " + When(a.at, config), a.action, Opt(a.from_version), Opt(a.to_version),
                    Dash(a.actor), a.reason});
  }
  PrintTable(rows);
}

struct ShowArgs {
  std::string config;
  std::int64_t version = 0;
  bool json = false;
};

int Show(const ShowArgs& args) {
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  bool absent = false;
  auto registry = OpenRegistryIfPresent(*config, &absent);
  if (!registry && !absent) return kExitFailed;
  const std::string missing = "mlcron models show: no version " + std::to_string(args.version);
  if (!registry) {
    std::cerr << missing << " (no models trained yet)\n";
    return kExitFailed;
  }
  auto found = registry->Get(args.version);
  if (!found.ok()) {
    std::cerr << "mlcron models show: " << found.message() << "\n";
    return kExitFailed;
  }
  if (!*found) {
    std::cerr << missing << "\n";
    return kExitFailed;
  }
  const ModelVersion& v = **found;
  auto production = registry->Production(v.model, v.segment);
  auto audit = production.ok() ? registry->AuditOf(v.id) : production.status();
  if (!audit.ok()) {
    std::cerr << "mlcron models show: " << audit.message() << "\n";
    return kExitFailed;
  }
  const bool is_production = *production && (*production)->id == v.id;
  if (args.json) {
    std::cout << VersionJson(v, is_production, *audit, *config).dump(2) << "\n";
  } else {
    PrintVersion(v, is_production, *audit, *config);
  }
  return kExitOk;
}

}  // namespace

void AddModelsCommands(CLI::App& app, int* exit_code) {
  auto* models = app.add_subcommand("models", "inspect the model registry");
  models->require_subcommand(1);

  auto list_args = std::make_shared<ListArgs>();
  auto* list = models->add_subcommand("list", "list model versions, newest first");
  list->add_option("-c,--config", list_args->config, "config file")->required();
  list->add_option("--model", list_args->model, "only this model");
  list->add_option("--segment", list_args->segment, "only this segment");
  list->add_option("-n,--limit", list_args->limit, "at most this many versions (0: all)")
      ->capture_default_str();
  list->add_flag("--json", list_args->json, "JSON output");
  list->callback([list_args, exit_code] { *exit_code = List(*list_args); });

  auto show_args = std::make_shared<ShowArgs>();
  auto* show = models->add_subcommand("show", "every field of one version and its audit rows");
  show->add_option("version", show_args->version, "version id (see models list)")->required();
  show->add_option("-c,--config", show_args->config, "config file")->required();
  show->add_flag("--json", show_args->json, "JSON output");
  show->callback([show_args, exit_code] { *exit_code = Show(*show_args); });

  AddModelsPlanCommand(*models, exit_code);
  AddModelsEvalCommands(*models, exit_code);
  AddModelsPruneCommands(*models, exit_code);
  AddModelsHistoryCommands(*models, exit_code);
  AddModelsMovesCommands(*models, exit_code);
  AddModelsLiveCommand(*models, exit_code);
  AddModelsTuneCommand(*models, exit_code);
}

}  // namespace mlcron
