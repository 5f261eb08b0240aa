// Registry moves made by hand (DESIGN.md §7 "Promotion and retention"): promote, rollback,
// pin and unpin, each one transaction with its audit row, and the audit queries behind
// `mlcron models audit`. Promote and rollback verify the target's file before anything moves.
#include <utility>

#include "jobs/model_store.h"
#include "jobs/registry.h"
#include "jobs/retrain_plan.h"
#include "jobs/xgb_booster.h"

namespace mlcron {
namespace {

// Only these actions move the pointer; pin and unpin rows name one version on both sides.
constexpr const char* kMoveActions = "action IN ('promote', 'rollback')";

// "model result [E0]", "model goals".
std::string ModelLabel(const std::string& model, const std::string& segment) {
  return "model " + SegmentLabel(model, segment);
}

std::string VersionName(std::int64_t id) { return "version " + std::to_string(id); }

// " (why)" when there is a why.
std::string Why(const std::string& reason) { return reason.empty() ? "" : " (" + reason + ")"; }

// The file must still be what was registered and parse as a booster: a rollback to a file
// that cannot be served would leave production broken.
Status VerifyLoadable(const ModelVersion& v) {
  Result<std::string> bytes = LoadVerifiedModel(v.file, v.sha256);
  if (!bytes.ok()) return bytes.status();
  Result<XgbBooster> booster = XgbBooster::FromUbj(*bytes);
  if (!booster.ok()) return Status::Error("model file " + v.file + ": " + booster.message());
  return Status::Ok();
}

// Whether `v` may become production; *forced tells a move that needed `force`.
Status CheckPromotable(const ModelVersion& v, const std::optional<ModelVersion>& production,
                       bool force, bool* forced) {
  *forced = false;
  const std::string name = VersionName(v.id);
  if (production && production->id == v.id) return Status::Error(name + " is already production");
  if (v.status == "deleted") {
    return Status::Error(name + " is deleted" + Why(v.reason) +
                         ": its file is gone, so it cannot be promoted");
  }
  if (v.status == "rejected" || v.status == "archived") {
    if (!force) {
      return Status::Error(name + " is " + v.status + Why(v.reason) + "; promote it with --force " +
                           (v.status == "rejected" ? "to override the gate" : "to bring it back"));
    }
    *forced = true;
  }
  return Status::Ok();
}

// The version production was moved away from by the row that made `current` production;
// none for a first version.
Result<std::optional<std::int64_t>> PreviousProduction(SqliteDb& db, const std::string& model,
                                                       const std::string& segment,
                                                       std::int64_t current) {
  SqliteStatement st = db.Prepare(std::string("SELECT from_version FROM model_audit WHERE model = "
                                              "?1 AND segment = ?2 AND to_version = ?3 AND ") +
                                  kMoveActions + " ORDER BY id DESC LIMIT 1");
  st.Bind(1, model).Bind(2, segment).Bind(3, current);
  Result<bool> row = st.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::int64_t>();
  return st.OptInt64(0);
}

struct Move {
  std::string model, segment;
  std::optional<std::int64_t> from;
  std::int64_t to = 0;
  std::string from_reason;  // the old production's new status reason
  std::string reason;       // the audit row's, and the new production's status reason
  std::string action;
  std::string actor;
  std::int64_t at = 0;
};

// The statements of one pointer move; the caller holds the transaction.
Result<AuditRecord> ApplyMove(SqliteDb& db, const Move& m) {
  if (m.from) {
    SqliteStatement st =
        db.Prepare("UPDATE model_versions SET status = 'archived', reason = ?2 WHERE id = ?1");
    st.Bind(1, *m.from).Bind(2, m.from_reason);
    if (Status e = st.Run(); !e.ok()) return e;
  }
  {
    SqliteStatement st =
        db.Prepare("UPDATE model_versions SET status = 'production', reason = ?2 WHERE id = ?1");
    st.Bind(1, m.to).Bind(2, m.reason);
    if (Status e = st.Run(); !e.ok()) return e;
  }
  {
    SqliteStatement st = db.Prepare(
        "INSERT INTO model_production (model, segment, version_id, since) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (model, segment) DO UPDATE SET "
        "version_id = excluded.version_id, since = excluded.since");
    st.Bind(1, m.model).Bind(2, m.segment).Bind(3, m.to).Bind(4, m.at);
    if (Status e = st.Run(); !e.ok()) return e;
  }
  SqliteStatement st = db.Prepare(
      "INSERT INTO model_audit (at, model, segment, from_version, to_version, action, reason, "
      "actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  st.Bind(1, m.at)
      .Bind(2, m.model)
      .Bind(3, m.segment)
      .Bind(4, m.from)
      .Bind(5, m.to)
      .Bind(6, m.action)
      .Bind(7, m.reason)
      .Bind(8, m.actor);
  if (Status e = st.Run(); !e.ok()) return e;
  return AuditRecord{
      db.LastInsertRowid(), m.at, m.model, m.segment, m.from, m.to, m.action, m.reason, m.actor};
}

}  // namespace

Result<MoveResult> Registry::Promote(std::int64_t version, const std::string& actor,
                                     const std::string& reason, bool force, std::int64_t now) {
  Result<std::optional<ModelVersion>> found = Get(version);
  if (!found.ok()) return found.status();
  if (!*found) return Status::Error("no " + VersionName(version));
  const ModelVersion& v = **found;
  Result<std::optional<ModelVersion>> production = Production(v.model, v.segment);
  if (!production.ok()) return production.status();
  bool forced = false;
  if (Status s = CheckPromotable(v, *production, force, &forced); !s.ok()) return s;
  if (Status s = VerifyLoadable(v); !s.ok()) {
    return Status::Error("cannot promote " + VersionName(version) + ": " + s.message() +
                         "; production unchanged");
  }

  MoveResult result;
  Status s = db_->Transaction([&]() -> Status {
    // Read again under the write lock: another process may have moved things meanwhile.
    Result<std::optional<ModelVersion>> now_v = Get(version);
    if (!now_v.ok()) return now_v.status();
    Result<std::optional<ModelVersion>> now_prod = Production(v.model, v.segment);
    if (!now_prod.ok()) return now_prod.status();
    if (Status e = CheckPromotable(**now_v, *now_prod, force, &forced); !e.ok()) return e;
    Move m;
    m.model = v.model;
    m.segment = v.segment;
    if (*now_prod) m.from = (*now_prod)->id;
    m.to = version;
    m.from_reason = "replaced by " + VersionName(version);
    m.reason = reason.empty() ? "manual promotion" : reason;
    // The version's own reason is overwritten below, so the verdict overridden is kept here.
    if (forced)
      m.reason = "forced: " + m.reason + "; it was " + (*now_v)->status + Why((*now_v)->reason);
    m.action = "promote";
    m.actor = actor;
    m.at = now;
    result.previous_status = (*now_v)->status;
    Result<AuditRecord> audit = ApplyMove(*db_, m);
    if (!audit.ok()) return audit.status();
    result.audit = std::move(*audit);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return result;
}

Result<MoveResult> Registry::Rollback(const std::string& model, const std::string& segment,
                                      const std::string& actor, std::int64_t now) {
  const std::string label = ModelLabel(model, segment);
  // The current production and the target, or why there is none.
  auto find = [&](ModelVersion* current, ModelVersion* target) -> Status {
    Result<std::optional<ModelVersion>> production = Production(model, segment);
    if (!production.ok()) return production.status();
    if (!*production) return Status::Error(label + " has no production version to roll back");
    *current = **production;
    Result<std::optional<std::int64_t>> previous =
        PreviousProduction(*db_, model, segment, current->id);
    if (!previous.ok()) return previous.status();
    const std::string none = label + " has no previous production version to roll back to";
    if (!*previous) return Status::Error(none);
    Result<std::optional<ModelVersion>> found = Get(**previous);
    if (!found.ok()) return found.status();
    if (!*found) return Status::Error(none + ": " + VersionName(**previous) + " does not exist");
    if ((*found)->status == "deleted") {
      return Status::Error(none + ": " + VersionName(**previous) +
                           " is deleted (its file is gone)");
    }
    *target = **found;
    return Status::Ok();
  };
  ModelVersion current, target;
  if (Status s = find(&current, &target); !s.ok()) return s;
  if (Status s = VerifyLoadable(target); !s.ok()) {
    return Status::Error("cannot roll back " + label + " to " + VersionName(target.id) + ": " +
                         s.message() + "; production unchanged");
  }

  MoveResult result;
  Status s = db_->Transaction([&]() -> Status {
    ModelVersion current_now, target_now;
    if (Status e = find(&current_now, &target_now); !e.ok()) return e;
    if (current_now.id != current.id || target_now.id != target.id) {
      return Status::Error("production of " + label + " moved to " + VersionName(current_now.id) +
                           " during the rollback; nothing was changed, try again");
    }
    Move m;
    m.model = model;
    m.segment = segment;
    m.from = current.id;
    m.to = target.id;
    m.from_reason = "rolled back to " + VersionName(target.id);
    m.reason = "rolled back from " + VersionName(current.id);
    m.action = "rollback";
    m.actor = actor;
    m.at = now;
    result.previous_status = target_now.status;
    Result<AuditRecord> audit = ApplyMove(*db_, m);
    if (!audit.ok()) return audit.status();
    result.audit = std::move(*audit);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return result;
}

namespace {

// Pin (pinned = 1) or unpin (0) with its audit row; the checks run under the write lock.
Status SetPinned(Registry& registry, std::int64_t version, bool pin, const std::string& actor,
                 std::int64_t now) {
  SqliteDb& db = registry.db();
  return db.Transaction([&]() -> Status {
    Result<std::optional<ModelVersion>> found = registry.Get(version);
    if (!found.ok()) return found.status();
    if (!*found) return Status::Error("no " + VersionName(version));
    const ModelVersion& v = **found;
    Result<bool> pinned = registry.Pinned(version);
    if (!pinned.ok()) return pinned.status();
    const std::string name = VersionName(version);
    if (pin && *pinned) return Status::Error(name + " is already pinned");
    if (!pin && !*pinned) return Status::Error(name + " is not pinned");
    if (pin && v.status == "deleted") {
      return Status::Error(name + " is deleted (its file is gone); there is nothing to pin");
    }
    {
      SqliteStatement st = db.Prepare("UPDATE model_versions SET pinned = ?2 WHERE id = ?1");
      st.Bind(1, version).Bind(2, pin ? 1 : 0);
      if (Status e = st.Run(); !e.ok()) return e;
    }
    SqliteStatement st = db.Prepare(
        "INSERT INTO model_audit (at, model, segment, from_version, to_version, action, reason, "
        "actor) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)");
    st.Bind(1, now)
        .Bind(2, v.model)
        .Bind(3, v.segment)
        .Bind(4, version)
        .Bind(5, pin ? "pin" : "unpin")
        .Bind(6,
              pin ? "pinned: retention keeps its file" : "unpinned: retention may remove its file")
        .Bind(7, actor);
    return st.Run();
  });
}

}  // namespace

Status Registry::Pin(std::int64_t version, const std::string& actor, std::int64_t now) {
  return SetPinned(*this, version, true, actor, now);
}

Status Registry::Unpin(std::int64_t version, const std::string& actor, std::int64_t now) {
  return SetPinned(*this, version, false, actor, now);
}

Result<bool> Registry::Pinned(std::int64_t version) {
  SqliteStatement st = db_->Prepare("SELECT pinned FROM model_versions WHERE id = ?1");
  st.Bind(1, version);
  Result<bool> row = st.Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Error("no " + VersionName(version));
  return st.Int64(0) != 0;
}

Result<std::vector<AuditRecord>> Registry::Audit(const std::string& model,
                                                 const std::string& segment, int limit) {
  // Newest by `at`, then id: replay registers versions at simulated times, so ids alone need
  // not follow time.
  std::string sql = std::string("SELECT ") + kAuditColumns + " FROM model_audit WHERE model = ?1";
  if (!segment.empty()) sql += " AND segment = ?2";
  sql += " ORDER BY at DESC, id DESC LIMIT ?3";
  SqliteStatement st = db_->Prepare(sql);
  st.Bind(1, model);
  if (!segment.empty()) st.Bind(2, segment);
  st.Bind(3, limit > 0 ? limit : -1);
  return ReadAuditRows(st);
}

Result<std::optional<AuditRecord>> Registry::ProductionAt(const std::string& model,
                                                          const std::string& segment,
                                                          std::int64_t at) {
  // By `at`, then id: replay registers versions at simulated times, so ids alone need not
  // follow time.
  SqliteStatement st = db_->Prepare(std::string("SELECT ") + kAuditColumns +
                                    " FROM model_audit WHERE model = ?1 AND segment = ?2 AND "
                                    "at <= ?3 AND to_version IS NOT NULL AND " +
                                    kMoveActions + " ORDER BY at DESC, id DESC LIMIT 1");
  st.Bind(1, model).Bind(2, segment).Bind(3, at);
  Result<std::vector<AuditRecord>> rows = ReadAuditRows(st);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<AuditRecord>();
  return std::optional<AuditRecord>(std::move(rows->front()));
}

Result<std::vector<std::string>> Registry::Segments(const std::string& model) {
  SqliteStatement st =
      db_->Prepare("SELECT DISTINCT segment FROM model_versions WHERE model = ?1 ORDER BY segment");
  st.Bind(1, model);
  std::vector<std::string> out;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(st.Text(0));
  }
}

}  // namespace mlcron
