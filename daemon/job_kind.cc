#include "daemon/job_kind.h"

#include <algorithm>
#include <map>

namespace mlcron {

const std::vector<std::string>& KnownJobKinds() {
  static const std::vector<std::string> kKinds = {"command", "import",  "features",
                                                  "retrain", "signals", "tune"};
  return kKinds;
}

bool IsKnownJobKind(std::string_view kind) {
  const auto& kinds = KnownJobKinds();
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

const std::vector<std::string>& KindSpecificKeys(std::string_view kind) {
  static const std::map<std::string, std::vector<std::string>, std::less<>> kKeys = {
      {"import", {"file", "table", "key", "types"}},
      {"features", {"sql"}},
      {"retrain", {"model", "full"}},
      {"signals", {"model", "input", "output"}},
      {"tune", {"model", "apply"}},
  };
  static const std::vector<std::string> kNone;
  auto it = kKeys.find(kind);
  return it == kKeys.end() ? kNone : it->second;
}

}  // namespace mlcron
