// The prior-only baseline a replay's live metrics are compared with: for each live score, the
// class frequencies (classifiers) or the mean label (regression, count) of the segment's
// labelled rows whose labels had arrived when the signal was made, by the reveal rule (the
// end of the row's local day). What a model with no features would have said.
#pragma once

#include <vector>

#include "daemon/model_config.h"
#include "daemon/sqlite_db.h"
#include "daemon/status.h"
#include "jobs/live_scores.h"

namespace date {
class time_zone;
}

namespace mlcron {

// Parallel to `scores` (which must be oldest signal first); each prediction has the size of
// its score's. A segment with no earlier labels borrows every segment's; with none at all
// the baseline is uniform (classifiers) or 0.
Result<std::vector<std::vector<float>>> PriorBaseline(SqliteDb& data, const ModelConfig& model,
                                                      const std::vector<LiveScore>& scores,
                                                      const date::time_zone* tz);

}  // namespace mlcron
