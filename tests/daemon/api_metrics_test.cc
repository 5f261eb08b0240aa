// /metrics text: the histogram format, label escaping, and the run counters fed through the
// MetricsStateStore decorator over a real state store.
#include "daemon/api_metrics.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace mlcron {
namespace {

using namespace std::chrono_literals;
using TimePoint = RunRecord::TimePoint;

TEST(ApiMetricsTest, HistogramIsCumulativeWithSumAndCount) {
  Histogram h({0.1, 1});
  h.Observe(0.05);
  h.Observe(0.1);  // le is inclusive
  h.Observe(0.5);
  h.Observe(7);
  std::string out;
  h.Render("x_seconds", "job=\"a\"", &out);
  EXPECT_EQ(out,
            "x_seconds_bucket{job=\"a\",le=\"0.1\"} 2\n"
            "x_seconds_bucket{job=\"a\",le=\"1\"} 3\n"
            "x_seconds_bucket{job=\"a\",le=\"+Inf\"} 4\n"
            "x_seconds_sum{job=\"a\"} 7.65\n"
            "x_seconds_count{job=\"a\"} 4\n");
  std::string bare;
  Histogram({1}).Render("y", "", &bare);
  EXPECT_EQ(bare, "y_bucket{le=\"1\"} 0\ny_bucket{le=\"+Inf\"} 0\ny_sum 0\ny_count 0\n");
}

TEST(ApiMetricsTest, EscapesLabelsAndFormatsValues) {
  EXPECT_EQ(PromLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(PromValue(0.25), "0.25");
  EXPECT_EQ(PromValue(3), "3");
  EXPECT_EQ(PromValue(1.0 / 0.0), "+Inf");
}

TEST(ApiMetricsTest, CountsRunsThroughTheStoreDecorator) {
  char pattern[] = "/tmp/mlcron-metrics-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  auto inner = StateStore::Open(std::string(pattern) + "/mlcron.db");
  ASSERT_TRUE(inner.ok()) << inner.message();
  auto metrics = std::make_shared<RunMetrics>();
  auto store = MetricsStateStore(std::move(inner).value(), metrics);

  const Instant at(std::chrono::seconds(1'700'000'000));
  RunRecord run;
  run.job = "tick";
  run.scheduled = at;
  run.trigger = "schedule";
  run.started = TimePoint(at) + 3ms;
  auto id = store->InsertRun(run);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(metrics->running(), 1);

  RunRecord caught = run;
  caught.trigger = "catchup";
  caught.started = TimePoint(at) + 2h;  // caught-up runs are late by design: not in lateness
  auto id2 = store->InsertRun(caught);
  ASSERT_TRUE(id2.ok());

  RunRecord missed;
  missed.job = "tick";
  missed.scheduled = at - 60s;
  missed.trigger = "schedule";
  missed.status = RunStatus::kMissed;
  missed.reason = "daemon down";
  ASSERT_TRUE(store->InsertRun(missed).ok());

  RunRecord done = run;
  done.id = *id;
  done.status = RunStatus::kSucceeded;
  done.ended = *run.started + 2s;
  done.exit_code = 0;
  ASSERT_TRUE(store->FinishRun(done).ok());
  RunRecord failed = caught;
  failed.id = *id2;
  failed.status = RunStatus::kFailed;
  failed.ended = *caught.started + 40s;
  ASSERT_TRUE(store->FinishRun(failed).ok());
  EXPECT_EQ(metrics->running(), 0);
  // The rows really are in the store underneath.
  auto stored = store->GetRun(*id);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->status, RunStatus::kSucceeded);

  const std::string text = metrics->Render();
  for (const char* line : {
           "# TYPE mlcron_runs_total counter\n",
           "mlcron_runs_total{job=\"tick\",status=\"failed\"} 1\n",
           "mlcron_runs_total{job=\"tick\",status=\"missed\"} 1\n",
           "mlcron_runs_total{job=\"tick\",status=\"succeeded\"} 1\n",
           "mlcron_run_duration_seconds_bucket{job=\"tick\",le=\"1\"} 0\n",
           "mlcron_run_duration_seconds_bucket{job=\"tick\",le=\"5\"} 1\n",
           "mlcron_run_duration_seconds_bucket{job=\"tick\",le=\"60\"} 2\n",
           "mlcron_run_duration_seconds_sum{job=\"tick\"} 42\n",
           "mlcron_fire_lateness_seconds_bucket{le=\"0.002\"} 0\n",
           "mlcron_fire_lateness_seconds_bucket{le=\"0.005\"} 1\n",
           "mlcron_fire_lateness_seconds_count 1\n",
           "mlcron_missed_runs_total{job=\"tick\"} 1\n",
           "mlcron_caught_up_runs_total{job=\"tick\"} 1\n",
           "mlcron_running_jobs 0\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
  std::filesystem::remove_all(pattern);
}

TEST(ApiMetricsTest, ModelMetrics) {
  std::vector<ModelGauge> models = {{"result", "E0", 41, "log_loss", 0.9712},
                                    {"result", "E1", 7, "log_loss", std::nullopt}};
  EXPECT_EQ(RenderModelMetrics(models, {{"full", 12.5}, {"incremental", 3}}),
            "# HELP mlcron_model_production_version The production version id per model and "
            "segment.\n"
            "# TYPE mlcron_model_production_version gauge\n"
            "mlcron_model_production_version{model=\"result\",segment=\"E0\"} 41\n"
            "mlcron_model_production_version{model=\"result\",segment=\"E1\"} 7\n"
            "# HELP mlcron_model_primary_metric The production version's primary metric on its "
            "holdout.\n"
            "# TYPE mlcron_model_primary_metric gauge\n"
            "mlcron_model_primary_metric{model=\"result\",segment=\"E0\",metric=\"log_loss\"} "
            "0.9712\n"
            "# HELP mlcron_training_seconds_total Seconds spent training registered versions, by "
            "kind (full, incremental).\n"
            "# TYPE mlcron_training_seconds_total counter\n"
            "mlcron_training_seconds_total{kind=\"full\"} 12.5\n"
            "mlcron_training_seconds_total{kind=\"incremental\"} 3\n");
}

}  // namespace
}  // namespace mlcron
