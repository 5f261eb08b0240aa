// The versioned schema of mlcron.db: an ordered list of migrations, applied by Open. Append a
// new Migration to change the schema; never edit one that has shipped, since existing files
// have already run it.
#pragma once

#include <span>

#include "daemon/sqlite_db.h"

namespace mlcron {

std::span<const Migration> StateMigrations();
// The schema version this build writes: the last migration's.
int LatestStateSchemaVersion();

}  // namespace mlcron
