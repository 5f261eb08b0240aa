#include "cli/cli_common.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "daemon/config_loader.h"

namespace mlcron {

std::shared_ptr<const Config> LoadConfigOrPrint(const std::string& path) {
  LoadResult loaded = LoadConfigFile(path);
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) std::cerr << error.ToString() << "\n";
    return nullptr;
  }
  return loaded.config;
}

bool RunAsStateOwner(const Config& config) {
  if (::geteuid() != 0) return true;
  struct stat st {};
  if (::stat(config.state_dir.c_str(), &st) != 0 || st.st_uid == 0) return true;
  // Drop the group first: after setuid we could no longer change it.
  if (::setgroups(0, nullptr) != 0 || ::setgid(st.st_gid) != 0 || ::setuid(st.st_uid) != 0) {
    std::cerr << "mlcron: " << config.state_dir << " belongs to uid " << st.st_uid
              << " and switching to it failed (" << std::strerror(errno)
              << "); refusing to write root-owned files there\n";
    return false;
  }
  return true;
}

std::unique_ptr<StateStore> OpenStateOrPrint(const Config& config) {
  if (!RunAsStateOwner(config)) return nullptr;
  std::error_code ec;
  std::filesystem::create_directories(config.state_dir, ec);
  auto store = StateStore::Open(config.state_dir + "/mlcron.db");
  if (!store.ok()) {
    std::cerr << "mlcron: " << store.message() << "\n";
    return nullptr;
  }
  return std::move(store).value();
}

std::string ControlSocketPath(const Config& config) { return config.state_dir + "/control.sock"; }

}  // namespace mlcron
