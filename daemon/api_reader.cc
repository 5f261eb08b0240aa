#include "daemon/api_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/time_format.h"

namespace mlcron {
namespace {

using nlohmann::json;

// Registry times are whole unix seconds: shown without the milliseconds runs have.
json When(std::int64_t unix_seconds, const Config& config) {
  return FormatInstant(Instant(std::chrono::seconds(unix_seconds)), config.tz);
}

json OptInt(const SqliteStatement& st, int col) {
  auto v = st.OptInt64(col);
  return v ? json(*v) : json(nullptr);
}

// The primary metric of `model` (the config's metric) and its holdout value in metrics_json.
std::pair<json, json> PrimaryMetric(const Config& config, const std::string& model,
                                    const std::string& metrics_json) {
  const ModelConfig* m = config.FindModel(model);
  if (!m) return {nullptr, nullptr};
  const json parsed = json::parse(metrics_json, nullptr, false);
  json value = nullptr;
  if (parsed.is_object() && parsed.contains("holdout") && parsed["holdout"].is_object()) {
    const json& h = parsed["holdout"];
    if (h.contains(m->metric) && h[m->metric].is_number()) value = h[m->metric];
  }
  return {m->metric, value};
}

}  // namespace

json RunJson(const RunRecord& run, const Config& config) {
  auto at = [&](const std::optional<RunRecord::TimePoint>& t) {
    return t ? json(FormatTimePoint(*t, config.tz)) : json(nullptr);
  };
  json duration = nullptr, lateness = nullptr;
  if (run.started && run.ended) {
    duration = std::chrono::duration<double>(*run.ended - *run.started).count();
  }
  if (run.started && run.trigger == "schedule") {
    lateness = std::chrono::duration<double>(*run.started - run.scheduled).count();
  }
  return {{"id", run.id},
          {"job", run.job},
          {"scheduled", FormatInstant(run.scheduled, config.tz)},
          {"trigger", run.trigger},
          {"attempt", run.attempt},
          {"status", std::string(RunStatusName(run.status))},
          {"reason", run.reason},
          {"started", at(run.started)},
          {"ended", at(run.ended)},
          {"duration_s", duration},
          {"exit_code", run.exit_code ? json(*run.exit_code) : json(nullptr)},
          {"signal", run.signal ? json(*run.signal) : json(nullptr)},
          {"lateness_s", lateness}};
}

Result<std::unique_ptr<ApiReader>> ApiReader::Open(const std::string& db_path) {
  auto runs = StateStore::Open(db_path);
  if (!runs.ok()) return runs.status();
  auto registry = SqliteDb::Open(db_path, "state database", std::chrono::milliseconds(2000),
                                 SqliteDb::Mode::kReadOnly);
  if (!registry.ok()) return registry.status();
  return std::unique_ptr<ApiReader>(
      new ApiReader(std::move(runs).value(), std::move(registry).value()));
}

Result<json> ApiReader::Runs(const std::optional<std::string>& job, int limit,
                             const Config& config) {
  RunFilter filter;
  filter.job = job;
  filter.limit = limit;
  auto runs = runs_->ListRuns(filter);
  if (!runs.ok()) return runs.status();
  json out = json::array();
  for (const RunRecord& r : *runs) out.push_back(RunJson(r, config));
  return json{{"runs", out}};
}

Result<std::optional<json>> ApiReader::Run(std::int64_t id, const Config& config) {
  auto run = runs_->GetRun(id);
  if (!run.ok()) return run.status();
  if (!*run) return std::optional<json>();
  return std::optional<json>(RunJson(**run, config));
}

Result<std::optional<std::string>> ApiReader::RunLog(std::int64_t id, std::int64_t tail_bytes) {
  auto run = runs_->GetRun(id);
  if (!run.ok()) return run.status();
  if (!*run || (*run)->log_path.empty()) return std::optional<std::string>();
  const std::string& path = (*run)->log_path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status::Error("log of run " + std::to_string(id) + " (" + path +
                         "): " + std::strerror(errno));
  }
  struct stat st {};
  ::fstat(fd, &st);
  const std::int64_t size = st.st_size;
  const std::int64_t from = size > tail_bytes ? size - tail_bytes : 0;
  std::string text(static_cast<size_t>(size - from), '\0');
  ssize_t n = ::pread(fd, text.data(), text.size(), from);
  ::close(fd);
  if (n < 0) return Status::Error("log of run " + std::to_string(id) + ": read failed");
  text.resize(static_cast<size_t>(n));
  return std::optional<std::string>(std::move(text));
}

