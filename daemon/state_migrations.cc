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

// v2: the model registry (DESIGN.md §7). Rows are never deleted: a version whose file
// retention removed becomes `deleted` and stays for lineage and audit. The four window bounds
// are typeless on purpose: they hold the model table's own time values (unix seconds or
// '2017-05-28' text), and only a column without affinity keeps an integer an integer and
// text text, so the bounds compare in SQL exactly as the data's time column does. `pinned`
// is for `mlcron models pin` (retention never removes a pinned file). Times are unix seconds.
constexpr const char* kV2 = R"sql(
CREATE TABLE model_versions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model TEXT NOT NULL,
  segment TEXT NOT NULL DEFAULT '',
  parent INTEGER REFERENCES model_versions (id),
  kind TEXT NOT NULL,
  fingerprint TEXT NOT NULL DEFAULT '',
  fingerprint_text TEXT NOT NULL DEFAULT '',
  params_json TEXT NOT NULL DEFAULT '{}',
  features_json TEXT NOT NULL DEFAULT '[]',
  objective TEXT NOT NULL DEFAULT '',
  num_class INTEGER NOT NULL DEFAULT 0,
  trees INTEGER NOT NULL DEFAULT 0,
  rows INTEGER NOT NULL DEFAULT 0,
  train_from,
  train_to,
  holdout_from,
  holdout_to,
  holdout_rows INTEGER NOT NULL DEFAULT 0,
  duration_s REAL NOT NULL DEFAULT 0,
  file TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  status TEXT NOT NULL
    CHECK (status IN ('candidate', 'production', 'rejected', 'archived', 'deleted')),
  reason TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  chain INTEGER NOT NULL DEFAULT 0,
  full_at INTEGER NOT NULL DEFAULT 0,
  run_id TEXT NOT NULL DEFAULT '',
  metrics_json TEXT NOT NULL DEFAULT '{}',
  pinned INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX model_versions_segment ON model_versions (model, segment, id);

CREATE TABLE model_production (
  model TEXT NOT NULL,
  segment TEXT NOT NULL,
  version_id INTEGER NOT NULL REFERENCES model_versions (id),
  since INTEGER NOT NULL,
  PRIMARY KEY (model, segment)
);

CREATE TABLE model_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  model TEXT NOT NULL,
  segment TEXT NOT NULL,
  from_version INTEGER REFERENCES model_versions (id),
  to_version INTEGER REFERENCES model_versions (id),
  action TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  actor TEXT NOT NULL DEFAULT ''
);
CREATE INDEX model_audit_segment ON model_audit (model, segment, id);
CREATE INDEX model_audit_from ON model_audit (from_version);
CREATE INDEX model_audit_to ON model_audit (to_version);

CREATE TABLE retrain_decisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model TEXT NOT NULL,
  segment TEXT NOT NULL,
  run_id TEXT NOT NULL DEFAULT '',
  decided_at INTEGER NOT NULL,
  decision TEXT NOT NULL,
  summary TEXT NOT NULL DEFAULT '',
  new_rows INTEGER NOT NULL DEFAULT 0,
  version_id INTEGER REFERENCES model_versions (id)
);
CREATE INDEX retrain_decisions_model ON retrain_decisions (model, id);
)sql";

// v3: live (prequential) scores, DESIGN.md §7 "drift" and §9: one row per (model, key), the
// last signal made for the key before its label arrived, with that label and the model's
// outputs (`prediction`, a JSON array of num_class values or one). signal_at and scored_at
// are IsoUtc text like the signals table's `scheduled`. `version` has no foreign key on
// purpose: it comes from the signals table in the data database, which a restored backup of
// either file can leave out of step with this one, and live scoring must not fail on that.
// The index serves the per-version reads (drift window, `mlcron models live`).
constexpr const char* kV3 = R"sql(
CREATE TABLE live_scores (
  model TEXT NOT NULL,
  segment TEXT NOT NULL DEFAULT '',
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  signal_at TEXT NOT NULL,
  scored_at TEXT NOT NULL,
  label REAL NOT NULL,
  prediction TEXT NOT NULL,
  PRIMARY KEY (model, key)
);
CREATE INDEX live_scores_version ON live_scores (model, segment, version, signal_at);
)sql";

// v4: hyperparameter tuning (DESIGN.md §6 `tune`). A study searches one (model, segment);
// each trial is one set of parameters scored by time-series cross-validation, stored as it
// finishes so an interrupted study keeps its trials and `--resume` continues it. `config_json`
// is the study's search as run (method, space, folds, seed), which a resume must match.
// model_tuned_params holds the applied best parameters per (model, segment): the trainer
// overlays them on the config's params, so applying them changes the fingerprint.
constexpr const char* kV4 = R"sql(
CREATE TABLE tuning_studies (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model TEXT NOT NULL,
  segment TEXT NOT NULL DEFAULT '',
  method TEXT NOT NULL,
  seed INTEGER NOT NULL,
  metric TEXT NOT NULL,
  trials INTEGER NOT NULL,
  config_json TEXT NOT NULL,
  rows INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  status TEXT NOT NULL,
  best_trial INTEGER,
  best_value REAL,
  applied_at INTEGER,
  run_id TEXT NOT NULL DEFAULT '',
  actor TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tuning_studies_model ON tuning_studies (model, segment, id);

CREATE TABLE tuning_trials (
  study_id INTEGER NOT NULL REFERENCES tuning_studies (id),
  number INTEGER NOT NULL,
  params_json TEXT NOT NULL,
  fold_scores_json TEXT NOT NULL DEFAULT '[]',
  state TEXT NOT NULL,
  value REAL,
  error TEXT NOT NULL DEFAULT '',
  duration_s REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (study_id, number)
);

CREATE TABLE model_tuned_params (
  model TEXT NOT NULL,
  segment TEXT NOT NULL DEFAULT '',
  params_json TEXT NOT NULL,
  study_id INTEGER REFERENCES tuning_studies (id),
  applied_at INTEGER NOT NULL,
  actor TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (model, segment)
);
)sql";

// v5: a study's baseline (the segment's current params scored on the same folds, so a best
// trial is applied only when it beats what trains today) and its verdict ("applied: …" or
// "not applied: …", the reason shown by `models tune --history`).
constexpr const char* kV5 = R"sql(
ALTER TABLE tuning_studies ADD COLUMN baseline_value REAL;
ALTER TABLE tuning_studies ADD COLUMN verdict TEXT NOT NULL DEFAULT '';
)sql";

constexpr std::array<Migration, 5> kMigrations = {{
    {1, kV1},
    {2, kV2},
    {3, kV3},
    {4, kV4},
    {5, kV5},
}};

}  // namespace

std::span<const Migration> StateMigrations() { return kMigrations; }

int LatestStateSchemaVersion() { return kMigrations.back().version; }

}  // namespace mlcron
