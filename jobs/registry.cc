#include "jobs/registry.h"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "daemon/state_db.h"

namespace mlcron {
namespace {

// Each window bound is read with its typeof() so a value comes back with the type it was
// stored with (see migration 2).
constexpr const char* kVersionColumns =
    "v.id, v.model, v.segment, v.parent, v.kind, v.fingerprint, v.fingerprint_text, "
    "v.params_json, v.features_json, v.objective, v.num_class, v.trees, v.rows, "
    "typeof(v.train_from), v.train_from, typeof(v.train_to), v.train_to, "
    "typeof(v.holdout_from), v.holdout_from, typeof(v.holdout_to), v.holdout_to, "
    "v.holdout_rows, v.duration_s, v.file, v.sha256, v.status, v.reason, v.created_at, v.chain, "
    "v.full_at, v.run_id, v.metrics_json";

constexpr const char* kDecisionColumns =
    "id, model, segment, run_id, decided_at, decision, summary, new_rows, version_id";

std::int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// SqlValue's own Bind/FromColumn take a raw sqlite3_stmt; the registry goes through
// SqliteStatement, whose typed binds and getters keep each value's storage class.
void BindValue(SqliteStatement& st, int index, const SqlValue& v) {
  switch (v.type) {
    case SqlValue::Type::kNull:
      st.BindNull(index);
      break;
    case SqlValue::Type::kInteger:
      st.Bind(index, v.i);
      break;
    case SqlValue::Type::kReal:
      st.Bind(index, v.r);
      break;
    case SqlValue::Type::kText:
      st.Bind(index, std::string_view(v.s));
      break;
  }
}

// `type_col` holds typeof() of the value in `col`.
SqlValue ReadValue(const SqliteStatement& st, int type_col, int col) {
  SqlValue v;
  const std::string type = st.Text(type_col);
  if (type == "integer") {
    v.type = SqlValue::Type::kInteger;
    v.i = st.Int64(col);
  } else if (type == "real") {
    v.type = SqlValue::Type::kReal;
    v.r = st.Double(col);
  } else if (type != "null") {  // text; a blob written by hand reads as its bytes
    v.type = SqlValue::Type::kText;
    v.s = st.Text(col);
  }
  return v;
}

Result<ModelVersion> ReadVersion(SqliteDb& db, const SqliteStatement& st) {
  ModelVersion v;
  v.id = st.Int64(0);
  v.model = st.Text(1);
  v.segment = st.Text(2);
  v.parent = st.OptInt64(3);
  v.kind = st.Text(4);
  v.fingerprint = st.Text(5);
  v.fingerprint_text = st.Text(6);
  v.params_json = st.Text(7);
  const std::string features = st.Text(8);
  nlohmann::json parsed = nlohmann::json::parse(features, nullptr, false);
  bool ok = parsed.is_array();
  for (const auto& f : parsed) {
    if (!ok || !f.is_string()) {
      ok = false;
      break;
    }
    v.features.push_back(f.get<std::string>());
  }
  if (!ok) {
    return db.Error("model_versions row " + std::to_string(v.id) +
                    ": features_json is not a JSON array of names: " + features);
  }
  v.objective = st.Text(9);
  v.num_class = static_cast<int>(st.Int64(10));
  v.trees = static_cast<int>(st.Int64(11));
  v.rows = st.Int64(12);
  v.train_from = ReadValue(st, 13, 14);
  v.train_to = ReadValue(st, 15, 16);
  v.holdout_from = ReadValue(st, 17, 18);
  v.holdout_to = ReadValue(st, 19, 20);
  v.holdout_rows = st.Int64(21);
  v.duration_s = st.Double(22);
  v.file = st.Text(23);
  v.sha256 = st.Text(24);
  v.status = st.Text(25);
  v.reason = st.Text(26);
  v.created_at = st.Int64(27);
  v.chain = static_cast<int>(st.Int64(28));
  v.full_at = st.Int64(29);
  v.run_id = st.Text(30);
  v.metrics_json = st.Text(31);
  return v;
}

Result<std::vector<ModelVersion>> ReadVersions(SqliteDb& db, SqliteStatement& st) {
  std::vector<ModelVersion> out;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    Result<ModelVersion> v = ReadVersion(db, st);
    if (!v.ok()) return v.status();
    out.push_back(std::move(*v));
  }
}

Result<std::optional<ModelVersion>> ReadOptionalVersion(SqliteDb& db, SqliteStatement& st) {
  Result<std::vector<ModelVersion>> all = ReadVersions(db, st);
  if (!all.ok()) return all.status();
  if (all->empty()) return std::optional<ModelVersion>();
  return std::optional<ModelVersion>(std::move(all->front()));
}

std::string SegmentName(const ModelVersion& v) {
  return v.segment.empty() ? v.model : v.model + "/" + v.segment;
}

// What AddVersion refuses before touching the database: the file must be named (the row is
// written only after the file is durable) and a new row starts as an attempt's status.
Status CheckNewVersion(const SqliteDb& db, const ModelVersion& v, bool promote) {
  const std::string what = "model_versions: new version of " + SegmentName(v) + ": ";
  if (v.model.empty()) return db.Error("model_versions: new version has no model name");
  if (v.kind.empty()) return db.Error(what + "kind is empty (full or incremental)");
  if (v.file.empty() || v.sha256.empty()) {
    return db.Error(what + "file and sha256 are required (store the model file first)");
  }
  if (!promote && v.status != "candidate" && v.status != "rejected" && !v.status.empty()) {
    return db.Error(what + "cannot start as \"" + v.status +
                    "\" (candidate or rejected, or promote it)");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Registry>> Registry::Open(const Config& config) {
  const std::string path = config.state_dir + "/mlcron.db";
  std::error_code ec;
  std::filesystem::create_directories(config.state_dir, ec);
  if (ec) {
    return Status::Error("state database " + path + ": cannot create its folder: " + ec.message());
  }
  // Jobs and the CLI may wait longer than the daemon's loop would for a lock.
  Result<std::unique_ptr<SqliteDb>> db =
      OpenStateDb(path, std::chrono::seconds(10), /*integrity_check=*/false);
  if (!db.ok()) return db.status();
  return std::make_unique<Registry>(std::move(*db));
}

Registry::Registry(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

Result<std::optional<ModelVersion>> Registry::Production(const std::string& model,
                                                         const std::string& segment) {
  SqliteStatement st = db_->Prepare(std::string("SELECT ") + kVersionColumns +
                                    " FROM model_production p JOIN model_versions v "
                                    "ON v.id = p.version_id WHERE p.model = ?1 AND p.segment = ?2");
  st.Bind(1, model).Bind(2, segment);
  return ReadOptionalVersion(*db_, st);
}

Result<std::optional<ModelVersion>> Registry::LastAttempt(const std::string& model,
                                                          const std::string& segment) {
  SqliteStatement st = db_->Prepare(std::string("SELECT ") + kVersionColumns +
                                    " FROM model_versions v WHERE v.model = ?1 AND "
                                    "v.segment = ?2 ORDER BY v.id DESC LIMIT 1");
  st.Bind(1, model).Bind(2, segment);
  return ReadOptionalVersion(*db_, st);
}

Result<std::optional<std::int64_t>> Registry::LastFullAttemptAt(const std::string& model,
                                                                const std::string& segment) {
  SqliteStatement st = db_->Prepare(
      "SELECT max(created_at) FROM model_versions WHERE model = ?1 AND segment = ?2 AND "
      "kind = 'full'");
  st.Bind(1, model).Bind(2, segment);
  Result<bool> row = st.Step();
  if (!row.ok()) return row.status();
  return *row ? st.OptInt64(0) : std::optional<std::int64_t>();
}

Result<std::optional<ModelVersion>> Registry::Get(std::int64_t id) {
  SqliteStatement st = db_->Prepare(std::string("SELECT ") + kVersionColumns +
                                    " FROM model_versions v WHERE v.id = ?1");
  st.Bind(1, id);
  return ReadOptionalVersion(*db_, st);
}

Result<std::vector<ModelVersion>> Registry::List(const std::string& model,
                                                 const std::string& segment, int limit) {
  // One SQL text per filter shape so the (model, segment, id) index stays usable.
  std::string sql = std::string("SELECT ") + kVersionColumns + " FROM model_versions v";
  if (!model.empty()) sql += " WHERE v.model = ?1";
  if (!segment.empty()) sql += model.empty() ? " WHERE v.segment = ?2" : " AND v.segment = ?2";
  sql += " ORDER BY v.id DESC LIMIT ?3";
  SqliteStatement st = db_->Prepare(sql);
  if (!model.empty()) st.Bind(1, model);
  if (!segment.empty()) st.Bind(2, segment);
  st.Bind(3, limit > 0 ? limit : -1);  // a negative LIMIT means none
  return ReadVersions(*db_, st);
}

Result<std::int64_t> Registry::AddVersion(ModelVersion v, bool promote, const std::string& actor) {
  if (Status s = CheckNewVersion(*db_, v, promote); !s.ok()) return s;
  if (v.created_at == 0) v.created_at = NowSeconds();
  if (v.kind == "full" && v.full_at == 0) v.full_at = v.created_at;
  if (promote) {
    v.status = "production";
  } else if (v.status.empty()) {
    v.status = "candidate";
  }
  nlohmann::json features = v.features;

  std::int64_t id = 0;
  Status s = db_->Transaction([&]() -> Status {
    std::optional<std::int64_t> old;
    if (promote) {
      SqliteStatement st =
          db_->Prepare("SELECT version_id FROM model_production WHERE model = ?1 AND segment = ?2");
      st.Bind(1, v.model).Bind(2, v.segment);
      Result<bool> row = st.Step();
      if (!row.ok()) return row.status();
      if (*row) old = st.Int64(0);
    }
    {
      SqliteStatement st = db_->Prepare(
          "INSERT INTO model_versions (model, segment, parent, kind, fingerprint, "
          "fingerprint_text, params_json, features_json, objective, num_class, trees, rows, "
          "train_from, train_to, holdout_from, holdout_to, holdout_rows, duration_s, file, "
          "sha256, status, reason, created_at, chain, full_at, run_id, metrics_json) VALUES "
          "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
          "?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)");
      st.Bind(1, v.model)
          .Bind(2, v.segment)
          .Bind(3, v.parent)
          .Bind(4, v.kind)
          .Bind(5, v.fingerprint)
          .Bind(6, v.fingerprint_text)
          .Bind(7, v.params_json)
          .Bind(8, features.dump())
          .Bind(9, v.objective)
          .Bind(10, v.num_class)
          .Bind(11, v.trees)
          .Bind(12, v.rows);
      BindValue(st, 13, v.train_from);
      BindValue(st, 14, v.train_to);
      BindValue(st, 15, v.holdout_from);
      BindValue(st, 16, v.holdout_to);
      st.Bind(17, v.holdout_rows)
          .Bind(18, v.duration_s)
          .Bind(19, v.file)
          .Bind(20, v.sha256)
          .Bind(21, v.status)
          .Bind(22, v.reason)
          .Bind(23, v.created_at)
          .Bind(24, v.chain)
          .Bind(25, v.full_at)
          .Bind(26, v.run_id)
          .Bind(27, v.metrics_json);
      if (Status e = st.Run(); !e.ok()) return e;
      id = db_->LastInsertRowid();
    }
    if (!promote) return Status::Ok();
    if (old) {
      SqliteStatement st =
          db_->Prepare("UPDATE model_versions SET status = 'archived', reason = ?2 WHERE id = ?1");
      st.Bind(1, *old).Bind(2, "replaced by version " + std::to_string(id));
      if (Status e = st.Run(); !e.ok()) return e;
    }
    {
      SqliteStatement st = db_->Prepare(
          "INSERT INTO model_production (model, segment, version_id, since) "
          "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (model, segment) DO UPDATE SET "
          "version_id = excluded.version_id, since = excluded.since");
      st.Bind(1, v.model).Bind(2, v.segment).Bind(3, id).Bind(4, v.created_at);
      if (Status e = st.Run(); !e.ok()) return e;
    }
    SqliteStatement st = db_->Prepare(
        "INSERT INTO model_audit (at, model, segment, from_version, to_version, action, "
        "reason, actor) VALUES (?1, ?2, ?3, ?4, ?5, 'promote', ?6, ?7)");
    st.Bind(1, v.created_at)
        .Bind(2, v.model)
        .Bind(3, v.segment)
        .Bind(4, old)
        .Bind(5, id)
        .Bind(6, v.reason)
        .Bind(7, actor);
    return st.Run();
  });
  if (!s.ok()) return s;
  return id;
}

Status Registry::RecordDecision(const DecisionRecord& d) {
  return db_->Transaction([&]() -> Status {
    SqliteStatement st = db_->Prepare(
        "INSERT INTO retrain_decisions (model, segment, run_id, decided_at, decision, summary, "
        "new_rows, version_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    st.Bind(1, d.model)
        .Bind(2, d.segment)
        .Bind(3, d.run_id)
        .Bind(4, d.decided_at)
        .Bind(5, d.decision)
        .Bind(6, d.summary)
        .Bind(7, d.new_rows)
        .Bind(8, d.version);
    return st.Run();
  });
}

Result<std::vector<DecisionRecord>> Registry::Decisions(const std::string& model, int limit) {
  std::string sql = std::string("SELECT ") + kDecisionColumns + " FROM retrain_decisions";
  if (!model.empty()) sql += " WHERE model = ?1";
  sql += " ORDER BY id DESC LIMIT ?2";
  SqliteStatement st = db_->Prepare(sql);
  if (!model.empty()) st.Bind(1, model);
  st.Bind(2, limit > 0 ? limit : -1);
  std::vector<DecisionRecord> out;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    DecisionRecord d;
    d.id = st.Int64(0);
    d.model = st.Text(1);
    d.segment = st.Text(2);
    d.run_id = st.Text(3);
    d.decided_at = st.Int64(4);
    d.decision = st.Text(5);
    d.summary = st.Text(6);
    d.new_rows = st.Int64(7);
    d.version = st.OptInt64(8);
    out.push_back(std::move(d));
  }
}

Result<std::vector<AuditRecord>> Registry::AuditOf(std::int64_t version) {
  SqliteStatement st = db_->Prepare(std::string("SELECT ") + kAuditColumns +
                                    " FROM model_audit WHERE from_version = ?1 OR "
                                    "to_version = ?1 ORDER BY id");
  st.Bind(1, version);
  return ReadAuditRows(st);
}

Result<std::vector<AuditRecord>> ReadAuditRows(SqliteStatement& st) {
  std::vector<AuditRecord> out;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    AuditRecord a;
    a.id = st.Int64(0);
    a.at = st.Int64(1);
    a.model = st.Text(2);
    a.segment = st.Text(3);
    a.from_version = st.OptInt64(4);
    a.to_version = st.OptInt64(5);
    a.action = st.Text(6);
    a.reason = st.Text(7);
    a.actor = st.Text(8);
    out.push_back(std::move(a));
  }
}

}  // namespace mlcron
