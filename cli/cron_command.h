// `mlcron cron EXPR --after T --tz Z --count N`: prints the next N fire instants of a cron
// expression, one ISO-8601 instant with offset per line. Pure apart from reading the clock
// when no `after` is given; the CLI11 wiring lives in main.
#pragma once

#include <ostream>
#include <string>

namespace mlcron {

// `after` empty means now; `tz` empty means UTC. Returns the exit code: 0, or 2 (with
// "mlcron cron: <message>" on err) for a bad expression, zone, time or count.
int RunCronCommand(const std::string& expr, const std::string& after, const std::string& tz,
                   int count, std::ostream& out, std::ostream& err);

}  // namespace mlcron
