// `mlcron pause|resume|kill|status`: talk to the running daemon over its control socket.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "daemon/control_server.h"
#include "daemon/time_format.h"

namespace mlcron {
namespace {

using nlohmann::json;

// Sends one request; prints the error and returns false when the daemon says no.
// `*not_running` (if given) tells whether nothing listened on the socket at all.
bool Ask(const Config& config, const json& request, json* reply, bool* not_running = nullptr) {
  auto result = ControlRequest(ControlSocketPath(config), request);
  if (not_running) *not_running = !result.ok() && result.message().rfind(kDaemonNotRunning, 0) == 0;
  if (!result.ok()) {
    std::cerr << "mlcron: " << result.message() << "\n";
    return false;
  }
  *reply = *result;
  if (!reply->value("ok", false)) {
    std::cerr << "mlcron: " << reply->value("error", std::string("request failed")) << "\n";
    return false;
  }
  return true;
}

// When no daemon answers: what the config and the state database say, in the daemon's
// reply shape, so an operator still sees the next occurrences and what is paused.
json OfflineStatus(const Config& config) {
  json next = json::array();
  std::set<std::string> paused;
  // Only read an existing database: asking for status must not create state.
  std::error_code ec;
  const bool has_state = std::filesystem::exists(config.state_dir + "/mlcron.db", ec);
  if (auto store = has_state ? OpenStateOrPrint(config) : nullptr) {
    if (auto names = store->PausedNames(); names.ok()) paused.insert(names->begin(), names->end());
  }
  const Instant now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  for (const auto& job : config.jobs) {
    auto at = config.TierOf(job).schedule.NextAfter(now, config.tz);
    next.push_back(
        {{"job", job.name},
         {"next", at ? json(FormatInstant(*at, config.tz)) : json(nullptr)},
         {"paused", paused.count(job.name) + paused.count(config.TierOf(job).name) > 0}});
  }
  return {{"ok", true},
          {"daemon_running", false},
          {"config", config.path},
          {"config_sha256", config.sha256},
          {"running", json::array()},
          {"next", next},
          {"waiting", 0}};
}

void PrintStatus(const json& status) {
  if (!status.value("daemon_running", true)) {
    std::cout << "mlcrond is not running; next occurrences if it were:\n";
  }
  std::cout << "config " << status.value("config", "") << " (sha256 "
            << status.value("config_sha256", "").substr(0, 12) << ")\n";
  const auto& running = status["running"];
  std::cout << running.size() << " running, " << status.value("waiting", 0) << " waiting\n";
  for (const auto& r : running) {
    std::cout << "  run " << r["run_id"] << "  " << r["job"].get<std::string>() << "  scheduled "
              << r["scheduled"].get<std::string>() << "  attempt " << r["attempt"] << "  pid "
              << r["pid"] << "\n";
  }
  std::cout << "next:\n";
  for (const auto& n : status["next"]) {
    std::cout << "  " << n["job"].get<std::string>() << "  "
              << (n["next"].is_null() ? "never" : n["next"].get<std::string>())
              << (n["paused"].get<bool>() ? "  (paused)" : "") << "\n";
  }
}

}  // namespace

void AddControlCommands(CLI::App& app, int* exit_code) {
  auto config_path = std::make_shared<std::string>();
  for (const char* verb : {"pause", "resume"}) {
    auto* cmd = app.add_subcommand(verb, std::string(verb) + " a job or a tier in the daemon");
    auto name = std::make_shared<std::string>();
    cmd->add_option("name", *name, "job or tier")->required();
    cmd->add_option("-c,--config", *config_path, "config file")->required();
    const std::string v = verb;
    cmd->callback([=] {
      auto config = LoadConfigOrPrint(*config_path);
      json reply;
      if (!config) {
        *exit_code = kExitUsage;
      } else if (!RunAsStateOwner(*config) ||
                 !Ask(*config, {{"cmd", v}, {"name", *name}}, &reply)) {
        *exit_code = kExitFailed;
      } else {
        std::cout << *name << (v == "pause" ? " paused\n" : " resumed\n");
      }
    });
  }

  auto* kill = app.add_subcommand("kill", "kill a running run (SIGTERM, then SIGKILL)");
  auto run_id = std::make_shared<std::int64_t>(0);
  kill->add_option("run", *run_id, "run id")->required();
  kill->add_option("-c,--config", *config_path, "config file")->required();
  kill->callback([=] {
    auto config = LoadConfigOrPrint(*config_path);
    json reply;
    if (!config) {
      *exit_code = kExitUsage;
    } else if (!RunAsStateOwner(*config) ||
               !Ask(*config, {{"cmd", "kill"}, {"run_id", *run_id}}, &reply)) {
      *exit_code = kExitFailed;
    } else {
      std::cout << "run " << *run_id << ": SIGTERM sent\n";
    }
  });

  auto* status = app.add_subcommand("status", "what the daemon runs now and next");
  auto as_json = std::make_shared<bool>(false);
  status->add_option("-c,--config", *config_path, "config file")->required();
  status->add_flag("--json", *as_json, "JSON output");
  status->callback([=] {
    auto config = LoadConfigOrPrint(*config_path);
    json reply;
    if (!config) {
      *exit_code = kExitUsage;
    } else if (!RunAsStateOwner(*config)) {
      *exit_code = kExitFailed;
    } else {
      bool not_running = false;
      if (!Ask(*config, {{"cmd", "status"}}, &reply, &not_running)) {
        *exit_code = kExitFailed;  // scripts can tell a stopped daemon by the exit code
        if (!not_running) return;
        reply = OfflineStatus(*config);
      }
      if (*as_json) {
        std::cout << reply.dump(2) << "\n";
      } else {
        PrintStatus(reply);
      }
    }
  });
}

}  // namespace mlcron
