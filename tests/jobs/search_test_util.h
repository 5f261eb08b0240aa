// Search-space builders shared by the sampler tests (search_test.cc, tpe_test.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "daemon/tuning_config.h"

namespace mlcron::search_test {

inline SpaceParam Int(std::string name, double lo, double hi,
                      std::optional<double> step = std::nullopt, bool log = false) {
  SpaceParam p;
  p.name = std::move(name);
  p.kind = SpaceParam::Kind::kInt;
  p.lo = lo;
  p.hi = hi;
  p.step = step;
  p.log = log;
  return p;
}

inline SpaceParam Float(std::string name, double lo, double hi, bool log = false,
                        std::optional<double> step = std::nullopt) {
  SpaceParam p = Int(std::move(name), lo, hi, step, log);
  p.kind = SpaceParam::Kind::kFloat;
  return p;
}

inline SpaceParam Choice(std::string name, std::vector<std::string> choices) {
  SpaceParam p;
  p.name = std::move(name);
  p.kind = SpaceParam::Kind::kChoice;
  p.choices = std::move(choices);
  return p;
}

}  // namespace mlcron::search_test
