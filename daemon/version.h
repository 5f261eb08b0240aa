// The mlcron version (CMake's PROJECT_VERSION, or MLCRON_VERSION_OVERRIDE for a package
// build). Defined in one translation unit so that a new version recompiles only that file.
#pragma once

namespace mlcron {

// The version string, e.g. "0.1.0". Never null.
const char* Version();

}  // namespace mlcron
