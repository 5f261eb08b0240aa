// The API's bearer token: 32 random bytes as hex in state_dir/api.token, mode 0600, created
// on the daemon's first start with the API on and reused after. Whoever can read the file
// (the daemon's user, root) may call the mutating endpoints.
#pragma once

#include <string>

#include "daemon/status.h"

namespace mlcron {

// Reads the token, creating the file (O_EXCL, 0600) when absent. A file that is empty,
// not 64 hex digits, or readable by others is an error naming it.
Result<std::string> LoadOrCreateApiToken(const std::string& state_dir);

}  // namespace mlcron
