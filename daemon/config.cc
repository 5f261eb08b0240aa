#include "daemon/config.h"

namespace mlcron {
namespace {

template <typename T>
std::optional<size_t> Lookup(const std::vector<T>& items, const NameIndex& index,
                             std::string_view name) {
  if (auto it = index.find(name); it != index.end()) {
    if (it->second < items.size() && items[it->second].name == name) return it->second;
  } else if (!index.empty() && index.size() == items.size()) {
    return std::nullopt;  // a complete index: a miss is a miss
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].name == name) return i;
  }
  return std::nullopt;
}

}  // namespace

const JobConfig* Config::FindJob(std::string_view name) const {
  const std::optional<size_t> i = JobIndex(name);
  return i ? &jobs[*i] : nullptr;
}

const ModelConfig* Config::FindModel(std::string_view name) const {
  for (const ModelConfig& m : models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const TierConfig* Config::FindTier(std::string_view name) const {
  const std::optional<size_t> i = Lookup(tiers, tier_index, name);
  return i ? &tiers[*i] : nullptr;
}

std::optional<size_t> Config::JobIndex(std::string_view name) const {
  return Lookup(jobs, job_index, name);
}

}  // namespace mlcron
