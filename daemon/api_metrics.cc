#include "daemon/api_metrics.h"

#include <fmt/format.h>

#include <cmath>

namespace mlcron {
namespace {

// Run durations span a 1 s command to an hour of training.
const std::vector<double> kDurationBounds = {0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600};
// Lateness: a healthy loop fires within milliseconds of the instant.
const std::vector<double> kLatenessBounds = {0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                             0.1,   0.25,  0.5,   1,    5,     30};

double Seconds(RunRecord::TimePoint::duration d) {
  return std::chrono::duration<double>(d).count();
}

void Header(std::string* out, const char* name, const char* type, const char* help) {
  fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

class Decorator final : public StateStore {
 public:
  Decorator(std::unique_ptr<StateStore> inner, std::shared_ptr<RunMetrics> metrics)
      : inner_(std::move(inner)), metrics_(std::move(metrics)) {}

  int SchemaVersion() override { return inner_->SchemaVersion(); }
  Result<std::int64_t> InsertRun(const RunRecord& run) override {
    auto id = inner_->InsertRun(run);
    if (id.ok()) metrics_->OnInsert(*id, run);
    return id;
  }
  Status SetRunProcess(std::int64_t id, std::int64_t pid, std::uint64_t start_ticks,
                       const std::string& boot_id, RunRecord::TimePoint started) override {
    return inner_->SetRunProcess(id, pid, start_ticks, boot_id, started);
  }
  Status FinishRun(const RunRecord& run) override {
    Status s = inner_->FinishRun(run);
    if (s.ok()) metrics_->OnFinish(run);
    return s;
  }
  Result<std::optional<RunRecord>> GetRun(std::int64_t id) override { return inner_->GetRun(id); }
  Result<std::vector<RunRecord>> ListRuns(const RunFilter& filter) override {
    return inner_->ListRuns(filter);
  }
  Result<std::vector<RunRecord>> OccurrenceRuns(const std::string& job,
                                                Instant scheduled) override {
    return inner_->OccurrenceRuns(job, scheduled);
  }
  Result<std::optional<RunRecord>> LatestRunAtOrBefore(const std::string& job, Instant t) override {
    return inner_->LatestRunAtOrBefore(job, t);
  }
  Result<std::optional<Instant>> LastOccurrence(const std::string& job) override {
    return inner_->LastOccurrence(job);
  }
  Status SetLastOccurrence(const std::string& job, Instant scheduled) override {
    return inner_->SetLastOccurrence(job, scheduled);
  }
  Status SetPaused(const std::string& name, bool paused) override {
    return inner_->SetPaused(name, paused);
  }
  Result<std::vector<std::string>> PausedNames() override { return inner_->PausedNames(); }
  Result<std::vector<std::string>> PruneRuns(RunRecord::TimePoint cutoff) override {
    return inner_->PruneRuns(cutoff);
  }
  Status Backup(const std::string& dest) override { return inner_->Backup(dest); }

 private:
  std::unique_ptr<StateStore> inner_;
  std::shared_ptr<RunMetrics> metrics_;
};

}  // namespace

std::string PromLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string PromValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::Render(const std::string& name, const std::string& labels, std::string* out) const {
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? PromValue(bounds_[i]) : "+Inf";
    fmt::format_to(std::back_inserter(*out), "{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep,
                   le, cumulative);
  }
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  fmt::format_to(std::back_inserter(*out), "{}_sum{} {}\n{}_count{} {}\n", name, braces,
                 PromValue(sum_), name, braces, count_);
}

RunMetrics::RunMetrics() : lateness_(kLatenessBounds) {}

void RunMetrics::OnInsert(std::int64_t id, const RunRecord& run) {
  std::lock_guard<std::mutex> lock(mu_);
  if (run.status != RunStatus::kRunning) {
    ++runs_[{run.job, std::string(RunStatusName(run.status))}];
    if (run.status == RunStatus::kMissed) ++missed_[run.job];
    return;
  }
  const auto started = run.started.value_or(std::chrono::system_clock::now());
  running_[id] = {run.job, started};
  if (run.trigger == "catchup") ++caught_up_[run.job];
  if (run.trigger == "schedule") {
    lateness_.Observe(std::max(0.0, Seconds(started - run.scheduled)));
  }
}

void RunMetrics::OnFinish(const RunRecord& run) {
  std::lock_guard<std::mutex> lock(mu_);
  ++runs_[{run.job, std::string(RunStatusName(run.status))}];
  auto it = running_.find(run.id);
  if (it == running_.end()) return;  // a run of an earlier daemon, settled at start
  if (run.ended) {
    durations_.try_emplace(run.job, kDurationBounds)
        .first->second.Observe(std::max(0.0, Seconds(*run.ended - it->second.started)));
  }
  running_.erase(it);
}

int RunMetrics::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(running_.size());
}

