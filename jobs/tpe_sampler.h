// The TPE sampler's split of the finished trials into the good ("below") and the bad
// ("above") group; MakeTpeSampler (search.h) builds on it. Exposed for its tests. Pure.
#pragma once

#include <cstddef>
#include <vector>

#include "jobs/search.h"

namespace mlcron::tpe {

struct TrialSplit {
  std::vector<size_t> below;  // indices into `done`, ascending (oldest first)
  std::vector<size_t> above;
};

// Failed trials are left out. Below: the best DefaultGamma(n) complete trials by value
// (n = complete + pruned; ties go to the older trial, NaN values rank last). Above: every
// other complete trial and every pruned one.
TrialSplit SplitTrials(const std::vector<FinishedTrial>& done);

}  // namespace mlcron::tpe
