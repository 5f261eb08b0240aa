#include "jobs/signals_job.h"

#include <algorithm>

#include "daemon/config_job_params.h"
#include "jobs/dataset.h"
#include "jobs/model_job.h"
#include "jobs/model_store.h"
#include "jobs/retrain_plan.h"
#include "jobs/xgb_booster.h"

namespace mlcron {
namespace {

struct Scored {
  std::vector<size_t> rows;  // indices into the input
  const ModelVersion* version = nullptr;
  std::vector<float> out;  // rows × groups
  int groups = 1;
};

std::string Quoted(const std::string& name) { return "\"" + name + "\""; }

// Creates the output table, or adds the probability columns a wider model needs.
Status PrepareOutput(SqliteDb& data, const std::string& table, int classes) {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + Quoted(table) +
                    " (key TEXT, segment TEXT, model TEXT, version INTEGER, prediction REAL, "
                    "scheduled TEXT, run_at TEXT, run_id TEXT, live_scored_at TEXT)";
  if (Status s = data.Exec(sql); !s.ok()) return s;
  std::vector<std::string> have;
  SqliteStatement info = data.Prepare("SELECT name FROM pragma_table_info(?)");
  info.Bind(1, std::string_view(table));
  for (;;) {
    Result<bool> row = info.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    have.push_back(info.Text(0));
  }
  for (const char* needed :
       {"key", "segment", "model", "version", "prediction", "scheduled", "run_at", "run_id"}) {
    if (std::find(have.begin(), have.end(), needed) == have.end()) {
      return data.Error("output table \"" + table + "\" has no column \"" + needed +
                        "\"; it is not a signals table (use another output name)");
    }
  }
  for (int k = 0; k < classes; ++k) {
    const std::string col = "p_" + std::to_string(k);
    if (std::find(have.begin(), have.end(), col) != have.end()) continue;
    if (Status s = data.Exec("ALTER TABLE " + Quoted(table) + " ADD COLUMN " + col + " REAL");
        !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

Status ScoreSegment(const ModelConfig& model, const Dataset& rows, Scored* s) {
  const ModelVersion& v = *s->version;
  if (v.features != model.features) {
    return Status::Error("version " + std::to_string(v.id) +
                         " was trained on a different feature contract than the config's "
                         "features; retrain it (full) before scoring");
  }
  Result<std::string> bytes = LoadVerifiedModel(v.file, v.sha256);
  if (!bytes.ok()) return bytes.status();
  Result<XgbBooster> booster = XgbBooster::FromUbj(*bytes);
  if (!booster.ok()) return booster.status().WithContext("model file " + v.file + ": ");
  if (Status st = booster->CheckFeatures(model.features); !st.ok()) return st;
  std::vector<float> x;
  x.reserve(s->rows.size() * rows.cols);
  for (size_t r : s->rows) {
    x.insert(x.end(), rows.x.begin() + r * rows.cols, rows.x.begin() + (r + 1) * rows.cols);
  }
  Result<std::vector<float>> out = booster->Predict(x, s->rows.size(), rows.cols);
  if (!out.ok()) return out.status();
  s->groups = s->rows.empty() ? 1 : static_cast<int>(out->size() / s->rows.size());
  s->out = std::move(*out);
  return Status::Ok();
}

Status Append(SqliteDb& data, const ModelConfig& model, const Dataset& rows,
              const std::vector<Scored>& scored, const SignalsRequest& request, int classes) {
  return data.Transaction([&]() -> Status {
    if (Status s = PrepareOutput(data, request.output, classes); !s.ok()) return s;
    std::string cols = "key, segment, model, version, prediction, scheduled, run_at, run_id";
    std::string marks = "?, ?, ?, ?, ?, ?, ?, ?";
    for (int k = 0; k < classes; ++k) {
      cols += ", p_" + std::to_string(k);
      marks += ", ?";
    }
    SqliteStatement insert = data.Prepare("INSERT INTO " + Quoted(request.output) + " (" + cols +
                                          ") VALUES (" + marks + ")");
    const std::string run_at = IsoUtc(request.now);
    for (const Scored& s : scored) {
      for (size_t i = 0; i < s.rows.size(); ++i) {
        const size_t r = s.rows[i];
        const float* p = s.out.data() + i * s.groups;
        double prediction = p[0];
        if (s.groups > 1) prediction = std::max_element(p, p + s.groups) - p;
        insert.Bind(1, std::string_view(rows.keys[r]))
            .Bind(2, std::string_view(rows.segments[r]))
            .Bind(3, std::string_view(model.name))
            .Bind(4, s.version->id)
            .Bind(5, prediction)
            .Bind(6, std::string_view(request.scheduled))
            .Bind(7, std::string_view(run_at))
            .Bind(8, std::string_view(request.run_id));
        for (int k = 0; k < classes; ++k) {
          if (s.groups > 1 && k < s.groups) {
            insert.Bind(9 + k, static_cast<double>(p[k]));
          } else if (s.groups == 1 && model.objective == "binary:logistic" && k < 2) {
            insert.Bind(9 + k, k == 1 ? static_cast<double>(p[0]) : 1.0 - p[0]);
          } else {
            insert.BindNull(9 + k);
          }
        }
        if (Status st = insert.Run(); !st.ok()) return st;
        insert.Reset();
      }
    }
    return Status::Ok();
  });
}

}  // namespace

Result<SignalsStats> ScoreSignals(const ModelConfig& model, SqliteDb& data, Registry& registry,
                                  const SignalsRequest& request) {
  DatasetSpec spec = DatasetSpec::FromModel(model);
  spec.table.clear();
  spec.query.clear();
  if (IsSqlIdentifier(request.input)) {
    spec.table = request.input;
  } else {
    spec.query = request.input;
  }
  spec.label.clear();  // rows to score carry no label yet
  RowFilter all;
  all.labelled_only = false;
  Result<Dataset> rows = LoadDataset(data, spec, all);
  if (!rows.ok()) return rows.status().WithContext("signals input: ");

  std::map<std::string, std::vector<size_t>> by_segment;
  for (size_t r = 0; r < rows->rows; ++r) by_segment[rows->segments[r]].push_back(r);

  SignalsStats stats;
  std::vector<ModelVersion> versions;
  versions.reserve(by_segment.size());
  std::vector<Scored> scored;
  for (auto& [segment, indices] : by_segment) {
    Result<std::optional<ModelVersion>> prod = registry.Production(model.name, segment);
    if (!prod.ok()) return prod.status();
    if (!*prod) {
      stats.skipped += static_cast<std::int64_t>(indices.size());
      stats.no_model[segment] += static_cast<std::int64_t>(indices.size());
      continue;
    }
    versions.push_back(std::move(**prod));
    Scored s;
    s.rows = std::move(indices);
    s.version = &versions.back();
    if (Status st = ScoreSegment(model, *rows, &s); !st.ok()) {
      return st.WithContext(SegmentLabel(model.name, segment) + ": ");
    }
    stats.scored += static_cast<std::int64_t>(s.rows.size());
    stats.by_version[SegmentLabel("v" + std::to_string(s.version->id), segment)] +=
        static_cast<std::int64_t>(s.rows.size());
    scored.push_back(std::move(s));
  }
  int classes = 0;
  if (model.objective == "binary:logistic") classes = 2;
  for (const Scored& s : scored) {
    if (s.groups > 1) classes = std::max(classes, s.groups);
  }
  // The labels that arrived since the last run are scored against the signals made before
  // them; this run's signals wait for a later run (prequential, DESIGN.md §9).
  Result<LiveScoringStats> live =
      ScoreArrivedLabels(model, data, registry, request.output, request.now);
  if (!live.ok()) return live.status().WithContext("live scoring: ");
  stats.live = *live;
  if (Status s = Append(data, model, *rows, scored, request, classes); !s.ok()) return s;
  // Recounted to include this run's keys. The signals are written by now, so a failed count
  // keeps the earlier one rather than failing a job whose work is done.
  SqliteStatement awaiting =
      data.Prepare("SELECT count(DISTINCT key) FROM " + Quoted(request.output) +
                   " WHERE model = ?1 AND live_scored_at IS NULL");
  awaiting.Bind(1, std::string_view(model.name));
  Result<bool> counted = awaiting.Step();
  if (counted.ok() && *counted) stats.live.awaiting = awaiting.Int64(0);
  return stats;
}

int RunSignalsJob(const JobContext& ctx) {
  std::ostream& out = *ctx.out;
  const std::string name = "signals " + ctx.job->name;
  std::optional<ModelJob> opened = OpenModelJob(ctx, name);
  if (!opened) return 1;
  const ModelConfig* model = opened->model;
  SignalsRequest request;
  request.input = ctx.job->builtin.input;
  request.output = ctx.job->builtin.output;
  request.now = ctx.now;
  request.scheduled = IsoUtc(ctx.scheduled);
  request.run_id = ctx.run_id;
  Result<SignalsStats> stats = ScoreSignals(*model, *opened->data, *opened->registry, request);
  if (!stats.ok()) {
    out << name << ": " << stats.message() << "; nothing was written\n";
    return 1;
  }
  out << name << ": " << stats->scored << " rows scored with model " << model->name;
  std::string sep = " (";
  for (const auto& [version, n] : stats->by_version) {
    out << sep << version << ": " << n;
    sep = ", ";
  }
  if (!stats->by_version.empty()) out << ")";
  out << " into " << request.output;
  if (stats->skipped > 0) {
    out << "; " << stats->skipped << " rows skipped, no production model for segment";
    sep = " ";
    for (const auto& [segment, n] : stats->no_model) {
      out << sep << (segment.empty() ? "\"\"" : segment) << " (" << n << ")";
      sep = ", ";
    }
  }
  out << "\n";
  out << name << ": live: scored " << stats->live.scored << " signal"
      << (stats->live.scored == 1 ? "" : "s") << " whose labels arrived (" << stats->live.awaiting
      << " awaiting)\n";
  return 0;
}

}  // namespace mlcron
