// The replay's outputs from hand-built PolicyRuns: per-row losses, local Monday weeks, the
// live aggregates against ComputeMetrics, the CSV files' exact text, the chart's lines and
// ticks, and the prior-only baseline by the reveal rule.
#include "jobs/replay_report.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "jobs/metrics.h"
#include "jobs/replay_baseline.h"
#include "jobs/replay_chart.h"
#include "tests/jobs/replay_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::London;
using ::mlcron::testing::Utc;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

ModelConfig Model(const std::string& objective, const std::string& metric) {
  ModelConfig m;
  m.name = "m";
  m.objective = objective;
  m.metric = metric;
  return m;
}

double Ln(float p) { return std::log(static_cast<double>(p)); }

TEST(ReplayRowLoss, EachObjectivesTerm) {
  const ModelConfig multi = Model("multi:softprob", "log_loss");
  EXPECT_NEAR(RowLoss(multi, 2, {0.2f, 0.3f, 0.5f}), -Ln(0.5f), 1e-7);
  // A row not summing to one is renormalised, as scikit-learn does.
  EXPECT_NEAR(RowLoss(multi, 2, {0.2f, 0.3f, 0.6f}), -std::log(0.6 / 1.1), 1e-6);
  // A zero probability for the truth is clipped to the double epsilon (sklearn's "auto").
  const double eps = std::numeric_limits<double>::epsilon();
  EXPECT_NEAR(RowLoss(multi, 0, {0.0f, 1.0f, 0.0f}), -std::log(eps / (1 + eps)), 1e-9);

  const ModelConfig binary = Model("binary:logistic", "log_loss");
  EXPECT_NEAR(RowLoss(binary, 1, {0.8f}), -Ln(0.8f), 1e-12);
  EXPECT_NEAR(RowLoss(binary, 0, {0.8f}), -std::log(1 - static_cast<double>(0.8f)), 1e-12);

  const ModelConfig count = Model("count:poisson", "poisson_deviance");
  EXPECT_NEAR(RowLoss(count, 3, {2.0f}), 2 * (3 * std::log(1.5) - 1), 1e-12);
  EXPECT_NEAR(RowLoss(count, 0, {2.0f}), 4.0, 1e-12);

  const ModelConfig reg = Model("reg:squarederror", "rmse");
  EXPECT_DOUBLE_EQ(RowLoss(reg, 1.5f, {2.25f}), 0.5625);
  EXPECT_DOUBLE_EQ(RowLoss(reg, -1, {1}), 4.0);
}

LiveScore Score(const std::string& signal_at, float label, std::vector<float> prediction,
                const std::string& segment = "a", const std::string& key = "1") {
  LiveScore s;
  s.model = "m";
  s.segment = segment;
  s.key = key;
  s.version = 1;
  s.signal_at = signal_at;
  s.label = label;
  s.prediction = std::move(prediction);
  return s;
}

// Binary, over three local weeks (BST from 2024-03-31): P(1) and the baseline's P(1).
ReplayLive BinaryLive() {
  ReplayLive live;
  live.model = Model("binary:logistic", "log_loss");
  live.scores = {Score("2024-03-25T08:55:00Z", 1, {0.8f}),   // Monday
                 Score("2024-03-31T21:30:00Z", 0, {0.4f}),   // Sunday 22:30 BST
                 Score("2024-04-07T22:30:00Z", 1, {0.3f}),   // Sunday 23:30 BST
                 Score("2024-04-07T23:30:00Z", 0, {0.1f})};  // Monday 00:30 BST
  live.baseline = {{0.5f}, {0.5f}, {0.6f}, {0.6f}};
  return live;
}

TEST(ReplayWeeks, MondaysInLocalTime) {
  Result<std::vector<WeekRange>> weeks = Weeks(BinaryLive(), London());
  ASSERT_TRUE(weeks.ok()) << weeks.message();
  std::vector<std::string> got;
  for (const WeekRange& w : *weeks)
    got.push_back(fmt::format("{} {}-{}", w.monday, w.begin, w.end));
  // The Sunday 23:30 signal is in the week before, the Monday 00:30 one (Sunday in UTC) not.
  EXPECT_THAT(got, ElementsAre("2024-03-25 0-2", "2024-04-01 2-3", "2024-04-08 3-4"));

  ReplayLive gap = BinaryLive();
  gap.scores[3].signal_at = "2024-04-22T08:55:00Z";  // two weeks later: no empty week between
  weeks = Weeks(gap, London());
  ASSERT_TRUE(weeks.ok());
  ASSERT_EQ(weeks->size(), 3u);
  EXPECT_EQ((*weeks)[2].monday, "2024-04-22");

  gap.scores[1].signal_at = "yesterday";
  EXPECT_FALSE(Weeks(gap, London()).ok());
  EXPECT_TRUE(Weeks(ReplayLive{}, London())->empty());
}

