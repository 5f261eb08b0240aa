// The model registry in state_dir/mlcron.db (DESIGN.md §7): every trained version per
// (model, segment) with its lineage, data windows and file; the production pointer; the
// retrain decisions; and an audit row for every production change. Writes are short
// BEGIN IMMEDIATE transactions, since the daemon and other jobs share the file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/sqlite_db.h"
#include "daemon/status.h"
#include "jobs/sql_value.h"

namespace mlcron {

struct ModelVersion {
  std::int64_t id = 0;  // global and increasing: the VERSION of the CLI
  std::string model;
  std::string segment;  // "" for an unsegmented model
  std::optional<std::int64_t> parent;
  std::string kind;              // full | incremental
  std::string fingerprint;       // hash
  std::string fingerprint_text;  // canonical JSON
  std::string params_json;       // the XGBoost params trained with
  std::vector<std::string> features;
  std::string objective;
  int num_class = 0;                  // multi:softprob only
  int trees = 0;                      // boosted rounds in the file
  std::int64_t rows = 0;              // training rows of this attempt
  SqlValue train_from, train_to;      // train_to is the watermark
  SqlValue holdout_from, holdout_to;  // holdout_to is the horizon
  std::int64_t holdout_rows = 0;
  double duration_s = 0;  // training wall time
  std::string file;
  std::string sha256;
  std::string status;           // candidate | production | rejected | archived | deleted
  std::string reason;           // why it has that status
  std::int64_t created_at = 0;  // unix seconds
  int chain = 0;                // incremental versions in a row ending here (0 for a full)
  std::int64_t full_at = 0;     // created_at of the full version this chain started from
  std::string run_id;
  std::string metrics_json = "{}";
};

struct DecisionRecord {
  std::int64_t id = 0;
  std::string model;
  std::string segment;
  std::string run_id;
  std::int64_t decided_at = 0;  // unix seconds
  std::string decision;         // skip | incremental | full
  std::string summary;          // Decision::Summary()
  std::int64_t new_rows = 0;
  std::optional<std::int64_t> version;  // the attempt it led to
};

// One production change: promote, rollback, and later pin/unpin.
struct AuditRecord {
  std::int64_t id = 0;
  std::int64_t at = 0;  // unix seconds
  std::string model;
  std::string segment;
  std::optional<std::int64_t> from_version;  // production before; none for a first version
  std::optional<std::int64_t> to_version;
  std::string action;  // promote | rollback | pin | unpin
  std::string reason;
  std::string actor;
};

// What a promote or rollback did: the audit row it wrote, and the status the new production
// version had before the move (candidate, rejected, archived).
struct MoveResult {
  AuditRecord audit;
  std::string previous_status;
};

// The columns an AuditRecord is read from, in order, and the reader of a statement that
// selects them: shared by every query of model_audit.
inline constexpr char kAuditColumns[] =
    "id, at, model, segment, from_version, to_version, action, reason, actor";
Result<std::vector<AuditRecord>> ReadAuditRows(SqliteStatement& st);

class Registry {
 public:
  // Opens (and migrates) state_dir/mlcron.db like the daemon's state store does.
  static Result<std::unique_ptr<Registry>> Open(const Config& config);
  explicit Registry(std::unique_ptr<SqliteDb> db);

  Result<std::optional<ModelVersion>> Production(const std::string& model,
                                                 const std::string& segment);
  // The newest attempt (any status) of the segment.
  Result<std::optional<ModelVersion>> LastAttempt(const std::string& model,
                                                  const std::string& segment);
  Result<std::optional<ModelVersion>> Get(std::int64_t id);
  // created_at of the segment's newest full version, whatever became of it (promoted,
  // rejected, awaiting promotion): when `full_every` was last tried.
  Result<std::optional<std::int64_t>> LastFullAttemptAt(const std::string& model,
                                                        const std::string& segment);
  // Newest first; empty model/segment = all.
  Result<std::vector<ModelVersion>> List(const std::string& model, const std::string& segment,
                                         int limit);

  // Inserts the attempt (its file already durable) with v.status, `candidate` (the default)
  // or `rejected`; or, when `promote`, as production: the old production becomes archived
  // ("replaced by version N"), the pointer moves and an audit row (from, to, v.reason, actor)
  // is written, all in one transaction. Promotion time is v.created_at, so replay's simulated
  // clock is kept; a zero created_at means now, and a full version's zero full_at its
  // created_at. Returns the new id.
  Result<std::int64_t> AddVersion(ModelVersion v, bool promote, const std::string& actor);

  Status RecordDecision(const DecisionRecord& d);
  // Newest first; empty model = all.
  Result<std::vector<DecisionRecord>> Decisions(const std::string& model, int limit);

  // The audit rows that moved production from or to `version`, oldest first.
  Result<std::vector<AuditRecord>> AuditOf(std::int64_t version);

  // Production moves by hand (DESIGN.md §7 "Promotion and retention"; registry_moves.cc).
  // Promote and Rollback first load the target's file, verify its SHA-256 and parse it, so a
  // tampered or missing file moves nothing; then one transaction archives the old production
  // ("replaced by version N" / "rolled back to version N"), makes the target production,
  // moves the pointer (since = now) and writes the audit row (at = now). Errors are refusals
  // with the reason, e.g. "version 7 is already production".
  //
  // A `rejected` or `archived` version needs `force` (the audit reason then starts with
  // "forced: "); a `deleted` one (file gone) never moves. An empty reason becomes "manual
  // promotion".
  Result<MoveResult> Promote(std::int64_t version, const std::string& actor,
                             const std::string& reason, bool force, std::int64_t now);
  // Back to the version production was moved away from by the audit row that made the current
  // production: a second rollback undoes the first.
  Result<MoveResult> Rollback(const std::string& model, const std::string& segment,
                              const std::string& actor, std::int64_t now);
  // Set or clear model_versions.pinned (retention keeps a pinned file), with an audit row
  // whose from and to are the version. Pinning a pinned version is an error, as is unpinning
  // an unpinned one or pinning a deleted one.
  Status Pin(std::int64_t version, const std::string& actor, std::int64_t now);
  Status Unpin(std::int64_t version, const std::string& actor, std::int64_t now);
  Result<bool> Pinned(std::int64_t version);
  // Audit rows of the model, newest (by `at`, then id) first; an empty segment means every
  // segment (an unsegmented model has only ""). limit <= 0 means all.
  Result<std::vector<AuditRecord>> Audit(const std::string& model, const std::string& segment,
                                         int limit);
  // The promote or rollback row that made the version production at `at` (the latest with
  // at <= `at`); none if the (model, segment) had no production then.
  Result<std::optional<AuditRecord>> ProductionAt(const std::string& model,
                                                  const std::string& segment, std::int64_t at);
  // The segments the model has versions in, sorted; {""} for an unsegmented model.
  Result<std::vector<std::string>> Segments(const std::string& model);

  SqliteDb& db() { return *db_; }

 private:
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace mlcron
