#include "daemon/config_models.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "daemon/config_job_params.h"
#include "daemon/config_tuning.h"
#include "daemon/suggest.h"

namespace mlcron {
namespace {

const std::vector<std::string> kObjectives = {"binary:logistic", "multi:softprob",
                                              "reg:squarederror", "count:poisson"};

// Params mlcron sets itself; a value in `params:` would be silently overridden or would
// contradict the model's own keys.
const std::vector<std::string> kReservedParams = {"objective", "base_score", "validate_parameters",
                                                  "eval_metric"};

// "2%" or a plain fraction such as 0.02, within [0, 1].
std::optional<double> ReadFraction(const Field& f, ErrorSink* errors) {
  if (!f.value.IsScalar()) {
    errors->Add(f.pos, f.path + ": expected a percentage such as 2% or a fraction, got " +
                           Describe(f.value));
    return std::nullopt;
  }
  std::string s = f.value.Scalar();
  double scale = 1;
  if (!s.empty() && s.back() == '%') {
    s.pop_back();
    scale = 100;
  }
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) {
    errors->Add(f.pos, f.path + ": expected a percentage such as 2% or a fraction, got " +
                           Quote(f.value.Scalar()));
    return std::nullopt;
  }
  v /= scale;
  if (v < 0 || v > 1) {
    errors->Add(f.pos, f.path + ": must be between 0% and 100%, got " + Quote(f.value.Scalar()));
    return std::nullopt;
  }
  return v;
}

std::optional<std::string> Identifier(MapReader& map, std::string_view key, bool required,
                                      ErrorSink* errors) {
  const Field* f = map.Find(key);
  if (!f) {
    if (required) {
      errors->Add(map.pos(),
                  MessagePrefix(map.path()) + "missing required key \"" + std::string(key) + "\"");
    }
    return std::nullopt;
  }
  std::optional<std::string> v = ReadString(*f, errors);
  if (v && !IsSqlIdentifier(*v)) {
    errors->Add(f->pos, f->path + ": " + Quote(*v) +
                            " is not a plain SQL name (letters, digits and \"_\")");
    return std::nullopt;
  }
  return v;
}

void ReadSource(MapReader& map, ModelConfig* m, ErrorSink* errors) {
  const Field* table = map.Find("table");
  const Field* query = map.Find("query");
  if (table && query) {
    errors->Add(query->key_pos, query->path + ": give either table or query, not both");
  } else if (!table && !query) {
    errors->Add(map.pos(), MessagePrefix(map.path()) + "missing required key \"table\" (or query)");
  }
  if (table) m->table = Identifier(map, "table", false, errors).value_or("");
  if (query) {
    m->query = ReadString(*query, errors).value_or("");
    if (m->query.find_first_not_of(" \t\r\n") == std::string::npos) {
      errors->Add(query->pos, query->path + ": must not be empty");
    }
  }
  m->key = Identifier(map, "key", true, errors).value_or("");
  m->time = Identifier(map, "time", true, errors).value_or("");
  m->label = Identifier(map, "label", true, errors).value_or("");
  m->segment_by = Identifier(map, "segment_by", false, errors).value_or("");

  const Field* ff = map.Find("features");
  if (!ff) {
    errors->Add(map.pos(), MessagePrefix(map.path()) + "missing required key \"features\"");
    return;
  }
  std::optional<std::vector<Field>> items = ReadList(*ff, errors);
  if (!items) return;
  if (items->empty()) errors->Add(ff->pos, ff->path + ": must name at least one column");
  std::set<std::string> seen;
  for (const Field& item : *items) {
    std::optional<std::string> v = ReadString(item, errors);
    if (!v) continue;
    if (!IsSqlIdentifier(*v)) {
      errors->Add(item.pos, item.path + ": " + Quote(*v) +
                                " is not a plain SQL name (letters, digits and \"_\")");
    } else if (!seen.insert(*v).second) {
      errors->Add(item.pos, item.path + ": " + Quote(*v) + " is listed twice");
    } else if (*v == m->label || *v == m->key || *v == m->time) {
      errors->Add(item.pos, item.path + ": " + Quote(*v) +
                                " is the model's key, time or label; it cannot be a feature");
    }
    m->features.push_back(*v);
  }
}

void ReadParams(MapReader& map, ModelConfig* m, ErrorSink* errors) {
  bool has_tree_method = false;
  if (const Field* f = map.Find("params")) {
    if (!ExpectMap(*f, errors)) return;
    MapReader params(f->value, f->path, f->pos, errors);
    for (auto it = f->value.begin(); it != f->value.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      const std::string name = it->first.Scalar();
      const Field* pf = params.Find(name);
      if (!pf) continue;
      if (std::find(kReservedParams.begin(), kReservedParams.end(), name) !=
          kReservedParams.end()) {
        errors->Add(pf->key_pos, pf->path + ": set by mlcron; use the model's own keys");
        continue;
      }
      std::optional<std::string> value = ReadString(*pf, errors);
      if (!value) continue;
      if (name == "num_class") {
        int k = 0;
        auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), k);
        if (ec != std::errc() || end != value->data() + value->size() || k < 2) {
          errors->Add(pf->pos,
                      pf->path + ": expected an integer of at least 2, got " + Quote(*value));
        }
      }
      has_tree_method = has_tree_method || name == "tree_method";
      m->params.emplace_back(name, *value);
    }
    params.Finish();
  }
  // XGBoost 1.7's `auto` picks the slow exact method below 4M rows.
  if (!has_tree_method) m->params.emplace_back("tree_method", "hist");
}

