#include "daemon/version.h"

namespace mlcron {

// MLCRON_VERSION is set for this file only (daemon/CMakeLists.txt).
const char* Version() { return MLCRON_VERSION; }

}  // namespace mlcron
