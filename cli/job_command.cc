// `mlcron job <kind> --config SNAPSHOT --origin PATH --job NAME`: what mlcrond spawns for a
// built-in job kind. The work itself lives in jobs/.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "jobs/builtin_job.h"

namespace mlcron {

void AddJobCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<BuiltinJobArgs>();
  auto* job = app.add_subcommand("job", "run one built-in job (what mlcrond spawns)");
  job->add_option("kind", args->kind, "job kind")->required();
  job->add_option("--config", args->snapshot, "config snapshot")->required();
  job->add_option("--origin", args->origin, "the config file the snapshot was taken of");
  job->add_option("--job", args->job, "job name")->required();
  job->add_flag("--full", args->full, "retrain: force a full retrain of every segment");
  job->callback([args, exit_code] { *exit_code = RunBuiltinJob(*args, std::cerr); });
}

}  // namespace mlcron
