// Switching from root to the owner of the state directory, shared by mlcrond and mlcron: a
// process started by root must not leave root-owned files where the service user writes
// (DESIGN.md §4), and must say so plainly when that user no longer exists.
#pragma once

#include <string>

#include "daemon/status.h"

namespace mlcron {

// Run as root, with state_dir owned by another uid, takes that uid, its primary group and
// its supplementary groups. A no-op for any other user, or when state_dir is missing or
// owned by root. Fails, changing nothing, when the uid has no passwd entry (its user was
// removed) or a set*id call fails; the message names the directory, the uid and the fix.
Status SwitchToStateOwner(const std::string& state_dir);

}  // namespace mlcron
