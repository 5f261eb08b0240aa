// `mlcron job <kind> --config SNAPSHOT --origin PATH --job NAME`: the entry point mlcrond
// spawns for built-in job kinds. The kinds themselves (import, features, retrain, signals,
// tune) arrive with their own issues; until then this reports that clearly and fails.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "daemon/job_kind.h"

namespace mlcron {

void AddJobCommand(CLI::App& app, int* exit_code) {
  struct JobArgs {
    std::string kind, config, origin, job;
  };
  auto args = std::make_shared<JobArgs>();
  auto* job = app.add_subcommand("job", "run one built-in job (what mlcrond spawns)");
  job->add_option("kind", args->kind, "job kind")->required();
  job->add_option("--config", args->config, "config snapshot")->required();
  job->add_option("--origin", args->origin, "the config file the snapshot was taken of");
  job->add_option("--job", args->job, "job name")->required();
  job->callback([args, exit_code] {
    if (!IsKnownJobKind(args->kind) || args->kind == "command") {
      std::cerr << "mlcron job: unknown built-in kind \"" << args->kind << "\"\n";
      *exit_code = kExitUsage;
      return;
    }
    std::cerr << "mlcron job: the built-in kind \"" << args->kind
              << "\" is not available in this build of mlcron yet\n";
    *exit_code = kExitFailed;
  });
}

}  // namespace mlcron
