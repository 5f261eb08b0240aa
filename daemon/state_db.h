// Opening state_dir/mlcron.db: the checks, pragmas and migrations every user of the file
// (the daemon's StateStore, the model registry, the CLI) must apply the same way. A file that
// is not ours, is corrupt, or is newer than this build is refused and left untouched.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "daemon/sqlite_db.h"
#include "daemon/status.h"

namespace mlcron {

// Opens (creating if absent) and migrates to LatestStateSchemaVersion(), in WAL mode with
// synchronous=NORMAL and foreign keys on. Errors name the file ("state database /x: ...").
Result<std::unique_ptr<SqliteDb>> OpenStateDb(const std::string& path,
                                              std::chrono::milliseconds busy_timeout);

}  // namespace mlcron
