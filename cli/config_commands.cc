// `mlcron validate`, `mlcron next` and `mlcron cron`: the config and schedule previews.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/cron_command.h"
#include "daemon/config_graph.h"
#include "daemon/time_format.h"

namespace mlcron {
namespace {

struct NextArgs {
  std::string config;
  std::string from;
  int count = 10;
  bool json = false;
};

// 4 stays 4 in JSON, not 4.0; 4.5 stays 4.5.
nlohmann::json TierJson(double tier) {
  const auto whole = static_cast<long long>(tier);
  return static_cast<double>(whole) == tier ? nlohmann::json(whole) : nlohmann::json(tier);
}

int RunNext(const NextArgs& args) {
  auto config = LoadConfigOrPrint(args.config);
  if (!config) return kExitUsage;
  Instant from = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  if (!args.from.empty()) {
    auto parsed = ParseInstant(args.from, config->tz);
    if (!parsed.ok()) {
      std::cerr << "mlcron next: --from: " << parsed.message() << "\n";
      return kExitUsage;
    }
    from = *parsed;
  }
  if (args.count < 1) {
    std::cerr << "mlcron next: --count must be at least 1\n";
    return kExitUsage;
  }
  // Merge the tiers' schedules: always advance the tier whose next instant is earliest.
  std::vector<std::optional<Instant>> next(config->tiers.size());
  for (size_t i = 0; i < config->tiers.size(); ++i) {
    next[i] = config->tiers[i].schedule.NextAfter(from, config->tz);
  }
  nlohmann::json out = nlohmann::json::array();
  for (int n = 0; n < args.count; ++n) {
    size_t best = next.size();
    for (size_t i = 0; i < next.size(); ++i) {
      if (next[i] && (best == next.size() || *next[i] < *next[best])) best = i;
    }
    if (best == next.size()) break;
    const TierConfig& tier = config->tiers[best];
    std::vector<std::string> jobs;
    for (size_t j : tier.jobs) jobs.push_back(config->jobs[j].name);
    const std::string at = FormatInstant(*next[best], config->tz);
    if (args.json) {
      out.push_back(
          {{"at", at}, {"tier", TierJson(tier.tier)}, {"name", tier.name}, {"jobs", jobs}});
    } else {
      std::string joined;
      for (const auto& j : jobs) joined += (joined.empty() ? "" : ",") + j;
      std::cout << at << "  tier " << FormatTierNumber(tier.tier) << " " << tier.name << "  "
                << joined << "\n";
    }
    next[best] = tier.schedule.NextAfter(*next[best], config->tz);
  }
  if (args.json) std::cout << out.dump(2) << "\n";
  return kExitOk;
}

}  // namespace

void AddConfigCommands(CLI::App& app, int* exit_code) {
  auto* validate = app.add_subcommand("validate", "check a config; exit 0 if valid, 2 if not");
  auto config_path = std::make_shared<std::string>();
  validate->add_option("-c,--config", *config_path, "config file")->required();
  validate->callback([config_path, exit_code] {
    auto config = LoadConfigOrPrint(*config_path);
    if (!config) {
      *exit_code = kExitUsage;
      return;
    }
    std::cout << config->path << ": ok (" << config->tiers.size() << " tiers, "
              << config->jobs.size() << " jobs, time zone " << config->timezone_name << ")\n";
    *exit_code = kExitOk;
  });

  auto* next = app.add_subcommand("next", "list upcoming occurrences of every tier");
  auto next_args = std::make_shared<NextArgs>();
  next->add_option("-c,--config", next_args->config, "config file")->required();
  next->add_option("--from", next_args->from, "start after this instant (default: now)");
  next->add_option("-n,--count", next_args->count, "how many occurrences")->capture_default_str();
  next->add_flag("--json", next_args->json, "JSON output");
  next->callback([next_args, exit_code] { *exit_code = RunNext(*next_args); });

  struct CronArgs {
    std::string expr, after, tz = "UTC";
    int count = 5;
  };
  auto cron_args = std::make_shared<CronArgs>();
  auto* cron = app.add_subcommand("cron", "print the next instants of a cron expression");
  cron->add_option("expr", cron_args->expr, "5-field cron expression or @macro")->required();
  cron->add_option("--after", cron_args->after, "start after this time (default: now)");
  cron->add_option("--tz", cron_args->tz, "IANA time zone")->capture_default_str();
  cron->add_option("-n,--count", cron_args->count, "how many instants")->capture_default_str();
  cron->callback([cron_args, exit_code] {
    *exit_code = RunCronCommand(cron_args->expr, cron_args->after, cron_args->tz, cron_args->count,
                                std::cout, std::cerr);
  });
}

}  // namespace mlcron
