#include "jobs/tuned_params.h"

#include <algorithm>

namespace mlcron {

ModelConfig WithParams(const ModelConfig& model, const ParamTexts& overrides) {
  ModelConfig out = model;
  for (const auto& [name, value] : overrides) {
    bool replaced = false;
    for (auto& [k, v] : out.params) {
      if (k == name) {
        v = value;
        replaced = true;
      }
    }
    if (!replaced) out.params.emplace_back(name, value);
  }
  return out;
}

Result<TunedOverlay> LoadTunedOverlay(SqliteDb& registry_db, const ModelConfig& model,
                                      const std::string& segment) {
  TunedOverlay overlay;
  if (!model.tuning) return overlay;
  TuningStore store(registry_db);
  Result<std::optional<TunedParams>> tuned = store.Tuned(model.name, segment);
  if (!tuned.ok()) return tuned.status();
  if (!*tuned) return overlay;
  for (const SpaceParam& p : model.tuning->space) {
    auto it = (*tuned)->params.find(p.name);
    if (it != (*tuned)->params.end()) overlay.params.insert(*it);
  }
  if (!overlay.empty()) overlay.study = (*tuned)->study_id;
  return overlay;
}

namespace {

// The param a phrase of DescribeFingerprintChange is about: "params.NAME a → b",
// "param NAME added (v)", "param NAME removed (v)"; "" for other phrases.
std::string ParamOf(const std::string& phrase) {
  for (std::string_view prefix : {"params.", "param "}) {
    if (phrase.rfind(prefix, 0) == 0) {
      const size_t end = phrase.find(' ', prefix.size());
      return phrase.substr(prefix.size(), end == std::string::npos ? end : end - prefix.size());
    }
  }
  return "";
}

}  // namespace

ChangeSplit SplitTunedChanges(const std::vector<std::string>& changes, const ParamTexts& tuned) {
  ChangeSplit out;
  for (const std::string& c : changes) {
    const std::string name = ParamOf(c);
    (!name.empty() && tuned.count(name) ? out.tuned : out.other).push_back(c);
  }
  return out;
}

}  // namespace mlcron
