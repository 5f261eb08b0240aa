#include "jobs/tuning_store.h"

#include <nlohmann/json.hpp>

namespace mlcron {
namespace {

using nlohmann::json;

constexpr const char* kStudyColumns =
    "id, model, segment, method, seed, metric, trials, config_json, rows, started_at, "
    "finished_at, status, best_trial, best_value, applied_at, run_id, actor, baseline_value, "
    "verdict";

std::string ParamsJson(const ParamTexts& params) { return json(params).dump(); }

Result<ParamTexts> ParseParams(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Error("bad params_json: " + text);
  ParamTexts out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return Status::Error("bad params_json: " + text);
    out[k] = v.get<std::string>();
  }
  return out;
}

std::optional<double> OptDouble(const SqliteStatement& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  return st.Double(col);
}

StudyRecord ReadStudy(const SqliteStatement& st) {
  StudyRecord s;
  s.id = st.Int64(0);
  s.model = st.Text(1);
  s.segment = st.Text(2);
  s.method = st.Text(3);
  s.seed = static_cast<std::uint64_t>(st.Int64(4));
  s.metric = st.Text(5);
  s.trials = static_cast<int>(st.Int64(6));
  s.config_json = st.Text(7);
  s.rows = st.Int64(8);
  s.started_at = st.Int64(9);
  s.finished_at = st.OptInt64(10);
  s.status = st.Text(11);
  if (auto b = st.OptInt64(12)) s.best_trial = static_cast<int>(*b);
  s.best_value = OptDouble(st, 13);
  s.applied_at = st.OptInt64(14);
  s.run_id = st.Text(15);
  s.actor = st.Text(16);
  s.baseline_value = OptDouble(st, 17);
  s.verdict = st.Text(18);
  return s;
}

Result<std::vector<StudyRecord>> ReadStudies(SqliteStatement& st) {
  std::vector<StudyRecord> out;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(ReadStudy(st));
  }
}

}  // namespace

