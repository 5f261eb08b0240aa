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
// `integrity_check` runs PRAGMA quick_check, whose cost grows with the file: the daemon and
// the CLI's state commands do it; a job process (registry) skips it, since the daemon that
// spawned it checked the file at start and a skip decision must stay cheap.
Result<std::unique_ptr<SqliteDb>> OpenStateDb(const std::string& path,
                                              std::chrono::milliseconds busy_timeout,
                                              bool integrity_check = true);

}  // namespace mlcron
