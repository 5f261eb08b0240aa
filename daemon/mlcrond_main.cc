// mlcrond: parses its arguments and runs the daemon (daemon/daemon.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "daemon/daemon.h"
#include "daemon/version.h"

int main(int argc, char** argv) {
  mlcron::DaemonOptions options;
  CLI::App app{"mlcrond: the mlcron scheduler daemon"};
  app.add_option("-c,--config", options.config_path, "config file")->required();
  app.add_flag("--run-now", options.run_now, "run every tier once at start, in dependency order");
  app.add_option("--log-level", options.log.level, "trace|debug|info|warn|error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--log-file", options.log.file, "also log to this size-rotated file");
  app.set_version_flag("--version", mlcron::Version());
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  // Jobs inherit the daemon's environment. A MLCRON_FORCE_FULL=1 left in a unit file would
  // turn every scheduled retrain into a full one, so it only ever applies to a manual run.
  if (const char* full = std::getenv("MLCRON_FORCE_FULL")) {
    std::fprintf(stderr,
                 "mlcrond: ignoring MLCRON_FORCE_FULL=%s (it applies to manual runs: "
                 "mlcron run --full)\n",
                 full);
    unsetenv("MLCRON_FORCE_FULL");
  }
  // Likewise MLCRON_SEGMENT would restrict every retrain to one segment; the API sets it for
  // one queued run only.
  if (const char* segment = std::getenv("MLCRON_SEGMENT")) {
    std::fprintf(stderr,
                 "mlcrond: ignoring MLCRON_SEGMENT=%s (it applies to one retrain: "
                 "POST /models/retrain)\n",
                 segment);
    unsetenv("MLCRON_SEGMENT");
  }
  return mlcron::RunDaemon(options);
}
