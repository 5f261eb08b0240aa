// SHA-256 through OpenSSL's EVP interface (a well-kept implementation; see docs/libraries.md).
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "daemon/status.h"

namespace mlcron {

// Lower-case hex digest of `data`.
std::string Sha256Hex(std::string_view data);
// Digest of a file's contents, streamed.
Result<std::string> Sha256File(const std::string& path);

}  // namespace mlcron