Result<std::int64_t> TuningStore::CreateStudy(const StudyRecord& s) {
  std::int64_t id = 0;
  Status status = db_->Transaction([&]() -> Status {
    SqliteStatement st = db_->Prepare(
        "INSERT INTO tuning_studies (model, segment, method, seed, metric, trials, config_json, "
        "rows, started_at, status, run_id, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    st.Bind(1, s.model)
        .Bind(2, s.segment)
        .Bind(3, s.method)
        .Bind(4, static_cast<std::int64_t>(s.seed))
        .Bind(5, s.metric)
        .Bind(6, s.trials)
        .Bind(7, s.config_json)
        .Bind(8, s.rows)
        .Bind(9, s.started_at)
        .Bind(10, s.status)
        .Bind(11, s.run_id)
        .Bind(12, s.actor);
    if (Status e = st.Run(); !e.ok()) return e;
    id = db_->LastInsertRowid();
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return id;
}

Status TuningStore::AddTrial(std::int64_t study, const TrialRecord& t) {
  return db_->Transaction([&]() -> Status {
    SqliteStatement st = db_->Prepare(
        "INSERT INTO tuning_trials (study_id, number, params_json, fold_scores_json, state, "
        "value, error, duration_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    st.Bind(1, study)
        .Bind(2, t.number)
        .Bind(3, ParamsJson(t.params))
        .Bind(4, json(t.fold_scores).dump())
        .Bind(5, t.state)
        .Bind(6, t.value)
        .Bind(7, t.error)
        .Bind(8, t.duration_s);
    return st.Run();
  });
}

Status TuningStore::FinishStudy(std::int64_t study, const std::string& status,
                                std::optional<int> best_trial, std::optional<double> best_value,
                                std::int64_t at) {
  return db_->Transaction([&]() -> Status {
    SqliteStatement st = db_->Prepare(
        "UPDATE tuning_studies SET status = ?, best_trial = ?, best_value = ?, finished_at = ? "
        "WHERE id = ?");
    st.Bind(1, status).Bind(2, best_trial).Bind(3, best_value).Bind(4, at).Bind(5, study);
    if (Status e = st.Run(); !e.ok()) return e;
    if (db_->Changes() != 1) return Status::Error("no tuning study " + std::to_string(study));
    return Status::Ok();
  });
}

Status TuningStore::SetBaseline(std::int64_t study, double value) {
  SqliteStatement st = db_->Prepare("UPDATE tuning_studies SET baseline_value = ? WHERE id = ?");
  st.Bind(1, value).Bind(2, study);
  return st.Run();
}

Status TuningStore::SetVerdict(std::int64_t study, const std::string& verdict) {
  SqliteStatement st = db_->Prepare("UPDATE tuning_studies SET verdict = ? WHERE id = ?");
  st.Bind(1, verdict).Bind(2, study);
  return st.Run();
}

Result<std::optional<StudyRecord>> TuningStore::Study(std::int64_t id) {
  SqliteStatement st =
      db_->Prepare(std::string("SELECT ") + kStudyColumns + " FROM tuning_studies WHERE id = ?");
  st.Bind(1, id);
  Result<std::vector<StudyRecord>> all = ReadStudies(st);
  if (!all.ok()) return all.status();
  if (all->empty()) return std::optional<StudyRecord>();
  return std::optional<StudyRecord>(std::move(all->front()));
}

Result<std::optional<StudyRecord>> TuningStore::Unfinished(const std::string& model,
                                                           const std::string& segment) {
  SqliteStatement st = db_->Prepare(std::string("SELECT ") + kStudyColumns +
                                    " FROM tuning_studies WHERE model = ? AND segment = ? AND "
                                    "status = 'running' ORDER BY id DESC LIMIT 1");
  st.Bind(1, model).Bind(2, segment);
  Result<std::vector<StudyRecord>> all = ReadStudies(st);
  if (!all.ok()) return all.status();
  if (all->empty()) return std::optional<StudyRecord>();
  return std::optional<StudyRecord>(std::move(all->front()));
}

Result<std::vector<StudyRecord>> TuningStore::Studies(const std::string& model, int limit) {
  SqliteStatement st = db_->Prepare(std::string("SELECT ") + kStudyColumns +
                                    " FROM tuning_studies WHERE model = ? ORDER BY id DESC "
                                    "LIMIT ?");
  st.Bind(1, model).Bind(2, limit > 0 ? limit : -1);
  return ReadStudies(st);
}

Result<std::vector<TrialRecord>> TuningStore::Trials(std::int64_t study) {
  SqliteStatement st = db_->Prepare(
      "SELECT number, params_json, fold_scores_json, state, value, error, duration_s FROM "
      "tuning_trials WHERE study_id = ? ORDER BY number");
  st.Bind(1, study);
  std::vector<TrialRecord> out;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    TrialRecord t;
    t.number = static_cast<int>(st.Int64(0));
    Result<ParamTexts> params = ParseParams(st.Text(1));
    if (!params.ok()) return params.status().WithContext("tuning trial: ");
    t.params = std::move(*params);
    json scores = json::parse(st.Text(2), nullptr, false);
    if (scores.is_array()) {
      for (const json& v : scores) {
        if (v.is_number()) t.fold_scores.push_back(v.get<double>());
      }
    }
    t.state = st.Text(3);
    t.value = OptDouble(st, 4);
    t.error = st.Text(5);
    t.duration_s = st.Double(6);
    out.push_back(std::move(t));
  }
}

Status TuningStore::Apply(const std::string& model, const std::string& segment,
                          const ParamTexts& params, std::int64_t study, std::int64_t at,
                          const std::string& actor) {
  return db_->Transaction([&]() -> Status {
    SqliteStatement put = db_->Prepare(
        "INSERT INTO model_tuned_params (model, segment, params_json, study_id, applied_at, "
        "actor) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (model, segment) DO UPDATE SET "
        "params_json = excluded.params_json, study_id = excluded.study_id, applied_at = "
        "excluded.applied_at, actor = excluded.actor");
    put.Bind(1, model).Bind(2, segment).Bind(3, ParamsJson(params)).Bind(5, at).Bind(6, actor);
    if (study > 0) {
      put.Bind(4, study);
    } else {
      put.BindNull(4);
    }
    if (Status e = put.Run(); !e.ok()) return e;
    if (study <= 0) return Status::Ok();
    SqliteStatement mark = db_->Prepare("UPDATE tuning_studies SET applied_at = ? WHERE id = ?");
    mark.Bind(1, at).Bind(2, study);
    return mark.Run();
  });
}

Result<std::optional<TunedParams>> TuningStore::Tuned(const std::string& model,
                                                      const std::string& segment) {
  SqliteStatement st = db_->Prepare(
      "SELECT params_json, study_id, applied_at, actor FROM model_tuned_params WHERE model = ? "
      "AND segment = ?");
  st.Bind(1, model).Bind(2, segment);
  Result<bool> row = st.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<TunedParams>();
  TunedParams t;
  t.model = model;
  t.segment = segment;
  Result<ParamTexts> params = ParseParams(st.Text(0));
  if (!params.ok()) return params.status().WithContext("tuned params of " + model + ": ");
  t.params = std::move(*params);
  t.study_id = st.OptInt64(1);
  t.applied_at = st.Int64(2);
  t.actor = st.Text(3);
  return std::optional<TunedParams>(std::move(t));
}

}  // namespace mlcron
