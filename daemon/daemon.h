// mlcrond itself: loads the config and state, then runs the scheduler on one Boost.Asio
// io_context. One timer is armed for the scheduler's earliest deadline; the loop also wakes
// on child exit (SIGCHLD), SIGHUP/SIGTERM/SIGINT, the control socket, config file changes,
// wall-clock steps, and the systemd watchdog, and on nothing else.
#pragma once

#include <string>

#include "daemon/logging.h"

namespace mlcron {

struct DaemonOptions {
  std::string config_path;
  bool run_now = false;  // run every tier once at start, in dependency order
  LogOptions log;
};

// Runs until SIGTERM/SIGINT. Exit codes: 0 after a clean shutdown, 1 when the state cannot be
// opened or another daemon holds the state directory, 2 for a bad config.
int RunDaemon(const DaemonOptions& options);

}  // namespace mlcron