Result<json> ApiReader::Production(const Config& config) {
  SqliteStatement st = registry_->Prepare(
      "SELECT p.model, p.segment, v.id, v.kind, v.created_at, v.status, v.reason, v.trees, "
      "v.rows, v.metrics_json FROM model_production p JOIN model_versions v "
      "ON v.id = p.version_id ORDER BY p.model, p.segment");
  json out = json::array();
  for (;;) {
    auto row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto [metric, value] = PrimaryMetric(config, st.Text(0), st.Text(9));
    out.push_back({{"model", st.Text(0)},
                   {"segment", st.Text(1)},
                   {"version", st.Int64(2)},
                   {"kind", st.Text(3)},
                   {"created_at", When(st.Int64(4), config)},
                   {"metric", metric},
                   {"value", value},
                   {"status", st.Text(5)},
                   {"reason", st.Text(6)},
                   {"trees", st.Int64(7)},
                   {"rows", st.Int64(8)}});
  }
  return json{{"models", out}};
}

Result<json> ApiReader::Versions(const std::optional<std::string>& model,
                                 const std::optional<std::string>& segment, int limit,
                                 const Config& config) {
  // One SQL text per filter shape, so that the (model, segment, id) index serves each.
  std::string sql =
      "SELECT id, model, segment, parent, kind, status, reason, created_at, trees, rows, "
      "duration_s, metrics_json, sha256 FROM model_versions";
  if (model) sql += " WHERE model = ?1";
  if (segment) sql += model ? " AND segment = ?2" : " WHERE segment = ?2";
  sql += " ORDER BY id DESC LIMIT ?3";
  SqliteStatement st = registry_->Prepare(sql);
  if (model) st.Bind(1, *model);
  if (segment) st.Bind(2, *segment);
  st.Bind(3, limit);
  json out = json::array();
  for (;;) {
    auto row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto [metric, value] = PrimaryMetric(config, st.Text(1), st.Text(11));
    out.push_back({{"version", st.Int64(0)},
                   {"model", st.Text(1)},
                   {"segment", st.Text(2)},
                   {"parent", OptInt(st, 3)},
                   {"kind", st.Text(4)},
                   {"status", st.Text(5)},
                   {"reason", st.Text(6)},
                   {"created_at", When(st.Int64(7), config)},
                   {"trees", st.Int64(8)},
                   {"rows", st.Int64(9)},
                   {"duration_s", st.Double(10)},
                   {"metric", metric},
                   {"value", value},
                   {"sha256", st.Text(12)}});
  }
  return json{{"versions", out}};
}

Result<json> ApiReader::TrainingHistory(int limit, const Config& config) {
  SqliteStatement st = registry_->Prepare(
      "SELECT id, model, segment, decided_at, decision, summary, new_rows, version_id "
      "FROM retrain_decisions ORDER BY id DESC LIMIT ?1");
  st.Bind(1, limit);
  json out = json::array();
  for (;;) {
    auto row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back({{"id", st.Int64(0)},
                   {"model", st.Text(1)},
                   {"segment", st.Text(2)},
                   {"decided_at", When(st.Int64(3), config)},
                   {"decision", st.Text(4)},
                   {"summary", st.Text(5)},
                   {"new_rows", st.Int64(6)},
                   {"version", OptInt(st, 7)}});
  }
  return json{{"decisions", out}};
}

Result<std::vector<ModelGauge>> ApiReader::ModelGauges(const Config& config) {
  auto production = Production(config);
  if (!production.ok()) return production.status();
  std::vector<ModelGauge> out;
  for (const json& m : (*production)["models"]) {
    ModelGauge g;
    g.model = m["model"];
    g.segment = m["segment"];
    g.version = m["version"];
    if (m["metric"].is_string()) g.metric = m["metric"];
    if (m["value"].is_number()) g.value = m["value"].get<double>();
    out.push_back(std::move(g));
  }
  return out;
}

Result<std::map<std::string, double>> ApiReader::TrainingSeconds() {
  SqliteStatement st =
      registry_->Prepare("SELECT kind, SUM(duration_s) FROM model_versions GROUP BY kind");
  std::map<std::string, double> out = {{"full", 0.0}, {"incremental", 0.0}};
  for (;;) {
    auto row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out[st.Text(0)] = st.Double(1);
  }
  return out;
}

}  // namespace mlcron
