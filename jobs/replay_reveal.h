// The reveal rule of DESIGN.md §9 applied to one scratch data database: before each simulated
// occurrence, the source rows whose time has come appear (labels NULL until the end of their
// day), and the labels whose day has ended are filled in. This replaces the import jobs in a
// replay; rows are stamped `_ingested_at` = the occurrence, as an import at that time would.
#pragma once

#include <cstdint>

#include "daemon/schedule.h"
#include "daemon/sqlite_db.h"
#include "daemon/status.h"
#include "jobs/replay_source.h"

namespace mlcron {

struct RevealStats {
  std::int64_t rows = 0;    // rows that appeared
  std::int64_t labels = 0;  // rows whose labels were filled in
};

class Revealer {
 public:
  // Attaches the source database to `data` and creates the source tables (empty) in it.
  static Result<Revealer> Create(SqliteDb& data, const ReplaySources& sources);

  // Reveals everything due in (the previous call's `at`, at], in one transaction.
  Result<RevealStats> RevealUpTo(Instant at);

 private:
  Revealer(SqliteDb& data, const ReplaySources& sources) : data_(&data), sources_(&sources) {}
  SqliteDb* data_;
  const ReplaySources* sources_;
  std::int64_t done_ = INT64_MIN;  // unix seconds revealed up to
};

}  // namespace mlcron
