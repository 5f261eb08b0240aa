#include "jobs/evaluate.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <span>

#include "daemon/snapshot.h"
#include "jobs/dataset.h"
#include "jobs/metrics.h"
#include "jobs/model_store.h"
#include "jobs/promotion_gate.h"
#include "jobs/retrain_plan.h"
#include "jobs/xgb_booster.h"

namespace mlcron {
namespace {

std::string Contract(const std::vector<std::string>& features) {
  return "[" + fmt::format("{}", fmt::join(features, ", ")) + "]";
}

Result<ModelVersion> FindVersion(Registry& registry, std::int64_t id) {
  Result<std::optional<ModelVersion>> found = registry.Get(id);
  if (!found.ok()) return found.status();
  if (!*found) return Status::Error("no version " + std::to_string(id));
  return std::move(**found);
}

// The config's model of a version, whose source, key, time and label tell which rows to read.
Result<const ModelConfig*> ModelOf(const Config& config, const ModelVersion& v) {
  const ModelConfig* model = config.FindModel(v.model);
  if (!model) {
    return Status::Error(fmt::format("version {} is of model {}, which is no longer in {}", v.id,
                                     v.model, config.path));
  }
  // The rows are read with the config's features: a version trained on others cannot score
  // them, and XGBoost itself would only notice a different column count.
  if (model->features != v.features) {
    return Status::Error(fmt::format(
        "the feature contract changed: version {} was trained on {} but model {} in {} now has "
        "{}",
        v.id, Contract(v.features), v.model, config.path, Contract(model->features)));
  }
  if (model->objective != v.objective) {
    return Status::Error(
        fmt::format("the objective changed: version {} is {} but model {} in {} "
                    "is now {}",
                    v.id, v.objective, v.model, config.path, model->objective));
  }
  return model;
}

// The period to score: the given bounds, or the version's holdout window when none is given.
Result<EvalPeriod> Resolve(const ModelVersion& v, const EvalPeriod& given) {
  if (given.from || given.to) return given;
  if (v.holdout_from.is_null() || v.holdout_to.is_null()) {
    return Status::Error(
        fmt::format("version {} has no holdout window: give --from or --to", v.id));
  }
  Result<std::int64_t> from = TimeToUnix(v.holdout_from);
  Result<std::int64_t> to = from.ok() ? TimeToUnix(v.holdout_to) : from;
  if (!to.ok()) return to.status().WithContext(fmt::format("version {} holdout window: ", v.id));
  EvalPeriod out;
  out.from = *from;
  out.to = *to;
  out.from_text = v.holdout_from.ToString();
  out.to_text = v.holdout_to.ToString();
  return out;
}

std::string Between(const EvalPeriod& p) {
  if (p.from && p.to) return "between " + p.from_text + " and " + p.to_text;
  if (p.from) return "from " + p.from_text + " on";
  return "up to " + p.to_text;
}

// One segment's labelled rows, and the contiguous run of them inside the period (rows come
// sorted by time). The period is applied here rather than in SQL because the time column
// may hold ISO text or unix seconds, and Dataset::time is unix seconds either way.
struct PeriodRows {
  Dataset ds;
  size_t begin = 0, end = 0;
  size_t rows() const { return end - begin; }
};

Result<PeriodRows> LoadRows(SqliteDb& data, const ModelConfig& model, const ModelVersion& v,
                            const EvalPeriod& period) {
  const DatasetSpec spec = DatasetSpec::FromModel(model);
  PeriodRows out;
  RowFilter filter;
  bool segment_found = true;
  if (!model.segment_by.empty()) {
    // The registry keeps the segment as text; the filter needs the stored value.
    Result<std::vector<SqlValue>> segments = ListSegments(data, spec);
    if (!segments.ok()) return segments.status();
    auto it = std::find_if(segments->begin(), segments->end(),
                           [&](const SqlValue& s) { return s.ToString() == v.segment; });
    segment_found = it != segments->end();
    if (segment_found) filter.segment = *it;
  }
  if (segment_found) {
    Result<Dataset> ds = LoadDataset(data, spec, filter);
    if (!ds.ok()) return ds.status();
    out.ds = std::move(*ds);
    const auto& t = out.ds.time;
    out.begin =
        period.from
            ? static_cast<size_t>(std::lower_bound(t.begin(), t.end(), *period.from) - t.begin())
            : 0;
    out.end =
        period.to
            ? static_cast<size_t>(std::upper_bound(t.begin(), t.end(), *period.to) - t.begin())
            : t.size();
  }
  if (out.begin >= out.end) {
    return Status::Error(fmt::format("no labelled rows of model {} {}",
                                     SegmentLabel(v.model, v.segment), Between(period)));
  }
  return out;
}

// Verifies, loads and runs the version's model over the rows; fills predictions and metrics.
Result<Evaluation> Score(const ModelVersion& v, const EvalPeriod& period, const PeriodRows& rows) {
  Result<std::string> bytes = LoadVerifiedModel(v.file, v.sha256);
  if (!bytes.ok()) return bytes.status();
  Result<XgbBooster> booster = XgbBooster::FromUbj(*bytes);
  if (!booster.ok()) return booster.status().WithContext("model file " + v.file + ": ");
  if (Status s = booster->CheckFeatures(v.features); !s.ok()) {
    return s.WithContext(fmt::format("version {}: ", v.id));
  }
  const size_t cols = rows.ds.cols;
  std::span<const float> x(rows.ds.x.data() + rows.begin * cols, rows.rows() * cols);
  Result<std::vector<float>> predicted = booster->Predict(x, rows.rows(), cols);
  if (!predicted.ok()) return predicted.status().WithContext(fmt::format("version {}: ", v.id));

  Evaluation e;
  e.version = v;
  e.from = period.from;
  e.to = period.to;
  e.from_text = period.from ? period.from_text : "";
  e.to_text = period.to ? period.to_text : "";
  e.keys.assign(rows.ds.keys.begin() + static_cast<std::ptrdiff_t>(rows.begin),
                rows.ds.keys.begin() + static_cast<std::ptrdiff_t>(rows.end));
  e.labels.assign(rows.ds.y.begin() + static_cast<std::ptrdiff_t>(rows.begin),
                  rows.ds.y.begin() + static_cast<std::ptrdiff_t>(rows.end));
  e.predictions = std::move(*predicted);
  e.groups = static_cast<int>(e.predictions.size() / rows.rows());
  Result<std::map<std::string, double>> metrics =
      ComputeMetrics(v.objective, e.labels, {e.predictions, e.groups});
  if (!metrics.ok()) return metrics.status().WithContext(fmt::format("version {}: ", v.id));
  e.metrics = std::move(*metrics);
  return e;
}

bool IsBareDate(std::string_view text) {
  return text.size() == 10 && text[4] == '-' && text[7] == '-';
}

Result<std::optional<std::int64_t>> ParseBound(std::string_view flag, std::string_view text,
                                               bool end) {
  if (text.empty()) return std::optional<std::int64_t>();
  Result<std::int64_t> unix = TimeToUnix(SqlValue::Text(std::string(text)));
  if (!unix.ok()) return unix.status().WithContext(fmt::format("{} \"{}\": ", flag, text));
  // --to 2024-02-09 includes that whole day.
  return std::optional<std::int64_t>(*unix + (end && IsBareDate(text) ? 86399 : 0));
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Result<EvalPeriod> ParsePeriod(std::string_view from, std::string_view to) {
  EvalPeriod p;
  Result<std::optional<std::int64_t>> f = ParseBound("--from", from, false);
  if (!f.ok()) return f.status();
  Result<std::optional<std::int64_t>> t = ParseBound("--to", to, true);
  if (!t.ok()) return t.status();
  p.from = *f;
  p.to = *t;
  p.from_text = std::string(from);
  p.to_text = std::string(to);
  if (p.from && p.to && *p.from > *p.to) {
    return Status::Error(fmt::format("--from {} is after --to {}", from, to));
  }
  return p;
}

Result<Evaluation> EvaluateVersion(const Config& config, SqliteDb& data, Registry& registry,
                                   std::int64_t version, const EvalPeriod& period) {
  Result<ModelVersion> v = FindVersion(registry, version);
  if (!v.ok()) return v.status();
  Result<const ModelConfig*> model = ModelOf(config, *v);
  if (!model.ok()) return model.status();
  Result<EvalPeriod> resolved = Resolve(*v, period);
  if (!resolved.ok()) return resolved.status();
  Result<PeriodRows> rows = LoadRows(data, **model, *v, *resolved);
  if (!rows.ok()) return rows.status();
  return Score(*v, *resolved, *rows);
}

Result<Comparison> CompareVersions(const Config& config, SqliteDb& data, Registry& registry,
                                   std::int64_t a, std::int64_t b, const EvalPeriod& period) {
  Result<ModelVersion> va = FindVersion(registry, a);
  if (!va.ok()) return va.status();
  Result<ModelVersion> vb = FindVersion(registry, b);
  if (!vb.ok()) return vb.status();
  if (va->model != vb->model || va->segment != vb->segment) {
    return Status::Error(fmt::format(
        "version {} is of {} but version {} is of {}: compare needs two versions of the same "
        "model and segment",
        a, SegmentLabel(va->model, va->segment), b, SegmentLabel(vb->model, vb->segment)));
  }
  if (va->features != vb->features) {
    return Status::Error(fmt::format(
        "versions {} and {} have different feature contracts, {} and {}: no rows can be "
        "scored by both",
        a, b, Contract(va->features), Contract(vb->features)));
  }
  if (va->objective != vb->objective) {
    return Status::Error(fmt::format("versions {} and {} have different objectives, {} and {}", a,
                                     b, va->objective, vb->objective));
  }
  Result<const ModelConfig*> model = ModelOf(config, *va);
  if (!model.ok()) return model.status();
  // Ids only grow, so the larger is the newer version; its holdout is unseen by both when
  // B descends from A, and the natural test set otherwise.
  Result<EvalPeriod> resolved = Resolve(a > b ? *va : *vb, period);
  if (!resolved.ok()) return resolved.status();
  Result<PeriodRows> rows = LoadRows(data, **model, *va, *resolved);
  if (!rows.ok()) return rows.status();
  Result<Evaluation> ea = Score(*va, *resolved, *rows);
  if (!ea.ok()) return ea.status();
  Result<Evaluation> eb = Score(*vb, *resolved, *rows);
  if (!eb.ok()) return eb.status();

  Comparison c;
  c.metric = (*model)->metric.empty() ? DefaultMetric(va->objective) : (*model)->metric;
  auto ma = ea->metrics.find(c.metric), mb = eb->metrics.find(c.metric);
  if (ma != ea->metrics.end() && mb != eb->metrics.end()) {
    c.b_over_a = RelativeImprovement(c.metric, mb->second, ma->second);
    if (*c.b_over_a > 0) c.winner = b;
    if (*c.b_over_a < 0) c.winner = a;
  }
  c.a = std::move(*ea);
  c.b = std::move(*eb);
  return c;
}

Status WritePredictionsCsv(const std::string& path, const Evaluation& e) {
  const bool classifier =
      e.version.objective == "binary:logistic" || e.version.objective == "multi:softprob";
  const bool binary = e.version.objective == "binary:logistic";
  std::string out = "key,label";
  if (!classifier) {
    out += ",prediction";
  } else {
    const int k = binary ? 2 : e.groups;
    for (int c = 0; c < k; ++c) out += fmt::format(",p_{}", c);
  }
  out += "\n";
  const size_t groups = static_cast<size_t>(e.groups);
  for (size_t row = 0; row < e.rows(); ++row) {
    out += CsvField(e.keys[row]);
    out += fmt::format(",{}", e.labels[row]);
    if (binary) out += fmt::format(",{}", 1.0f - e.predictions[row]);
    for (size_t g = 0; g < groups; ++g) out += fmt::format(",{}", e.predictions[row * groups + g]);
    out += "\n";
  }
  return WriteFileAtomic(path, out, 0644);
}

}  // namespace mlcron
