// Crash-safety test hook: with MLCRON_FAULT_AT=<name> in the environment, FaultPoint(name)
// ends the process at once (_exit 86, no cleanup), as a power cut or a SIGKILL would at that
// step. The integration tests abort a retrain at each step and check that the registry and
// the files still agree and that a re-run completes the work. Costs one getenv otherwise.
#pragma once

namespace mlcron {

inline constexpr int kFaultExitCode = 86;

void FaultPoint(const char* name);

}  // namespace mlcron
