#include "cli/cli_common.h"

#include <filesystem>
#include <iostream>

#include "daemon/config_loader.h"
#include "daemon/state_owner.h"

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
  if (Status s = SwitchToStateOwner(config.state_dir); !s.ok()) {
    std::cerr << "mlcron: " << s.message() << "\n";
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
