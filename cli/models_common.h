// Helpers every `mlcron models …` command file shares: the plain-text table, instants in the
// config's zone, typed registry values as JSON, and opening the registry only when it exists.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config.h"
#include "jobs/registry.h"
#include "jobs/sql_value.h"

namespace mlcron {

// Left-aligned columns two spaces apart, the first row the heading; no trailing blanks.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// A registry time (unix seconds) in the config's zone: "2024-03-04T09:52:00+01:00".
std::string When(std::int64_t unix_seconds, const Config& config);

// A stored value with its type: null, an integer, a real or a string.
nlohmann::json ValueJson(const SqlValue& v);

// The config's model `name`, or null after printing "COMMAND: no model "x" in FILE".
const ModelConfig* FindModelOrPrint(const Config& config, const std::string& name,
                                    std::string_view command);

// Who asked: the invoking user, or the user behind sudo when running as root. Read before
// RunAsStateOwner switches to the state directory's owner.
std::string CurrentActor();

// Opens state_dir/mlcron.db as its owner. *absent tells a missing registry (nothing trained
// yet, not an error) from one that failed to open (message printed as "COMMAND: …").
std::unique_ptr<Registry> OpenRegistryIfPresent(const Config& config, bool* absent,
                                                std::string_view command = "mlcron");

}  // namespace mlcron
