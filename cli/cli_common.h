// Helpers every `mlcron` command shares: loading the config with its errors printed, running
// as the owner of the state directory, and opening the state store. Exit codes follow
// DESIGN.md §8: 0 ok, 1 a job or check failed, 2 bad usage or bad config.
#pragma once

#include <memory>
#include <string>

#include "daemon/config.h"
#include "daemon/state_store.h"

namespace mlcron {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Prints every error as FILE:LINE:COL: message to stderr and returns null on failure.
std::shared_ptr<const Config> LoadConfigOrPrint(const std::string& path);

// Run as root against a state directory owned by someone else, switches to that user and
// group, so no root-owned file is ever left behind. Returns false (message printed) when it
// cannot switch.
bool RunAsStateOwner(const Config& config);

// Opens state_dir/mlcron.db after RunAsStateOwner; prints the error and returns null.
std::unique_ptr<StateStore> OpenStateOrPrint(const Config& config);

std::string ControlSocketPath(const Config& config);

}  // namespace mlcron
