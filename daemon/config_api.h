// Internal to the config loader: reads and checks the `api:` section (issue 7).
#pragma once

#include "daemon/api_config.h"
#include "daemon/yaml_reader.h"

namespace mlcron {

// `base_dir` resolves a relative `socket:` path.
ApiConfig ReadApi(const Field& api, const std::string& base_dir, ErrorSink* errors);

}  // namespace mlcron
