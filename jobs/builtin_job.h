// The entry point of the built-in job kinds (import, features, retrain, signals, tune),
// which mlcrond runs as `mlcron job <kind> --config SNAPSHOT --origin PATH --job NAME`.
#pragma once

#include <ostream>
#include <string>

namespace mlcron {

struct BuiltinJobArgs {
  std::string kind;
  std::string snapshot;  // the frozen config the daemon scheduled the run with
  std::string origin;    // the config file it was taken of; relative paths resolve there
  std::string job;
  bool full = false;  // --full: force a full retrain
};

// Returns the process exit code: 0 when the job did what its decision said, 1 on an error,
// 2 for bad usage (an unknown kind).
int RunBuiltinJob(const BuiltinJobArgs& args, std::ostream& err);

}  // namespace mlcron