void ReadPolicy(MapReader& map, ModelConfig* m, ErrorSink* errors) {
  if (auto v = map.Int("rounds", 1, 100000)) m->rounds = static_cast<int>(*v);
  if (auto v = map.Int("min_rows", 1, INT64_MAX)) m->min_rows = *v;
  if (auto v = map.Duration("window")) m->window = *v;
  if (auto v = map.Duration("full_every")) m->full_every = *v;
  if (auto v = map.Duration("max_age")) m->max_age = *v;
  if (auto v = map.Int("keep", 1, 100000)) m->keep = static_cast<int>(*v);
  if (auto v = map.Bool("archive")) m->archive = *v;

  const Field* inc = map.Find("incremental");
  if (inc && ExpectMap(*inc, errors)) {
    MapReader r(inc->value, inc->path, inc->pos, errors);
    if (auto v = r.Int("rounds", 1, 100000)) m->incremental.rounds = static_cast<int>(*v);
    if (auto v = r.Int("min_new_rows", 1, INT64_MAX)) m->incremental.min_new_rows = *v;
    if (auto v = r.Int("max_chain", 0, 100000)) m->incremental.max_chain = static_cast<int>(*v);
    r.Finish();
  }
  const Field* hold = map.Find("holdout");
  if (hold && ExpectMap(*hold, errors)) {
    MapReader r(hold->value, hold->path, hold->pos, errors);
    if (const Field* f = r.Find("fraction")) {
      if (auto v = ReadFraction(*f, errors)) {
        if (*v <= 0 || *v >= 1) {
          errors->Add(f->pos, f->path + ": must be more than 0% and less than 100%");
        } else {
          m->holdout.fraction = *v;
        }
      }
    }
    if (auto v = r.Int("min_rows", 1, INT64_MAX)) m->holdout.min_rows = *v;
    r.Finish();
  }
  // §7: otherwise an incremental retrain could be due yet never have a feasible holdout.
  if (static_cast<double>(m->incremental.min_new_rows) * m->holdout.fraction + 1e-9 <
      static_cast<double>(m->holdout.min_rows)) {
    errors->Add(inc ? inc->pos : map.pos(),
                MessagePrefix(map.path()) + "incremental.min_new_rows (" +
                    std::to_string(m->incremental.min_new_rows) + ") × holdout.fraction must be " +
                    "at least holdout.min_rows (" + std::to_string(m->holdout.min_rows) + ")");
  }

  if (const Field* f = map.Find("promote")) {
    if (f->value.IsScalar() && f->value.Scalar() == "manual") {
      m->promote.manual = true;
    } else if (f->value.IsMap()) {
      MapReader r(f->value, f->path, f->pos, errors);
      if (const Field* mi = r.Find("min_improvement")) {
        if (auto v = ReadFraction(*mi, errors)) m->promote.min_improvement = *v;
      }
      r.Finish();
    } else {
      errors->Add(f->pos, f->path + ": expected manual or {min_improvement: 2%}, got " +
                              Describe(f->value));
    }
  }
  const Field* drift = map.Find("drift");
  if (drift && ExpectMap(*drift, errors)) {
    MapReader r(drift->value, drift->path, drift->pos, errors);
    if (const Field* f = r.Find("max_degradation"))
      m->drift.max_degradation = ReadFraction(*f, errors);
    if (auto v = r.Int("window", 1, 10000000)) m->drift.window = *v;
    r.Finish();
  }
}

ModelConfig ReadModel(const std::string& name, const Field& f, ErrorSink* errors) {
  ModelConfig m;
  m.name = name;
  m.pos = f.key_pos;
  if (!ExpectMap(f, errors)) return m;
  MapReader map(f.value, f.path, f.pos, errors);
  ReadSource(map, &m, errors);
  if (const Field* of = map.Find("objective")) {
    if (auto v = ReadChoice(*of, kObjectives, errors)) m.objective = kObjectives[*v];
  } else {
    errors->Add(map.pos(), MessagePrefix(map.path()) + "missing required key \"objective\"");
  }
  ReadParams(map, &m, errors);
  ReadPolicy(map, &m, errors);
  m.metric = DefaultMetric(m.objective);
  if (const Field* mf = map.Find("metric")) {
    if (auto v = ReadChoice(*mf, KnownMetrics(), errors)) {
      const std::string& metric = KnownMetrics()[*v];
      if (!m.objective.empty() && IsClassificationMetric(metric) != m.IsClassifier()) {
        errors->Add(mf->pos, mf->path + ": " + Quote(metric) + " does not apply to objective " +
                                 m.objective);
      } else {
        m.metric = metric;
      }
    }
  }
  if (const Field* tf = map.Find("tuning")) m.tuning = ReadTuning(*tf, m, kReservedParams, errors);
  map.Finish();
  return m;
}

}  // namespace

std::vector<ModelConfig> ReadModels(const Field& models, ErrorSink* errors) {
  std::vector<ModelConfig> out;
  if (!ExpectMap(models, errors)) return out;
  MapReader map(models.value, models.path, models.pos, errors);
  for (auto it = models.value.begin(); it != models.value.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string name = it->first.Scalar();
    const Field* f = map.Find(name);
    if (!f) continue;
    if (std::any_of(out.begin(), out.end(), [&](const ModelConfig& m) { return m.name == name; }))
      continue;  // duplicate key, reported by MapReader
    if (!IsSqlIdentifier(name)) {
      errors->Add(f->key_pos, f->path + ": " + Quote(name) +
                                  " is not a valid model name (letters, digits and \"_\")");
    }
    out.push_back(ReadModel(name, *f, errors));
  }
  map.Finish();
  return out;
}

}  // namespace mlcron
