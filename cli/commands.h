// Registration of each `mlcron` command group with CLI11. Each Add* function adds its
// subcommands to `app`; their callbacks store the process exit code in `*exit_code`.
#pragma once

namespace CLI {
class App;
}

namespace mlcron {

void AddConfigCommands(CLI::App& app, int* exit_code);   // validate, next, cron
void AddRunCommand(CLI::App& app, int* exit_code);       // run
void AddControlCommands(CLI::App& app, int* exit_code);  // pause, resume, kill, status
void AddHistoryCommands(CLI::App& app, int* exit_code);  // history, logs, backup
void AddJobCommand(CLI::App& app, int* exit_code);       // job <kind> (what mlcrond spawns)
void AddModelsCommands(CLI::App& app, int* exit_code);   // models list, show, plan
void AddReplayCommand(CLI::App& app, int* exit_code);    // replay
// `models plan`, added to the `models` group by AddModelsCommands.
void AddModelsPlanCommand(CLI::App& models, int* exit_code);
// `models evaluate` and `models compare`, added to the `models` group by AddModelsCommands.
void AddModelsEvalCommands(CLI::App& models, int* exit_code);
// `models prune`, added to the `models` group by AddModelsCommands.
void AddModelsPruneCommands(CLI::App& models, int* exit_code);
// `models history`, added to the `models` group by AddModelsCommands.
void AddModelsHistoryCommands(CLI::App& models, int* exit_code);
// `models promote|rollback|pin|unpin|audit`, added to the `models` group by AddModelsCommands.
void AddModelsMovesCommands(CLI::App& models, int* exit_code);
// `models live`, added to the `models` group by AddModelsCommands.
void AddModelsLiveCommand(CLI::App& models, int* exit_code);
// `models tune`, added to the `models` group by AddModelsCommands.
void AddModelsTuneCommand(CLI::App& models, int* exit_code);

}  // namespace mlcron
