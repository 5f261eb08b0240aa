// Scoring signals whose labels have arrived (data database → live_scores in mlcron.db), and
// reading the rows back. The summaries and the drift rule are in live_drift.cc.
#include "jobs/live_scores.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "jobs/dataset.h"
#include "jobs/dataset_sql.h"
#include "jobs/job_context.h"

namespace mlcron {
namespace {

using dataset_sql::Ident;
using dataset_sql::Shown;

struct OutputColumns {
  bool exists = false;
  bool has_live = false;
  std::vector<int> classes;  // k of every p_k column, ascending
};

Result<OutputColumns> ReadOutputColumns(SqliteDb& data, const std::string& table) {
  OutputColumns out;
  std::vector<std::string> names;
  SqliteStatement info = data.Prepare("SELECT name FROM pragma_table_info(?)");
  info.Bind(1, std::string_view(table));
  for (;;) {
    Result<bool> row = info.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.exists = true;
    const std::string name = info.Text(0);
    names.push_back(name);
    if (name == "live_scored_at") out.has_live = true;
    if (name.size() > 2 && name.compare(0, 2, "p_") == 0 &&
        std::all_of(name.begin() + 2, name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      out.classes.push_back(std::atoi(name.c_str() + 2));
    }
  }
  std::sort(out.classes.begin(), out.classes.end());
  if (!out.exists) return out;
  for (const char* needed : {"key", "segment", "model", "version", "prediction", "scheduled"}) {
    if (std::find(names.begin(), names.end(), needed) == names.end()) {
      return data.Error("output table \"" + table + "\" has no column \"" + needed +
                        "\"; it is not a signals table (use another output name)");
    }
  }
  return out;
}

// A signals table written before live scoring existed gains the column; the partial index
// keeps finding the unscored rows of a model cheap however long the table grows.
Status PrepareLiveColumn(SqliteDb& data, const std::string& table, bool has_live) {
  return data.Transaction([&]() -> Status {
    if (!has_live) {
      if (Status s = data.Exec("ALTER TABLE " + Ident(table) + " ADD COLUMN live_scored_at TEXT");
          !s.ok()) {
        return s;
      }
    }
    return data.Exec("CREATE INDEX IF NOT EXISTS " + Ident(table + "_mlcron_live") + " ON " +
                     Ident(table) + " (model, key) WHERE live_scored_at IS NULL");
  });
}

// The label as stored: a number, or text that is wholly one (CSV imports store TEXT).
Result<float> LabelValue(const std::string& type, const SqliteStatement& st, int col,
                         const std::string& where) {
  if (type == "integer" || type == "real") return static_cast<float>(st.Double(col));
  const std::string text = st.Text(col);
  const std::string_view trimmed = dataset_sql::TrimSpace(text);
  if (type == "text" && !trimmed.empty()) {
    const std::string s(trimmed);
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() + s.size() && errno == 0) return static_cast<float>(v);
  }
  return Status::Error(where + ": label " + Shown(text) + " is not a number");
}

// What the model said for the row, in the shape ComputeMetrics takes for `objective`.
Result<std::vector<float>> PredictionOf(const std::string& objective, const OutputColumns& cols,
                                        const SqliteStatement& st, int first_p,
                                        const std::string& where) {
  std::vector<float> p;
  if (objective == "multi:softprob") {
    for (size_t i = 0; i < cols.classes.size() && cols.classes[i] == static_cast<int>(i); ++i) {
      if (st.IsNull(first_p + static_cast<int>(i))) break;
      p.push_back(static_cast<float>(st.Double(first_p + static_cast<int>(i))));
    }
    if (p.empty()) return Status::Error(where + ": no class probabilities (p_0, p_1, ...)");
    return p;
  }
  if (objective == "binary:logistic") {
    for (size_t i = 0; i < cols.classes.size(); ++i) {
      if (cols.classes[i] == 1 && !st.IsNull(first_p + static_cast<int>(i))) {
        return std::vector<float>{static_cast<float>(st.Double(first_p + static_cast<int>(i)))};
      }
    }
  }
  if (st.IsNull(first_p - 1)) return Status::Error(where + ": prediction is NULL");
  return std::vector<float>{static_cast<float>(st.Double(first_p - 1))};
}

// The objective a version was trained with (its outputs' shape); the config's when the
// registry does not know the version.
Result<std::string> VersionObjective(Registry& registry, const ModelConfig& model,
                                     std::int64_t version,
                                     std::map<std::int64_t, std::string>* cache) {
  if (auto it = cache->find(version); it != cache->end()) return it->second;
  Result<std::optional<ModelVersion>> v = registry.Get(version);
  if (!v.ok()) return v.status();
  std::string objective = *v && !(*v)->objective.empty() ? (*v)->objective : model.objective;
  (*cache)[version] = objective;
  return objective;
}

// The latest unscored signal of every key of the model whose label is now present.
Result<std::vector<LiveScore>> FindArrived(const ModelConfig& model, SqliteDb& data,
                                           Registry& registry, const std::string& output,
                                           const OutputColumns& cols, const std::string& now) {
  const DatasetSpec spec = DatasetSpec::FromModel(model);
  std::string probs;
  for (int k : cols.classes) probs += ", " + Ident("p_" + std::to_string(k));
  // row_number picks the newest signal per key (a rerun of the same occurrence: the later
  // row). The join compares with SQLite's affinity rules, so an INTEGER key in the source
  // matches the TEXT key of the signals table.
  const std::string sql =
      "WITH latest AS (SELECT key, segment, version, scheduled, prediction" + probs +
      ", row_number() OVER (PARTITION BY key ORDER BY scheduled DESC, rowid DESC) AS rn FROM " +
      Ident(output) +
      " WHERE model = ?1 AND live_scored_at IS NULL) "
      "SELECT l.key, l.segment, l.version, l.scheduled, typeof(s.mlcron_label), "
      "s.mlcron_label, l.prediction" +
      probs + " FROM latest l JOIN (SELECT " + Ident(model.key) + " AS mlcron_key, " +
      Ident(model.label) + " AS mlcron_label FROM " + dataset_sql::From(spec) + " WHERE " +
      Ident(model.label) +
      " IS NOT NULL) s ON s.mlcron_key = l.key WHERE l.rn = 1 ORDER BY l.scheduled, l.key";
  DatasetSpec columns = spec;  // only the key and label are read here
  columns.features.clear();
  columns.segment_by.clear();
  if (Status s = dataset_sql::CheckColumns(data, columns); !s.ok()) return s;
  SqliteStatement st = data.Prepare(sql);
  st.Bind(1, std::string_view(model.name));
  std::vector<LiveScore> out;
  std::set<std::string> seen;  // a query source may hold a key twice
  std::map<std::int64_t, std::string> objectives;
  for (;;) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    LiveScore s;
    s.model = model.name;
    s.key = st.Text(0);
    if (!seen.insert(s.key).second) continue;
    s.segment = st.Text(1);
    s.version = st.Int64(2);
    s.signal_at = st.Text(3);
    s.scored_at = now;
    const std::string key_where = "key " + Shown(s.key);
    Result<float> label = LabelValue(st.Text(4), st, 5, spec.SourceName() + ": " + key_where);
    if (!label.ok()) return label.status();
    s.label = *label;
    Result<std::string> objective = VersionObjective(registry, model, s.version, &objectives);
    if (!objective.ok()) return objective.status();
    Result<std::vector<float>> p =
        PredictionOf(*objective, cols, st, 7,
                     "signals table " + output + ": " + key_where + " (version " +
                         std::to_string(s.version) + ", " + *objective + ")");
    if (!p.ok()) return p.status();
    s.prediction = std::move(*p);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::int64_t> CountAwaiting(SqliteDb& data, const ModelConfig& model,
                                   const std::string& output) {
  SqliteStatement st = data.Prepare("SELECT count(DISTINCT key) FROM " + Ident(output) +
                                    " WHERE model = ?1 AND live_scored_at IS NULL");
  st.Bind(1, std::string_view(model.name));
  Result<bool> row = st.Step();
  if (!row.ok()) return row.status();
  return *row ? st.Int64(0) : 0;
}

// Floats written as floats ("[0.8]", not "[0.800000011920929]"): a json whose number type
// is float prints the shortest text that reads back to the same float.
using FloatJson = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t,
                                       std::uint64_t, float>;
std::string PredictionJson(const std::vector<float>& p) { return FloatJson(p).dump(); }

// nullopt unless `text` is a non-empty JSON array of numbers.
std::optional<std::vector<float>> ParsePrediction(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array() || j.empty()) return std::nullopt;
  std::vector<float> out;
  for (const nlohmann::json& v : j) {
    if (!v.is_number()) return std::nullopt;
    out.push_back(v.get<float>());
  }
  return out;
}

}  // namespace

Result<LiveScoringStats> ScoreArrivedLabels(const ModelConfig& model, SqliteDb& data,
                                            Registry& registry, const std::string& output,
                                            std::chrono::system_clock::time_point now) {
  LiveScoringStats stats;
  Result<OutputColumns> cols = ReadOutputColumns(data, output);
  if (!cols.ok()) return cols.status();
  if (!cols->exists) return stats;  // no signal was ever written
  if (Status s = PrepareLiveColumn(data, output, cols->has_live); !s.ok()) return s;

  Result<std::vector<LiveScore>> arrived =
      FindArrived(model, data, registry, output, *cols, IsoUtc(now));
  if (!arrived.ok()) return arrived.status();

  if (!arrived->empty()) {
    // State first: should the process die before the signals are marked, the next call finds
    // them again and the insert below ignores what it already holds.
    SqliteDb& state = registry.db();
    Status stored = state.Transaction([&]() -> Status {
      for (const LiveScore& s : *arrived) {
        SqliteStatement insert = state.Prepare(
            "INSERT OR IGNORE INTO live_scores (model, segment, key, version, signal_at, "
            "scored_at, label, prediction) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        insert.Bind(1, std::string_view(s.model))
            .Bind(2, std::string_view(s.segment))
            .Bind(3, std::string_view(s.key))
            .Bind(4, s.version)
            .Bind(5, std::string_view(s.signal_at))
            .Bind(6, std::string_view(s.scored_at))
            .Bind(7, static_cast<double>(s.label))
            .Bind(8, std::string_view(PredictionJson(s.prediction)));
        if (Status st = insert.Run(); !st.ok()) return st.WithContext("live_scores: ");
        stats.scored += state.Changes();
      }
      return Status::Ok();
    });
    if (!stored.ok()) return stored;

    const std::string scored_at = IsoUtc(now);
    Status marked = data.Transaction([&]() -> Status {
      for (const LiveScore& s : *arrived) {
        SqliteStatement update =
            data.Prepare("UPDATE " + Ident(output) +
                         " SET live_scored_at = ?1 WHERE model = ?2 AND key = ?3 AND "
                         "live_scored_at IS NULL");
        update.Bind(1, std::string_view(scored_at))
            .Bind(2, std::string_view(model.name))
            .Bind(3, std::string_view(s.key));
        if (Status st = update.Run(); !st.ok()) return st;
      }
      return Status::Ok();
    });
    if (!marked.ok()) return marked;
  }
  Result<std::int64_t> awaiting = CountAwaiting(data, model, output);
  if (!awaiting.ok()) return awaiting.status();
  stats.awaiting = *awaiting;
  return stats;
}

Result<std::vector<LiveScore>> ReadLiveScores(Registry& registry, const std::string& model,
                                              const LiveQuery& query) {
  // One SQL text per filter shape, so the (model, segment, version, signal_at) index serves it.
  std::string sql =
      "SELECT model, segment, key, version, signal_at, scored_at, label, prediction "
      "FROM live_scores WHERE model = ?1";
  if (query.segment) sql += " AND segment = ?2";
  if (query.version) sql += " AND version = ?3";
  sql +=
      query.limit > 0 ? " ORDER BY signal_at DESC, key DESC LIMIT ?4" : " ORDER BY signal_at, key";
  SqliteDb& db = registry.db();
  SqliteStatement st = db.Prepare(sql);
  st.Bind(1, std::string_view(model));
  if (query.segment) st.Bind(2, std::string_view(*query.segment));
  if (query.version) st.Bind(3, *query.version);
  if (query.limit > 0) st.Bind(4, query.limit);
  std::vector<LiveScore> out;
  for (;;) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    LiveScore s;
    s.model = st.Text(0);
    s.segment = st.Text(1);
    s.key = st.Text(2);
    s.version = st.Int64(3);
    s.signal_at = st.Text(4);
    s.scored_at = st.Text(5);
    s.label = static_cast<float>(st.Double(6));
    const std::string text = st.Text(7);
    std::optional<std::vector<float>> p = ParsePrediction(text);
    if (!p) {
      return db.Error("live_scores: model " + model + " key " + Shown(s.key) + ": prediction " +
                      Shown(text) + " is not a JSON array of numbers");
    }
    s.prediction = std::move(*p);
    out.push_back(std::move(s));
  }
  if (query.limit > 0) std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace mlcron