std::string RunMetrics::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  auto o = std::back_inserter(out);
  Header(&out, "mlcron_runs_total", "counter",
         "Runs settled since the daemon started, by job and final status.");
  for (const auto& [key, n] : runs_) {
    fmt::format_to(o, "mlcron_runs_total{{job=\"{}\",status=\"{}\"}} {}\n", PromLabel(key.first),
                   key.second, n);
  }
  Header(&out, "mlcron_run_duration_seconds", "histogram",
         "Wall time of runs from start to exit, by job.");
  for (const auto& [job, h] : durations_) {
    h.Render("mlcron_run_duration_seconds", "job=\"" + PromLabel(job) + "\"", &out);
  }
  Header(&out, "mlcron_fire_lateness_seconds", "histogram",
         "Start time minus scheduled instant of scheduled runs (first attempts).");
  lateness_.Render("mlcron_fire_lateness_seconds", "", &out);
  Header(&out, "mlcron_missed_runs_total", "counter",
         "Occurrences recorded as missed (due while the daemon was down, outside catch-up).");
  for (const auto& [job, n] : missed_) {
    fmt::format_to(o, "mlcron_missed_runs_total{{job=\"{}\"}} {}\n", PromLabel(job), n);
  }
  Header(&out, "mlcron_caught_up_runs_total", "counter",
         "Runs started by the catch-up policy for occurrences missed while down.");
  for (const auto& [job, n] : caught_up_) {
    fmt::format_to(o, "mlcron_caught_up_runs_total{{job=\"{}\"}} {}\n", PromLabel(job), n);
  }
  Header(&out, "mlcron_running_jobs", "gauge", "Job processes running now.");
  fmt::format_to(o, "mlcron_running_jobs {}\n", running_.size());
  return out;
}

std::unique_ptr<StateStore> MetricsStateStore(std::unique_ptr<StateStore> inner,
                                              std::shared_ptr<RunMetrics> metrics) {
  return std::make_unique<Decorator>(std::move(inner), std::move(metrics));
}

std::string RenderModelMetrics(const std::vector<ModelGauge>& models,
                               const std::map<std::string, double>& training_seconds) {
  std::string out;
  auto o = std::back_inserter(out);
  Header(&out, "mlcron_model_production_version", "gauge",
         "The production version id per model and segment.");
  for (const ModelGauge& m : models) {
    fmt::format_to(o, "mlcron_model_production_version{{model=\"{}\",segment=\"{}\"}} {}\n",
                   PromLabel(m.model), PromLabel(m.segment), m.version);
  }
  Header(&out, "mlcron_model_primary_metric", "gauge",
         "The production version's primary metric on its holdout.");
  for (const ModelGauge& m : models) {
    if (!m.value) continue;
    fmt::format_to(
        o, "mlcron_model_primary_metric{{model=\"{}\",segment=\"{}\",metric=\"{}\"}} {}\n",
        PromLabel(m.model), PromLabel(m.segment), PromLabel(m.metric), PromValue(*m.value));
  }
  Header(&out, "mlcron_training_seconds_total", "counter",
         "Seconds spent training registered versions, by kind (full, incremental).");
  for (const auto& [kind, seconds] : training_seconds) {
    fmt::format_to(o, "mlcron_training_seconds_total{{kind=\"{}\"}} {}\n", PromLabel(kind),
                   PromValue(seconds));
  }
  return out;
}

}  // namespace mlcron