TEST(ReplayAggregateLive, EqualsComputeMetricsOverTheRange) {
  const ReplayLive live = BinaryLive();
  const std::vector<float> labels = {1, 0, 1}, p = {0.8f, 0.4f, 0.3f}, b = {0.5f, 0.5f, 0.6f};
  auto m = ComputeMetrics("binary:logistic", labels, Predictions{p, 1});
  auto base = ComputeMetrics("binary:logistic", labels, Predictions{b, 1});
  ASSERT_TRUE(m.ok() && base.ok());
  Result<LiveAggregate> a = AggregateLive(live.model, live, 0, 3);
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_EQ(a->rows, 3);
  EXPECT_DOUBLE_EQ(a->live, m->at("log_loss"));
  EXPECT_DOUBLE_EQ(a->baseline, base->at("log_loss"));
  ASSERT_TRUE(a->accuracy);
  EXPECT_DOUBLE_EQ(*a->accuracy, 2.0 / 3);

  Result<LiveAggregate> one = AggregateLive(live.model, live, 3, 4);
  ASSERT_TRUE(one.ok());
  EXPECT_NEAR(one->live, -std::log(1 - static_cast<double>(0.1f)), 1e-9);
  Result<LiveAggregate> none = AggregateLive(live.model, live, 2, 2);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->rows, 0);

  ReplayLive reg;
  reg.model = Model("reg:squarederror", "rmse");
  reg.scores = {Score("2024-03-25T08:55:00Z", 1, {2}), Score("2024-03-26T08:55:00Z", 3, {1})};
  reg.baseline = {{2}, {2}};
  Result<LiveAggregate> r = AggregateLive(reg.model, reg, 0, 2);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_DOUBLE_EQ(r->live, std::sqrt(2.5));
  EXPECT_DOUBLE_EQ(r->baseline, 1.0);
  EXPECT_FALSE(r->accuracy);
}

ReplayDecision Decision(const std::string& at, const std::string& decision,
                        const std::string& outcome, std::optional<std::int64_t> version,
                        double seconds, const std::string& reasons,
                        const std::string& segment = "a") {
  ReplayDecision d;
  d.at = Utc(at);
  d.job = "retrain_m";
  d.model = "m";
  d.segment = segment;
  d.decision = decision;
  d.outcome = outcome;
  d.version = version;
  d.seconds = seconds;
  d.reasons = reasons;
  return d;
}

std::vector<PolicyRun> Runs() {
  PolicyRun def;
  def.policy = ReplayPolicy::kDefault;
  def.occurrences = 10;
  def.retrain_cpu_seconds = 2.5;
  def.retrain_seconds = 3.25;
  def.seconds = 10.125;
  def.decisions = {
      Decision("2024-03-25T08:52:00Z", "full", "production", 3, 1.5, "no production model"),
      Decision("2024-03-26T08:52:00Z", "skip", "", std::nullopt, 0,
               "12 rows < min_rows 50 → skip, \"soon\"", "b,c"),
      Decision("2024-04-01T08:52:00Z", "incremental", "rejected", 4, 0.25, "120 new rows"),
      Decision("2024-04-02T08:52:00Z", "full", "error: no rows, \"m\"", std::nullopt, 0,
               "full_every 7d")};
  def.live = {BinaryLive()};
  PolicyRun full;
  full.policy = ReplayPolicy::kAlwaysFull;
  full.occurrences = 10;
  full.decisions = {
      Decision("2024-03-25T08:52:00Z", "full", "production", 3, 2, "policy always-full"),
      Decision("2024-04-01T08:52:00Z", "full", "production", 4, 2.5, "policy always-full"),
      Decision("2024-04-09T08:52:00Z", "full", "candidate", 5, 3, "policy always-full")};
  full.live = {BinaryLive()};
  full.live[0].scores[2].prediction = {0.7f};
  return {def, full};
}

