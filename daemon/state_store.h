// The daemon's durable state in state_dir/mlcron.db (SQLite, WAL, versioned migrations):
// run history, the last handled occurrence per job, and paused flags. One StateStore per
// process and thread; several processes (daemon, CLI) may open the same file: writes use
// BEGIN IMMEDIATE with a busy timeout. sqlite3.h stays out of this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/run_record.h"
#include "daemon/status.h"

namespace mlcron {

struct RunFilter {
  std::optional<std::string> job;
  std::optional<RunStatus> status;
  int limit = 50;  // newest first
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Opens (creating if absent) and migrates. A file that is not a SQLite database, fails
  // its quick_check, or has a schema newer than this build is an error naming the file;
  // it is never reset. A database locked beyond busy_timeout is an error too.
  static Result<std::unique_ptr<StateStore>> Open(
      const std::string& path,
      std::chrono::milliseconds busy_timeout = std::chrono::milliseconds(5000));

  virtual int SchemaVersion() = 0;

  // Inserts the row (id ignored) and returns its id. Committed before returning.
  virtual Result<std::int64_t> InsertRun(const RunRecord& run) = 0;
  // Records the spawned process of a running row.
  virtual Status SetRunProcess(std::int64_t id, std::int64_t pid, std::uint64_t start_ticks,
                               const std::string& boot_id, RunRecord::TimePoint started) = 0;
  // Settles a row (by run.id): status, reason, end time, exit code or signal, CPU time, log
  // path. An empty log_path keeps the stored one; `started` only fills a missing start time.
  virtual Status FinishRun(const RunRecord& run) = 0;
  virtual Result<std::optional<RunRecord>> GetRun(std::int64_t id) = 0;
  virtual Result<std::vector<RunRecord>> ListRuns(const RunFilter& filter) = 0;
  // All attempts of one occurrence, oldest first.
  virtual Result<std::vector<RunRecord>> OccurrenceRuns(const std::string& job,
                                                        Instant scheduled) = 0;
  // The latest attempt of the newest occurrence of `job` scheduled at or before `t`.
  virtual Result<std::optional<RunRecord>> LatestRunAtOrBefore(const std::string& job,
                                                               Instant t) = 0;

  // The newest scheduled instant the scheduler has handled for a job (started, skipped or
  // missed). Catch-up starts after it. SetLastOccurrence keeps the maximum: it never moves
  // backwards, so a late write for an older occurrence cannot make catch-up repeat work.
  virtual Result<std::optional<Instant>> LastOccurrence(const std::string& job) = 0;
  virtual Status SetLastOccurrence(const std::string& job, Instant scheduled) = 0;

  // Paused jobs and tiers, by name.
  virtual Status SetPaused(const std::string& name, bool paused) = 0;
  virtual Result<std::vector<std::string>> PausedNames() = 0;

  // Deletes every run but `running` ones that ended (or, if never ended, were scheduled)
  // before `cutoff`; returns their non-empty log paths so the caller can delete the files.
  virtual Result<std::vector<std::string>> PruneRuns(RunRecord::TimePoint cutoff) = 0;

  // Online backup (sqlite3_backup_*) to `dest`, written to a temporary name and renamed.
  virtual Status Backup(const std::string& dest) = 0;
};

}  // namespace mlcron
