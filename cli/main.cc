// mlcron: the command line around mlcrond. Parses arguments and calls into cli/.
#include <CLI/CLI.hpp>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "daemon/logging.h"
#include "daemon/version.h"

int main(int argc, char** argv) {
  mlcron::SetupLogging({});
  CLI::App app{"mlcron: validate, preview, run and inspect an mlcron pipeline"};
  app.set_version_flag("--version", mlcron::Version());
  app.require_subcommand(1);
  int exit_code = mlcron::kExitOk;
  mlcron::AddConfigCommands(app, &exit_code);
  mlcron::AddRunCommand(app, &exit_code);
  mlcron::AddControlCommands(app, &exit_code);
  mlcron::AddHistoryCommands(app, &exit_code);
  mlcron::AddJobCommand(app, &exit_code);
  mlcron::AddModelsCommands(app, &exit_code);
  mlcron::AddReplayCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : mlcron::kExitUsage;
  }
  return exit_code;
}
