// Internal to the config loader: reads and checks a model's `tuning:` section (DESIGN.md §6
// `tune`) into a TuningConfig. Called from config_models.cc once the model's objective and
// metric are known.
#pragma once

#include <string>
#include <vector>

#include "daemon/model_config.h"
#include "daemon/tuning_config.h"
#include "daemon/yaml_reader.h"

namespace mlcron {

// `model` supplies the default metric and the objective the tuning metric must fit;
// `reserved` are the XGBoost params mlcron sets itself (config_models.cc's list for
// `params:`), which a space may not search either.
TuningConfig ReadTuning(const Field& tuning, const ModelConfig& model,
                        const std::vector<std::string>& reserved, ErrorSink* errors);

}  // namespace mlcron
