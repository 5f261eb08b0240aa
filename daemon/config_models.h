// Internal to the config loader: reads and checks the `models:` section (DESIGN.md §3) into
// ModelConfig values, in file order.
#pragma once

#include <vector>

#include "daemon/model_config.h"
#include "daemon/yaml_reader.h"

namespace mlcron {

std::vector<ModelConfig> ReadModels(const Field& models, ErrorSink* errors);

}  // namespace mlcron
