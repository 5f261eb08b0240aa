// Model files under state_dir/models/<model>/<sha256>.ubj (DESIGN.md §7). Written to a
// temporary name, fsynced, renamed, and the folder fsynced, so a file either exists whole
// or not at all; never overwritten (the name is the content's hash). Every load verifies
// the SHA-256 before returning a byte.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "daemon/status.h"

namespace mlcron {

struct StoredModel {
  std::string path;    // absolute
  std::string sha256;  // hex
};

// How bytes reach the file descriptor; tests substitute a writer that fails like a full
// disk (ENOSPC) to prove nothing half-written is left behind.
using ModelWriter = std::function<Status(int fd, std::string_view bytes)>;
Status WriteAllToFd(int fd, std::string_view bytes);

Result<StoredModel> StoreModelFile(const std::string& models_dir, const std::string& model,
                                   std::string_view bytes,
                                   const ModelWriter& writer = WriteAllToFd);

// The file's bytes after checking their SHA-256 against `expected_sha256`. On a mismatch:
// "model file /x/a.ubj: SHA-256 mismatch (registered 1f2e…, found 9a8b…): the file changed
// after it was registered; nothing was loaded".
Result<std::string> LoadVerifiedModel(const std::string& path, const std::string& expected_sha256);

}  // namespace mlcron
