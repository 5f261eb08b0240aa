// Online backup of an open SQLite database to a file, safe while other processes write (WAL):
// the copy is one consistent snapshot, written beside the destination and renamed into place.
#pragma once

#include <chrono>
#include <string>

#include "daemon/sqlite_db.h"
#include "daemon/status.h"

namespace mlcron {

// Copies `db` to `dest` through `dest + ".tmp"`, fsyncs it and renames it over `dest`. The copy
// uses the rollback journal, so it is one self-contained file. The directory of `dest` must exist.
Status BackupDatabase(SqliteDb& db, const std::string& dest,
                      std::chrono::milliseconds busy_timeout);

}  // namespace mlcron
