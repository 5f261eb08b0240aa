// A segment's applied tuned params (issue 6) and how training uses them: they are laid over
// the config's params, so the fingerprint changes and the next retrain is full. Only params
// still in the model's `tuning.space` are laid over: removing a param from the space (or the
// whole `tuning:` section) gives the config's value back without touching the database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/model_config.h"
#include "daemon/sqlite_db.h"
#include "daemon/status.h"
#include "jobs/tuning_store.h"

namespace mlcron {

// The model with `overrides` set on its params (replacing a param of the same name, else
// appended), as a trial or the tuned params train it.
ModelConfig WithParams(const ModelConfig& model, const ParamTexts& overrides);

struct TunedOverlay {
  ParamTexts params;                  // empty: train with the config's params
  std::optional<std::int64_t> study;  // the study they came from (none: set by hand)
  bool empty() const { return params.empty(); }
};

// The tuned params that apply to (model, segment) today, read from the registry's database.
Result<TunedOverlay> LoadTunedOverlay(SqliteDb& registry_db, const ModelConfig& model,
                                      const std::string& segment);

// Splits DescribeFingerprintChange's phrases into those about a tuned param and the rest.
struct ChangeSplit {
  std::vector<std::string> tuned;
  std::vector<std::string> other;
};
ChangeSplit SplitTunedChanges(const std::vector<std::string>& changes, const ParamTexts& tuned);

}  // namespace mlcron
