// Synthetic model rows for benchmarks: daily rows in four segments with a binary label whose
// relation to the features drifts slowly with the day, and some NULL features. The same
// arguments write the same rows on any platform (no std:: distributions, whose output is
// implementation-defined). Not thread-safe: it writes through one SqliteDb.
#pragma once

#include <cstdint>
#include <string>

#include "daemon/sqlite_db.h"
#include "daemon/status.h"

namespace mlcron::bench {

inline constexpr int kSyntheticSegments = 4;        // seg values "s0".."s3"
inline constexpr double kSyntheticNullRate = 0.02;  // share of NULL feature values

// Creates `table` if absent as
//   (id INTEGER PRIMARY KEY, seg TEXT, day TEXT, label REAL, f0 REAL, ..., f{features-1} REAL)
// and appends `rows` rows in one transaction: row i falls on the UTC day of
// start_unix + (i / rows_per_day) days ("YYYY-MM-DD"), ids ascend with time, seg is drawn
// uniformly. Features are standard normal, each NULL with probability kSyntheticNullRate.
// label = 1 with probability logistic(b_seg + 1.5·Σ w_j(d)·f_j / sqrt(features / 2)) (NULL
// features count as 0) where w_j(d) = cos(2πj/features + drift·d) for day index d: the
// weights rotate by `drift` radians a day (0: no drift). Appending to an existing table
// requires the same features count.
Status WriteSyntheticRows(SqliteDb& db, const std::string& table, std::int64_t rows, int features,
                          std::int64_t start_unix, int rows_per_day, std::uint64_t seed,
                          double drift);

}  // namespace mlcron::bench
