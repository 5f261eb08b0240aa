// `mlcron models prune [--model M] [--dry-run] [--json]`: applies retention (DESIGN.md §7,
// jobs/retention.h) to every configured model, or one, and prints each live version with
// what happened to it and why. A dry run prints the same and changes nothing.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/models_common.h"
#include "jobs/registry.h"
#include "jobs/retention.h"

namespace mlcron {
namespace {

using nlohmann::json;

struct PruneArgs {
  std::string config;
  std::string model;
  bool dry_run = false;
  bool json = false;
};

// "keep", "delete" (done, or to be done in a dry run) or "failed" (the row was not marked).
std::string Action(const RetentionOutcome& o) {
  if (!o.entry.remove || o.fate == FileFate::kSkipped) return "keep";
  if (o.fate == FileFate::kNone) return "failed";
  return "delete";
}

std::string Why(const RetentionOutcome& o) {
  if (o.fate == FileFate::kSkipped) return o.note;
  if (o.note.empty()) return o.entry.why;
  return o.entry.why + "; " + o.note;
}

json ToJson(const RetentionOutcome& o) {
  return {{"model", o.entry.model},
          {"segment", o.entry.segment},
          {"version", o.entry.version},
          {"status", o.entry.status},
          {"pinned", o.entry.pinned},
          {"action", Action(o)},
          {"why", Why(o)},
          {"file", o.entry.file},
          {"file_fate", FileFateName(o.fate)},
          {"error", o.error.empty() ? json(nullptr) : json(o.error)}};
}

std::string Plural(int n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// "result: deleted 2 versions (1 file removed, 0 archived), kept 3"; in a dry run "result:
// would delete 2 versions (1 file to remove, 0 to archive), keep 3".
std::string Summary(const std::string& model, const RetentionResult& r) {
  if (r.outcomes.empty()) return model + ": no versions";
  int kept = 0;
  for (const auto& o : r.outcomes) kept += Action(o) == "keep";
  const std::string removed = Plural(r.files_removed, "file");
  const std::string archived = std::to_string(r.files_archived);
  if (r.dry_run) {
    return model + ": would delete " + Plural(r.deleted, "version") + " (" + removed +
           " to remove, " + archived + " to archive), keep " + std::to_string(kept);
  }
  return model + ": deleted " + Plural(r.deleted, "version") + " (" + removed + " removed, " +
         archived + " archived), kept " + std::to_string(kept);
}

// Models with live versions that the config no longer names: retention has no `keep` for
// them, so their files are left alone, and said so.
Result<std::vector<std::string>> Unconfigured(Registry& registry, const Config& config) {
  SqliteStatement st = registry.db().Prepare(
      "SELECT DISTINCT model FROM model_versions WHERE status != 'deleted' ORDER BY model");
  std::vector<std::string> out;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    if (!config.FindModel(st.Text(0))) out.push_back(st.Text(0));
  }
}

int Prune(const PruneArgs& args) {
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  if (!args.model.empty() && !FindModelOrPrint(*config, args.model, "mlcron models prune")) {
    return kExitUsage;
  }
  json out = {
      {"dry_run", args.dry_run}, {"versions", json::array()}, {"unconfigured", json::array()}};
  std::error_code ec;
  // Pruning never creates state: without a database nothing was trained.
  if (!std::filesystem::exists(config->state_dir + "/mlcron.db", ec)) {
    if (args.json) {
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << "no models trained yet\n";
    }
    return kExitOk;
  }
  if (!RunAsStateOwner(*config)) return kExitFailed;
  auto registry = Registry::Open(*config);
  if (!registry.ok()) {
    std::cerr << "mlcron models prune: " << registry.message() << "\n";
    return kExitFailed;
  }
  bool failed = false;
  std::vector<std::vector<std::string>> table = {
      {"MODEL", "SEGMENT", "VERSION", "STATUS", "ACTION", "WHY"}};
  std::vector<std::string> summaries;
  for (const ModelConfig& model : config->models) {
    if (!args.model.empty() && model.name != args.model) continue;
    Result<RetentionResult> result = ApplyRetention(**registry, *config, model, args.dry_run);
    if (!result.ok()) {
      std::cerr << "mlcron models prune: " << result.message() << "\n";
      failed = true;
      continue;
    }
    for (const RetentionOutcome& o : result->outcomes) {
      if (!o.error.empty()) {
        std::cerr << "mlcron models prune: " << model.name << ": " << o.error << "\n";
        failed = true;
      }
      std::string action = Action(o);
      if (action == "delete") action = args.dry_run ? "would delete" : "deleted";
      table.push_back({o.entry.model, o.entry.segment.empty() ? "-" : o.entry.segment,
                       std::to_string(o.entry.version), o.entry.status, action, Why(o)});
      out["versions"].push_back(ToJson(o));
    }
    summaries.push_back(Summary(model.name, *result));
  }
  if (args.model.empty()) {
    Result<std::vector<std::string>> others = Unconfigured(**registry, *config);
    if (!others.ok()) {
      std::cerr << "mlcron models prune: " << others.message() << "\n";
      failed = true;
    } else {
      out["unconfigured"] = *others;
      for (const std::string& name : *others) {
        summaries.push_back(name + ": not in the config; its versions are left alone");
      }
    }
  }
  if (args.json) {
    std::cout << out.dump(2) << "\n";
    return failed ? kExitFailed : kExitOk;
  }
  if (table.size() > 1) PrintTable(table);
  for (const std::string& s : summaries) std::cout << s << "\n";
  if (args.dry_run) std::cout << "dry run: nothing was changed\n";
  return failed ? kExitFailed : kExitOk;
}

}  // namespace

void AddModelsPruneCommands(CLI::App& models, int* exit_code) {
  auto args = std::make_shared<PruneArgs>();
  auto* cmd = models.add_subcommand(
      "prune", "delete the files of versions retention no longer keeps (see keep: and archive:)");
  cmd->add_option("-c,--config", args->config, "config file")->required();
  cmd->add_option("--model", args->model, "only this model");
  cmd->add_flag("--dry-run", args->dry_run, "show what would be deleted; change nothing");
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->callback([args, exit_code] { *exit_code = Prune(*args); });
}

}  // namespace mlcron
