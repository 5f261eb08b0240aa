#include "daemon/state_migrations.h"

#include <array>

namespace mlcron {
namespace {

// v1: run history and scheduler state. Times are microseconds since the Unix epoch
// (NULL when absent); `scheduled` is whole seconds, like Instant. pid and pid_start_ticks are
// NULL until the child is spawned. "trigger" is quoted because TRIGGER is an SQL keyword.
constexpr const char* kV1 = R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  job TEXT NOT NULL,
  scheduled INTEGER NOT NULL,
  "trigger" TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  started_us INTEGER,
  ended_us INTEGER,
  exit_code INTEGER,
  signal INTEGER,
  pid INTEGER,
  pid_start_ticks INTEGER,
  boot_id TEXT NOT NULL DEFAULT '',
  log_path TEXT NOT NULL DEFAULT '',
  cpu_user_s REAL NOT NULL DEFAULT 0,
  cpu_sys_s REAL NOT NULL DEFAULT 0,
  config_sha TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_job_scheduled ON runs (job, scheduled);
CREATE INDEX runs_status ON runs (status);
CREATE INDEX runs_ended ON runs (ended_us);

CREATE TABLE job_state (
  job TEXT PRIMARY KEY,
  last_occurrence INTEGER NOT NULL
);

CREATE TABLE paused (
  name TEXT PRIMARY KEY,
  since_us INTEGER NOT NULL
);
)sql";

// The model registry (§7) appends its migrations here as version 2, 3, ...
constexpr std::array<Migration, 1> kMigrations = {{
    {1, kV1},
}};

}  // namespace

std::span<const Migration> StateMigrations() { return kMigrations; }

int LatestStateSchemaVersion() { return kMigrations.back().version; }

}  // namespace mlcron
