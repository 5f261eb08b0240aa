// The job kinds a config may name, and the keys each accepts beside the common ones.
// `command` is run directly by the daemon's runner; every other kind is built in and runs
// as the child `mlcron job <kind> --config SNAPSHOT --job NAME`. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mlcron {

// All kinds, "command" first.
const std::vector<std::string>& KnownJobKinds();
bool IsKnownJobKind(std::string_view kind);
// Keys specific to a built-in kind (e.g. "sql" for features). Empty for command and for
// unknown kinds. Their values are validated by the kind's own issue; until then they are
// kept as written.
const std::vector<std::string>& KindSpecificKeys(std::string_view kind);

}  // namespace mlcron