TEST(ReplayCsv, DecisionsQuoteFieldsWithCommasAndQuotes) {
  EXPECT_EQ(DecisionsCsv(Runs(), London()),
            "policy,at,job,model,segment,decision,outcome,version,seconds,reasons\n"
            "default,2024-03-25T08:52:00+00:00,retrain_m,m,a,full,production,3,1.500,"
            "no production model\n"
            "default,2024-03-26T08:52:00+00:00,retrain_m,m,\"b,c\",skip,,,0.000,"
            "\"12 rows < min_rows 50 → skip, \"\"soon\"\"\"\n"
            "default,2024-04-01T09:52:00+01:00,retrain_m,m,a,incremental,rejected,4,0.250,"
            "120 new rows\n"
            "default,2024-04-02T09:52:00+01:00,retrain_m,m,a,full,\"error: no rows, \"\"m\"\"\","
            ",0.000,full_every 7d\n"
            "always-full,2024-03-25T08:52:00+00:00,retrain_m,m,a,full,production,3,2.000,"
            "policy always-full\n"
            "always-full,2024-04-01T09:52:00+01:00,retrain_m,m,a,full,production,4,2.500,"
            "policy always-full\n"
            "always-full,2024-04-09T09:52:00+01:00,retrain_m,m,a,full,candidate,5,3.000,"
            "policy always-full\n");
}

TEST(ReplayCsv, SummaryCountsDecisionsAndOutcomes) {
  EXPECT_EQ(SummaryCsv(Runs()),
            "policy,occurrences,full,incremental,skip,promoted,rejected,errors,train_seconds,"
            "retrain_cpu_seconds,retrain_seconds,seconds\n"
            "default,10,2,1,1,1,1,1,1.750,2.500,3.250,10.125\n"
            "always-full,10,3,0,0,2,0,0,7.500,0.000,0.000,0.000\n");
}

TEST(ReplayCsv, LiveWeeklyPerPolicyAndLocalWeek) {
  Result<std::string> csv = LiveWeeklyCsv(Runs(), London());
  ASSERT_TRUE(csv.ok()) << csv.message();
  // -ln 0.8 - ln 0.6 over 2; -ln 0.3 (-ln 0.7 for always-full); -ln 0.9. Baselines: -ln 0.5,
  // -ln 0.6, -ln 0.4.
  EXPECT_EQ(*csv,
            "policy,model,metric,week,rows,live,baseline,accuracy\n"
            "default,m,log_loss,2024-03-25,2,0.366985,0.693147,1.000000\n"
            "default,m,log_loss,2024-04-01,1,1.203973,0.510826,0.000000\n"
            "default,m,log_loss,2024-04-08,1,0.105361,0.916291,1.000000\n"
            "always-full,m,log_loss,2024-03-25,2,0.366985,0.693147,1.000000\n"
            "always-full,m,log_loss,2024-04-01,1,0.356675,0.510826,1.000000\n"
            "always-full,m,log_loss,2024-04-08,1,0.105361,0.916291,1.000000\n");
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ReplayChart, OneLinePerPolicyAndTheBaselineAndATickPerFullRetrain) {
  Result<std::string> svg = LiveChartSvg(Runs(), "m", London());
  ASSERT_TRUE(svg.ok()) << svg.message();
  EXPECT_EQ(Count(*svg, "<polyline"), 3u);
  EXPECT_EQ(Count(*svg, "stroke=\"#7f7f7f\" stroke-width=\"1.2\" stroke-dasharray"), 1u);
  EXPECT_THAT(*svg, HasSubstr(">prior-only baseline</text>"));
  EXPECT_THAT(*svg, HasSubstr(">default</text>"));
  EXPECT_THAT(*svg, HasSubstr(">always-full</text>"));
  EXPECT_THAT(*svg, HasSubstr("live log_loss of model m"));
  // Ticks: default's one full with a version (not the failed one, not the incremental);
  // all three of always-full's, the last in the final week after its Monday.
  EXPECT_EQ(Count(*svg, "stroke=\"#1f77b4\"/>"), 1u);
  EXPECT_EQ(Count(*svg, "stroke=\"#d62728\"/>"), 3u);
  EXPECT_EQ(Count(*svg, "stroke=\"#7f7f7f\"/>"), 0u);

  Result<std::string> other = LiveChartSvg(Runs(), "n", London());
  ASSERT_TRUE(other.ok());
  EXPECT_THAT(*other, HasSubstr("no live scores"));
  EXPECT_EQ(Count(*other, "<polyline"), 0u);
}

