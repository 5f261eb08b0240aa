// `mlcron models promote|rollback|pin|unpin|audit`: production moves made by hand, and the
// audit trail of every move (DESIGN.md §7 "Promotion and retention"). The registry does the
// checks and the one-transaction moves; this file parses, names the actor and prints.
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/models_common.h"
#include "daemon/time_format.h"
#include "jobs/registry.h"
#include "jobs/retrain_plan.h"

namespace mlcron {
namespace {

using nlohmann::json;

std::int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Opt(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "-"; }

json OptJson(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }

std::string Dash(const std::string& s) { return s.empty() ? "-" : s; }

// Opens the registry of an existing state database, switching to the state owner first.
// Prints "<command>: no models trained yet" (or the error) and returns null otherwise;
// never creates a database.
std::unique_ptr<Registry> OpenExistingRegistry(const Config& config, const std::string& command) {
  std::error_code ec;
  if (!std::filesystem::exists(config.state_dir + "/mlcron.db", ec)) {
    std::cerr << command << ": no models trained yet (" << config.state_dir
              << "/mlcron.db does not exist)\n";
    return nullptr;
  }
  if (!RunAsStateOwner(config)) return nullptr;
  auto registry = Registry::Open(config);
  if (!registry.ok()) {
    std::cerr << command << ": " << registry.message() << "\n";
    return nullptr;
  }
  return std::move(registry).value();
}

json MoveJson(const MoveResult& r, const Config& config) {
  const AuditRecord& a = r.audit;
  return {{"audit_id", a.id},
          {"action", a.action},
          {"model", a.model},
          {"segment", a.segment},
          {"from", OptJson(a.from_version)},
          {"to", OptJson(a.to_version)},
          {"reason", a.reason},
          {"actor", a.actor},
          {"at", When(a.at, config)},
          {"previous_status", r.previous_status}};
}

// "model result [E0]: production 3 → 2 (promote by alice: manual promotion)".
void PrintMove(const MoveResult& r) {
  const AuditRecord& a = r.audit;
  std::cout << "model " << SegmentLabel(a.model, a.segment) << ": production "
            << (a.from_version ? std::to_string(*a.from_version) : "none") << " → "
            << Opt(a.to_version) << " (" << a.action << " by " << a.actor << ": " << a.reason
            << ")\n";
}

struct PromoteArgs {
  std::string config, reason;
  std::string actor;  // hidden --actor: mlcrond's API says "api"
  std::int64_t version = 0;
  bool force = false;
  bool json = false;
};

int Promote(const PromoteArgs& args) {
  const std::string command = "mlcron models promote";
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  const std::string actor = args.actor.empty() ? CurrentActor() : args.actor;
  auto registry = OpenExistingRegistry(*config, command);
  if (!registry) return kExitFailed;
  Result<MoveResult> moved =
      registry->Promote(args.version, actor, args.reason, args.force, NowSeconds());
  if (!moved.ok()) {
    std::cerr << command << ": " << moved.message() << "\n";
    return kExitFailed;
  }
  if (args.json) {
    std::cout << MoveJson(*moved, *config).dump(2) << "\n";
  } else {
    PrintMove(*moved);
  }
  return kExitOk;
}

struct RollbackArgs {
  std::string config, model, segment;
  std::string actor;                      // hidden --actor, as for promote
  CLI::Option* segment_option = nullptr;  // whether --segment was given, even as ""
  bool json = false;
};

// "E0, E1"; the unsegmented model's "" shows as "".
std::string SegmentList(const std::vector<std::string>& segments) {
  std::string out;
  for (const auto& s : segments) out += (out.empty() ? "" : ", ") + (s.empty() ? "\"\"" : s);
  return out;
}

// The one segment a command acts on: --segment, or "" for an unsegmented model. Prints why
// not and sets *exit_code otherwise.
std::optional<std::string> PickSegment(Registry& registry, const std::string& command,
                                       const std::string& model, const CLI::Option* option,
                                       const std::string& segment, int* exit_code) {
  Result<std::vector<std::string>> segments = registry.Segments(model);
  *exit_code = kExitFailed;
  if (!segments.ok()) {
    std::cerr << command << ": " << segments.message() << "\n";
    return std::nullopt;
  }
  if (segments->empty()) {
    std::cerr << command << ": model " << model << " has no versions\n";
    return std::nullopt;
  }
  const bool unsegmented = segments->size() == 1 && segments->front().empty();
  if (option->count() == 0) {
    if (unsegmented) return std::string();
    std::cerr << command << ": model " << model << " has segments " << SegmentList(*segments)
              << "; name one with --segment\n";
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  for (const auto& s : *segments) {
    if (s == segment) return segment;
  }
  std::cerr << command << ": model " << model << " has no segment \"" << segment << "\""
            << (unsegmented ? " (it is not segmented)"
                            : " (segments: " + SegmentList(*segments) + ")")
            << "\n";
  return std::nullopt;
}

int Rollback(const RollbackArgs& args) {
  const std::string command = "mlcron models rollback";
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  const std::string actor = args.actor.empty() ? CurrentActor() : args.actor;
  auto registry = OpenExistingRegistry(*config, command);
  if (!registry) return kExitFailed;
  int exit_code = kExitOk;
  std::optional<std::string> segment =
      PickSegment(*registry, command, args.model, args.segment_option, args.segment, &exit_code);
  if (!segment) return exit_code;
  Result<MoveResult> moved = registry->Rollback(args.model, *segment, actor, NowSeconds());
  if (!moved.ok()) {
    std::cerr << command << ": " << moved.message() << "\n";
    return kExitFailed;
  }
  if (args.json) {
    std::cout << MoveJson(*moved, *config).dump(2) << "\n";
  } else {
    PrintMove(*moved);
  }
  return kExitOk;
}

struct PinArgs {
  std::string config;
  std::int64_t version = 0;
  bool json = false;
};

int Pin(const PinArgs& args, bool pin) {
  const std::string command = pin ? "mlcron models pin" : "mlcron models unpin";
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  const std::string actor = CurrentActor();
  auto registry = OpenExistingRegistry(*config, command);
  if (!registry) return kExitFailed;
  const std::int64_t now = NowSeconds();
  Status s =
      pin ? registry->Pin(args.version, actor, now) : registry->Unpin(args.version, actor, now);
  Result<std::optional<ModelVersion>> v = s.ok() ? registry->Get(args.version) : s;
  if (!v.ok() || !*v) {
    std::cerr << command << ": "
              << (v.ok() ? "no version " + std::to_string(args.version) : v.message()) << "\n";
    return kExitFailed;
  }
  if (args.json) {
    std::cout << json({{"version", args.version},
                       {"model", (*v)->model},
                       {"segment", (*v)->segment},
                       {"pinned", pin},
                       {"actor", actor}})
                     .dump(2)
              << "\n";
  } else {
    std::cout << "version " << args.version << " of model "
              << SegmentLabel((*v)->model, (*v)->segment)
              << (pin ? " pinned: retention keeps its file"
                      : " unpinned: retention may remove its file")
              << "\n";
  }
  return kExitOk;
}

struct AuditArgs {
  std::string config, model, segment, at;
  CLI::Option* segment_option = nullptr;
  int limit = 50;
  bool json = false;
};

// "promoted", "rolled back", "pinned", "unpinned".
std::string Past(const std::string& action) {
  if (action == "rollback") return "rolled back";
  if (action == "promote") return "promoted";
  return action + "ned";  // pin, unpin
}

// `audit --at D`: which version served each segment at that instant.
int AuditAt(Registry& registry, const AuditArgs& args, const Config& config,
            const std::vector<std::string>& segments) {
  Result<Instant> at = ParseInstant(args.at, config.tz);
  if (!at.ok()) {
    std::cerr << "mlcron models audit: --at: " << at.message() << "\n";
    return kExitUsage;
  }
  const std::int64_t t = at->time_since_epoch().count();
  json out = json::array();
  for (const auto& segment : segments) {
    Result<std::optional<AuditRecord>> found = registry.ProductionAt(args.model, segment, t);
    if (!found.ok()) {
      std::cerr << "mlcron models audit: " << found.message() << "\n";
      return kExitFailed;
    }
    const std::string label = "model " + SegmentLabel(args.model, segment);
    if (args.json) {
      json row = {{"model", args.model}, {"segment", segment}, {"at", When(t, config)}};
      const auto& a = *found;
      row["version"] = a ? OptJson(a->to_version) : json(nullptr);
      row["since"] = a ? json(When(a->at, config)) : json(nullptr);
      row["audit"] = a ? json({{"id", a->id},
                               {"action", a->action},
                               {"from", OptJson(a->from_version)},
                               {"actor", a->actor},
                               {"reason", a->reason}})
                       : json(nullptr);
      out.push_back(std::move(row));
    } else if (!*found) {
      std::cout << "on " << args.at << ", " << label << " had no production version\n";
    } else {
      const AuditRecord& a = **found;
      std::cout << "on " << args.at << ", " << label << " was served by version "
                << Opt(a.to_version) << " (since " << When(a.at, config) << ", " << Past(a.action)
                << " by " << Dash(a.actor) << ": " << a.reason << ")\n";
    }
  }
  if (args.json) std::cout << out.dump(2) << "\n";
  return kExitOk;
}

void PrintAuditTable(const std::vector<AuditRecord>& rows, const Config& config) {
  std::vector<std::vector<std::string>> cells = {
      {"AT", "SEGMENT", "ACTION", "FROM", "TO", "ACTOR", "REASON"}};
  for (const auto& a : rows) {
    cells.push_back({When(a.at, config), Dash(a.segment), a.action, Opt(a.from_version),
                     Opt(a.to_version), Dash(a.actor), a.reason});
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

int Audit(const AuditArgs& args) {
  const std::string command = "mlcron models audit";
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  auto registry = OpenExistingRegistry(*config, command);
  if (!registry) return kExitFailed;
  Result<std::vector<std::string>> all = registry->Segments(args.model);
  if (!all.ok()) {
    std::cerr << command << ": " << all.message() << "\n";
    return kExitFailed;
  }
  std::vector<std::string> segments = *all;
  if (args.segment_option->count() > 0) {
    int exit_code = kExitOk;
    std::optional<std::string> one =
        PickSegment(*registry, command, args.model, args.segment_option, args.segment, &exit_code);
    if (!one) return exit_code;
    segments = {*one};
  } else if (segments.empty()) {
    std::cerr << command << ": model " << args.model << " has no versions\n";
    return kExitFailed;
  }
  if (!args.at.empty()) return AuditAt(*registry, args, *config, segments);

  const std::string segment = args.segment_option->count() > 0 ? segments.front() : "";
  Result<std::vector<AuditRecord>> rows = registry->Audit(args.model, segment, args.limit);
  if (!rows.ok()) {
    std::cerr << command << ": " << rows.message() << "\n";
    return kExitFailed;
  }
  if (args.json) {
    json out = json::array();
    for (const auto& a : *rows) {
      out.push_back({{"id", a.id},
                     {"at", When(a.at, *config)},
                     {"model", a.model},
                     {"segment", a.segment},
                     {"action", a.action},
                     {"from", OptJson(a.from_version)},
                     {"to", OptJson(a.to_version)},
                     {"actor", a.actor},
                     {"reason", a.reason}});
    }
    std::cout << out.dump(2) << "\n";
  } else if (rows->empty()) {
    std::cout << "no production moves of model " << SegmentLabel(args.model, segment) << "\n";
  } else {
    PrintAuditTable(*rows, *config);
  }
  return kExitOk;
}

}  // namespace

void AddModelsMovesCommands(CLI::App& models, int* exit_code) {
  auto promote_args = std::make_shared<PromoteArgs>();
  auto* promote = models.add_subcommand("promote", "make a version its segment's production");
  promote->add_option("version", promote_args->version, "version id (see models list)")->required();
  promote->add_option("-c,--config", promote_args->config, "config file")->required();
  promote->add_flag("--force", promote_args->force,
                    "promote a rejected or archived version (overrides the gate)");
  promote->add_option("--reason", promote_args->reason, "why, for the audit trail");
  promote->add_flag("--json", promote_args->json, "JSON output");
  // Hidden: who the audit row names when mlcrond's API runs this command for a client.
  promote->add_option("--actor", promote_args->actor, "audit actor")->group("");
  promote->callback([promote_args, exit_code] { *exit_code = Promote(*promote_args); });

  auto rollback_args = std::make_shared<RollbackArgs>();
  auto* rollback =
      models.add_subcommand("rollback", "move production back to the version it replaced");
  rollback->add_option("model", rollback_args->model, "model name")->required();
  rollback->add_option("-c,--config", rollback_args->config, "config file")->required();
  rollback_args->segment_option =
      rollback->add_option("--segment", rollback_args->segment, "the segment (segmented models)");
  rollback->add_flag("--json", rollback_args->json, "JSON output");
  rollback->add_option("--actor", rollback_args->actor, "audit actor")->group("");
  rollback->callback([rollback_args, exit_code] { *exit_code = Rollback(*rollback_args); });

  for (const bool pin : {true, false}) {
    auto pin_args = std::make_shared<PinArgs>();
    auto* cmd = models.add_subcommand(pin ? "pin" : "unpin",
                                      pin ? "keep a version's file from retention"
                                          : "let retention remove a version's file again");
    cmd->add_option("version", pin_args->version, "version id (see models list)")->required();
    cmd->add_option("-c,--config", pin_args->config, "config file")->required();
    cmd->add_flag("--json", pin_args->json, "JSON output");
    cmd->callback([pin_args, pin, exit_code] { *exit_code = Pin(*pin_args, pin); });
  }

  auto audit_args = std::make_shared<AuditArgs>();
  auto* audit = models.add_subcommand("audit", "the production moves of a model, newest first");
  audit->add_option("model", audit_args->model, "model name")->required();
  audit->add_option("-c,--config", audit_args->config, "config file")->required();
  audit_args->segment_option =
      audit->add_option("--segment", audit_args->segment, "only this segment");
  audit->add_option("--at", audit_args->at, "which version served at this date or instant");
  audit->add_option("-n,--limit", audit_args->limit, "at most this many rows (0: all)")
      ->capture_default_str();
  audit->add_flag("--json", audit_args->json, "JSON output");
  audit->callback([audit_args, exit_code] { *exit_code = Audit(*audit_args); });
}

}  // namespace mlcron
