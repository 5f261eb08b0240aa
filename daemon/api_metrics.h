// Prometheus metrics of mlcrond (issue 7, GET /metrics): run counters, run-duration and
// fire-lateness histograms, missed and caught-up runs and running jobs, counted in memory
// from the moment the daemon starts (counters reset on restart, as Prometheus expects).
// They are fed by MetricsStateStore, a StateStore decorator that sees every run row the
// scheduler writes, so the scheduler itself carries no metrics code. Thread-safe: the loop
// thread writes, the API thread renders.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemon/state_store.h"

namespace mlcron {

// A Prometheus histogram with fixed upper bounds (seconds); +Inf is implied.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // "<name>_bucket{<labels>le="0.1"} 3" ... "<name>_sum" "<name>_count".
  void Render(const std::string& name, const std::string& labels, std::string* out) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

class RunMetrics {
 public:
  RunMetrics();
  // A row was inserted: a run starting (`running`), or one settled without running
  // (skipped, missed).
  void OnInsert(std::int64_t id, const RunRecord& run);
  // A running row was settled.
  void OnFinish(const RunRecord& run);
  // Text format 0.0.4: HELP, TYPE and samples of every run metric.
  std::string Render() const;
  int running() const;

 private:
  mutable std::mutex mu_;
  struct Started {
    std::string job;
    RunRecord::TimePoint started;
  };
  std::map<std::int64_t, Started> running_;                            // guarded by mu_
  std::map<std::pair<std::string, std::string>, std::uint64_t> runs_;  // (job, status)
  std::map<std::string, Histogram> durations_;                         // by job
  Histogram lateness_;
  std::map<std::string, std::uint64_t> missed_, caught_up_;  // by job
};

// Forwards every call to `inner` and tells `metrics` about run rows.
std::unique_ptr<StateStore> MetricsStateStore(std::unique_ptr<StateStore> inner,
                                              std::shared_ptr<RunMetrics> metrics);

// One production model for mlcron_model_production_version / mlcron_model_primary_metric.
struct ModelGauge {
  std::string model, segment;
  std::int64_t version = 0;
  std::string metric;
  std::optional<double> value;
};

// The registry part of /metrics: production version and primary metric per (model,
// segment), and training seconds by kind (full, incremental).
std::string RenderModelMetrics(const std::vector<ModelGauge>& models,
                               const std::map<std::string, double>& training_seconds);

// Prometheus label value escaping: \ " and newline.
std::string PromLabel(const std::string& value);
// A sample value: shortest round-trip decimal, "+Inf", "NaN".
std::string PromValue(double value);

}  // namespace mlcron