// PriorBaseline over a data database: what the class frequencies were, per segment, when
// each signal was made, counting only labels whose day had ended by then.
class ReplayBaselineTest : public testing::ReplayDirTest {
 protected:
  void SetUp() override {
    testing::ReplayDirTest::SetUp();
    auto db = SqliteDb::Open(dir_ + "/data.db", "data", std::chrono::milliseconds(100));
    ASSERT_TRUE(db.ok()) << db.message();
    data_ = std::move(*db);
    ASSERT_TRUE(
        data_->Exec("CREATE TABLE m (id INTEGER PRIMARY KEY, seg TEXT, day TEXT, y REAL, x REAL)")
            .ok());
  }
  const ModelConfig& LoadModel(const std::string& objective) {
    config_ = Load("      - {name: retrain_m, kind: retrain, model: m}\n",
                   "models:\n  m:\n    table: m\n    key: id\n    time: day\n    label: y\n"
                   "    features: [x]\n    segment_by: seg\n    objective: " +
                       objective + "\n");
    EXPECT_TRUE(config_);
    return *config_->FindModel("m");
  }
  void Rows(const std::string& values) {
    ASSERT_TRUE(data_->Exec("INSERT INTO m (id, seg, day, y, x) VALUES " + values).ok());
  }
  std::vector<std::string> Baseline(const ModelConfig& model,
                                    const std::vector<LiveScore>& scores) {
    auto b = PriorBaseline(*data_, model, scores, London());
    EXPECT_TRUE(b.ok()) << b.message();
    std::vector<std::string> out;
    for (const std::vector<float>& p : b.ok() ? *b : std::vector<std::vector<float>>{}) {
      std::string row;
      for (float v : p) row += fmt::format("{}{:.4f}", row.empty() ? "" : " ", v);
      out.push_back(row);
    }
    return out;
  }

  std::shared_ptr<const Config> config_;
  std::unique_ptr<SqliteDb> data_;
};

TEST_F(ReplayBaselineTest, ClassFrequenciesOfLabelsKnownBeforeTheSignalPerSegment) {
  const ModelConfig& model = LoadModel("multi:softprob\n    params: {num_class: 3}");
  // Days end at local midnight: 2024-03-01 at 2024-03-02T00:00Z (GMT).
  Rows(
      "(1, 'a', '2024-03-01', 0, 0), (2, 'a', '2024-03-01', 2, 0), (3, 'a', '2024-03-02', 2, 0),"
      " (4, 'b', '2024-03-02', 1, 0), (5, 'a', '2024-03-02', NULL, 0)");
  const std::vector<float> p3 = {0.2f, 0.3f, 0.5f};
  EXPECT_THAT(Baseline(model, {Score("2024-03-01T23:59:59Z", 0, p3, "a"),    // nothing known
                               Score("2024-03-02T00:00:00Z", 0, p3, "b"),    // b has none yet
                               Score("2024-03-02T09:55:00Z", 0, p3, "a"),    // a: 0, 2
                               Score("2024-03-03T09:55:00Z", 0, p3, "a"),    // a: 0, 2, 2
                               Score("2024-03-03T09:55:00Z", 0, p3, "b"),    // b: 1
                               Score("2024-03-03T09:55:00Z", 0, p3, "c")}),  // all: 0, 2, 2, 1
              ElementsAre("0.3333 0.3333 0.3333", "0.5000 0.0000 0.5000", "0.5000 0.0000 0.5000",
                          "0.3333 0.0000 0.6667", "0.0000 1.0000 0.0000", "0.2500 0.2500 0.5000"));
}

TEST_F(ReplayBaselineTest, BinaryAndRegressionAcrossTheDstChange) {
  // 2024-04-01 (BST) ends at 2024-04-01T23:00Z; 2024-03-30 (GMT) at 2024-03-31T00:00Z.
  Rows("(1, 'a', '2024-03-30', 1, 0), (2, 'a', '2024-04-01', 0, 0), (3, 'a', '2024-04-01', 0, 0)");
  const ModelConfig binary = LoadModel("binary:logistic");
  const std::vector<LiveScore> scores = {
      Score("2024-03-30T23:59:59Z", 0, {0.9f}), Score("2024-03-31T00:00:00Z", 0, {0.9f}),
      Score("2024-04-01T22:59:59Z", 0, {0.9f}), Score("2024-04-01T23:00:00Z", 0, {0.9f})};
  EXPECT_THAT(Baseline(binary, scores), ElementsAre("0.5000", "1.0000", "1.0000", "0.3333"));
  const ModelConfig reg = LoadModel("reg:squarederror");
  EXPECT_THAT(Baseline(reg, scores), ElementsAre("0.0000", "1.0000", "1.0000", "0.3333"));
}

}  // namespace
}  // namespace mlcron
