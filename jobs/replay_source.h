// The history a replay reveals (DESIGN.md §9): each `replay:` source table is loaded once
// into a scratch source database, from the CSV of the import job that writes it (so a replay
// needs no prior daemon run) or read-only from the operator's data database, and every row
// gets the two instants of the reveal rule: when it appears (its time − reveal_ahead, labels
// hidden) and when its labels appear (the end of its local day).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/schedule.h"
#include "daemon/sqlite_db.h"
#include "daemon/status.h"

namespace mlcron {

// In the scratch source database: one row per source row (rid = its rowid there).
inline constexpr char kRevealTable[] = "_mlcron_reveal";

struct LoadedSource {
  ReplaySource config;
  std::vector<std::string> columns;    // every column of the table but _ingested_at, in order
  std::string create_sql;              // the table's CREATE TABLE, for the scratch data databases
  std::vector<std::string> index_sql;  // its indexes (the unique key index among them)
  std::string origin;                  // "import job import_matches (/x/matches.csv)" or the db
  std::int64_t rows = 0;
  Instant first{}, last{};  // the range of its time column
};

struct ReplaySources {
  std::string path;  // of the scratch source database
  std::vector<LoadedSource> tables;
};

// Loads every source into `path` (created; it must not exist). Errors name the config
// position of the source and what is wrong: a table the data database lacks, a time or label
// column the table lacks (with the columns it has), a time value that is neither a date, an
// ISO time nor unix seconds (with its row), an empty table.
Result<ReplaySources> LoadReplaySources(const Config& config, const std::string& path);

// The instant a time value names: a date is its local midnight in tz, an ISO time as written
// (local in tz without an offset), a number unix seconds. Error text describes the value.
Result<Instant> TimeValueInstant(const std::string& text, bool is_number, double number,
                                 const date::time_zone* tz);
// The first instant of the local day after the one `t` falls in.
Instant EndOfLocalDay(Instant t, const date::time_zone* tz);

}  // namespace mlcron
