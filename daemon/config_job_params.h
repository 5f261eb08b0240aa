// Internal to the config loader: reads and checks the keys of the built-in job kinds
// (import, features, retrain, signals, tune) into JobConfig::builtin. References to
// `models:` are checked afterwards, once both sections are read.
#pragma once

#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/yaml_reader.h"

namespace mlcron {

// Reads the keys of `job->kind` from `map` (the job's map). With an unknown kind the keys of
// every kind are accepted unchecked, so the kind error is not buried under key errors.
void ReadBuiltinParams(MapReader& map, bool kind_known, const std::string& base_dir, JobConfig* job,
                       ErrorSink* errors);

// Every retrain/signals/tune job names a model of `models`; reported at the job's `model:`.
void CheckModelReferences(const std::vector<JobConfig>& jobs,
                          const std::vector<ModelConfig>& models, ErrorSink* errors);

// SQL identifiers mlcron puts into statements it builds (tables, columns): letters, digits
// and "_", not starting with a digit. Checked at load so no value is ever interpolated raw.
bool IsSqlIdentifier(std::string_view name);

}  // namespace mlcron
