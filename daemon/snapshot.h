// Frozen config snapshots: every loaded config is written to state_dir/configs/<sha256>.yaml,
// and each child reads the snapshot that scheduled it, never the live file (DESIGN.md §1).
#pragma once

#include <string>

#include "daemon/config.h"
#include "daemon/status.h"

namespace mlcron {

std::string SnapshotPath(const Config& config);
// Writes the snapshot if absent: temporary name, fsync, rename. Mode 0640.
Status WriteSnapshot(const Config& config);
// Writes `data` to `path` atomically (temporary file in the same folder, fsync, rename,
// fsync of the folder). A full disk leaves the old file as it was.
Status WriteFileAtomic(const std::string& path, const std::string& data, int mode);

}  // namespace mlcron
