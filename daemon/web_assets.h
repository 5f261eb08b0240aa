// The web status page's files (daemon/web/), embedded into mlcrond at build time by
// cmake/EmbedFiles.cmake, so the binary serves them with nothing to install beside it.
#pragma once

#include <string_view>
#include <vector>

namespace mlcron {

struct WebAssetBytes {
  std::string_view name;  // file name in daemon/web/, e.g. "app.js"
  std::string_view data;
};

// Every file of daemon/web/ (generated source).
const std::vector<WebAssetBytes>& EmbeddedWebFiles();

struct WebAsset {
  std::string_view data;
  std::string_view content_type;  // by extension; application/octet-stream otherwise
};

// The embedded file named exactly `name`, or nullptr. Never touches the file system.
const WebAsset* FindWebAsset(std::string_view name);

}  // namespace mlcron
