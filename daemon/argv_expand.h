// Expansion of {date}, {time}, {scheduled}, {run_id}, {job} and {status} inside argv
// elements. Values never pass through a shell, so no quoting is needed or done. Pure.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "daemon/status.h"

namespace mlcron {

using ArgvVars = std::map<std::string, std::string>;

// "{{" and "}}" give literal braces. An unknown {name} is an error naming it.
Result<std::vector<std::string>> ExpandArgv(const std::vector<std::string>& argv,
                                            const ArgvVars& vars);

// The placeholders a job's argv and on_failure may use.
const std::vector<std::string>& KnownPlaceholders();
// Checks at load time that `argv` uses only known placeholders and closes every brace, so
// a typo such as {dat} fails `mlcron validate`, not the run.
Status CheckPlaceholders(const std::vector<std::string>& argv);

}  // namespace mlcron
