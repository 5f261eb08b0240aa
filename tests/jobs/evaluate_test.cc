// Evaluating and comparing registered versions on a scratch data database and registry whose
// versions come from the real retrain job: the default holdout period, explicit periods,
// scores equal to scoring by hand, and every error the CLI reports.
#include "jobs/evaluate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "jobs/dataset.h"
#include "jobs/metrics.h"
#include "jobs/model_store.h"
#include "jobs/promotion_gate.h"
#include "jobs/retrain_job.h"
#include "jobs/xgb_booster.h"
#include "tests/jobs/retrain_test_util.h"

namespace mlcron {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class Evaluate : public testing::RetrainFixture {
 protected:
  // Runs the retrain job on model m; returns the ids of the versions it registered.
  std::vector<std::int64_t> Train() {
    RetrainRequest request;
    request.now = std::chrono::sys_days(std::chrono::year(2024) / 3 / 1);
    request.actor = "test";
    request.out = &log_;
    Result<RetrainResult> r =
        RetrainModel(*config_, *config_->FindModel("m"), *data_, *registry_, request);
    EXPECT_TRUE(r.ok()) << r.message();
    std::vector<std::int64_t> ids;
    if (!r.ok()) return ids;
    for (const SegmentResult& s : r->segments) {
      EXPECT_EQ(s.error, "") << log_.str();
      if (s.version) ids.push_back(*s.version);
    }
    return ids;
  }
  ModelVersion Version(std::int64_t id) {
    auto v = registry_->Get(id);
    EXPECT_TRUE(v.ok() && v->has_value()) << id;
    return v.ok() && v->has_value() ? **v : ModelVersion{};
  }
  Result<Evaluation> Eval(std::int64_t id, const std::string& from = "",
                          const std::string& to = "") {
    Result<EvalPeriod> period = ParsePeriod(from, to);
    if (!period.ok()) return period.status();
    return EvaluateVersion(*config_, *data_, *registry_, id, *period);
  }
  Result<Comparison> Compare(std::int64_t a, std::int64_t b) {
    return CompareVersions(*config_, *data_, *registry_, a, b, EvalPeriod{});
  }
  // The metrics of `v` on segment `seg`'s rows [begin, end) in time order, scored here
  // without jobs/evaluate.
  std::map<std::string, double> ByHand(const ModelVersion& v, const std::string& seg, size_t begin,
                                       size_t end) {
    RowFilter filter;
    filter.segment = SqlValue::Text(seg);
    auto ds = LoadDataset(*data_, DatasetSpec::FromModel(*config_->FindModel("m")), filter);
    EXPECT_TRUE(ds.ok()) << ds.message();
    auto bytes = LoadVerifiedModel(v.file, v.sha256);
    auto booster = XgbBooster::FromUbj(*bytes);
    EXPECT_TRUE(booster.ok()) << booster.message();
    std::span<const float> x(ds->x.data() + begin * ds->cols, (end - begin) * ds->cols);
    auto p = booster->Predict(x, end - begin, ds->cols);
    EXPECT_TRUE(p.ok()) << p.message();
    std::span<const float> y(ds->y.data() + begin, end - begin);
    auto m = ComputeMetrics(v.objective, y, {*p, 1});
    EXPECT_TRUE(m.ok()) << m.message();
    return *m;
  }

  std::ostringstream log_;
};

TEST_F(Evaluate, DefaultPeriodIsTheHoldoutWindow) {
  AddRows("A", 0, 30, 10);  // ids 1..300
  AddRows("B", 0, 30, 10);
  ASSERT_EQ(Train(), (std::vector<std::int64_t>{1, 2}));
  const ModelVersion v = Version(1);
  ASSERT_EQ(v.segment, "A");
  ASSERT_EQ(v.holdout_from.ToString(), "2024-01-25");
  ASSERT_EQ(v.holdout_to.ToString(), "2024-01-30");
  auto e = Eval(1);
  ASSERT_TRUE(e.ok()) << e.message();
  EXPECT_EQ(e->rows(), 60u);
  EXPECT_EQ(static_cast<std::int64_t>(e->rows()), v.holdout_rows);
  EXPECT_EQ(e->from_text, "2024-01-25");
  EXPECT_EQ(e->to_text, "2024-01-30");
  EXPECT_EQ(e->keys.front(), "241");  // day 24 of segment A starts at id 241
  EXPECT_EQ(e->keys.back(), "300");
  EXPECT_EQ(e->groups, 1);
  EXPECT_EQ(e->predictions.size(), 60u);
  EXPECT_EQ(e->metrics, ByHand(v, "A", 240, 300));
  EXPECT_EQ(e->metrics.size(), 5u);
  EXPECT_GT(e->metrics.at("accuracy"), 0.7);  // the labels follow f0 + f1 > 1
}

TEST_F(Evaluate, ExplicitPeriodsAreInclusive) {
  AddRows("A", 0, 30, 10);
  ASSERT_EQ(Train().size(), 1u);
  const ModelVersion v = Version(1);
  auto days = Eval(1, "2024-01-01", "2024-01-03");  // a bare --to date includes its day
  ASSERT_TRUE(days.ok()) << days.message();
  EXPECT_EQ(days->rows(), 30u);
  EXPECT_EQ(days->metrics, ByHand(v, "A", 0, 30));
  auto open = Eval(1, "2024-01-29");
  ASSERT_TRUE(open.ok()) << open.message();
  EXPECT_EQ(open->rows(), 20u);
  EXPECT_EQ(open->to, std::nullopt);
  auto until = Eval(1, "", "2024-01-01T00:00:00Z");
  ASSERT_TRUE(until.ok()) << until.message();
  EXPECT_EQ(until->rows(), 10u);
  // Unix seconds: 2024-01-01T00:00Z .. 2024-01-02T00:00Z holds days 0 and 1.
  auto unix = Eval(1, "1704067200", "1704153600");
  ASSERT_TRUE(unix.ok()) << unix.message();
  EXPECT_EQ(unix->rows(), 20u);
  EXPECT_EQ(unix->keys.front(), "1");
  EXPECT_EQ(unix->keys.back(), "20");
}

TEST_F(Evaluate, Errors) {
  AddRows("A", 0, 30, 10);
  ASSERT_EQ(Train().size(), 1u);
  EXPECT_EQ(Eval(42).message(), "no version 42");
  EXPECT_EQ(Eval(1, "2025-01-01", "2025-02-01").message(),
            "no labelled rows of model m [A] between 2025-01-01 and 2025-02-01");
  EXPECT_EQ(Eval(1, "2025-01-01").message(), "no labelled rows of model m [A] from 2025-01-01 on");
  EXPECT_THAT(Eval(1, "yesterday").message(), StartsWith("--from \"yesterday\": "));
  EXPECT_EQ(Eval(1, "2024-02-01", "2024-01-01").message(),
            "--from 2024-02-01 is after --to 2024-01-01");

  Load(ModelYaml("[f0, f1]"));
  EXPECT_EQ(Eval(1).message(),
            "the feature contract changed: version 1 was trained on [f0, f1, "
            "f2] but model m in " +
                dir_ + "/mlcron.yaml now has [f0, f1]");
  std::string regression = ModelYaml();
  regression.replace(regression.find("binary:logistic"), 15, "reg:squarederror");
  Load(regression);
  EXPECT_EQ(Eval(1).message(),
            "the objective changed: version 1 is binary:logistic but model m "
            "in " +
                dir_ + "/mlcron.yaml is now reg:squarederror");
  // The config's jobs name m, so the model is renamed in a copy rather than in YAML.
  Config renamed = *config_;
  renamed.models[0].name = "n";
  auto gone = EvaluateVersion(renamed, *data_, *registry_, 1, EvalPeriod{});
  EXPECT_EQ(gone.message(),
            "version 1 is of model m, which is no longer in " + dir_ + "/mlcron.yaml");
}

TEST_F(Evaluate, TamperedModelFileIsRefused) {
  AddRows("A", 0, 30, 10);
  ASSERT_EQ(Train().size(), 1u);
  const ModelVersion v = Version(1);
  std::ofstream(v.file, std::ios::binary | std::ios::app) << "x";
  const std::string message = Eval(1).message();
  EXPECT_THAT(message, StartsWith("model file " + v.file + ": SHA-256 mismatch (registered "));
  EXPECT_THAT(message, HasSubstr("nothing was loaded"));
}

TEST_F(Evaluate, CompareScoresBothOnTheNewerHoldout) {
  AddRows("A", 0, 30, 10);
  ASSERT_EQ(Train().size(), 1u);
  AddRows("A", 30, 12, 10);  // 120 new rows: incremental
  ASSERT_EQ(Train(), (std::vector<std::int64_t>{2}));
  const ModelVersion v2 = Version(2);
  ASSERT_EQ(v2.kind, "incremental") << log_.str();
  auto c = Compare(1, 2);
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(static_cast<std::int64_t>(c->a.rows()), v2.holdout_rows);
  EXPECT_EQ(c->a.keys, c->b.keys);
  EXPECT_EQ(c->a.from_text, v2.holdout_from.ToString());
  EXPECT_EQ(c->metric, "log_loss");
  const size_t end = 420, begin = end - c->a.rows();
  EXPECT_EQ(c->a.metrics, ByHand(Version(1), "A", begin, end));
  EXPECT_EQ(c->b.metrics, ByHand(v2, "A", begin, end));
  const double a = c->a.metrics.at("log_loss"), b = c->b.metrics.at("log_loss");
  ASSERT_TRUE(c->b_over_a);
  EXPECT_EQ(*c->b_over_a, RelativeImprovement("log_loss", b, a));
  ASSERT_NE(a, b);
  EXPECT_EQ(c->winner, b < a ? 2 : 1);
  // The same rows either way round.
  auto reversed = Compare(2, 1);
  ASSERT_TRUE(reversed.ok()) << reversed.message();
  EXPECT_EQ(reversed->a.metrics, c->b.metrics);
  EXPECT_EQ(reversed->winner, c->winner);
}

TEST_F(Evaluate, CompareNeedsOneModelSegmentAndContract) {
  AddRows("A", 0, 30, 10);
  AddRows("B", 0, 30, 10);
  ASSERT_EQ(Train().size(), 2u);
  EXPECT_EQ(Compare(1, 7).message(), "no version 7");
  EXPECT_EQ(Compare(1, 2).message(),
            "version 1 is of m [A] but version 2 is of m [B]: compare needs two versions of the "
            "same model and segment");
  // The fingerprint changes: a full retrain on two features, once the rows after the
  // watermark allow a holdout (k = 180 × 0.2 ≥ 20).
  AddRows("A", 30, 12, 10);
  AddRows("B", 30, 12, 10);
  Load(ModelYaml("[f0, f1]"));
  ASSERT_EQ(Train(), (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(Compare(1, 3).message(),
            "versions 1 and 3 have different feature contracts, [f0, f1, f2] and [f0, f1]: no "
            "rows can be scored by both");
}

TEST(EvaluatePeriod, ParsesBounds) {
  auto p = ParsePeriod("2024-01-01", "2024-01-02");
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_EQ(p->from, 1704067200);
  EXPECT_EQ(p->to, 1704153600 + 86399);
  auto t = ParsePeriod("2024-01-01T10:00:00+02:00", "2024-01-02T00:00");
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(t->from, 1704067200 + 8 * 3600);
  EXPECT_EQ(t->to, 1704153600);
  auto none = ParsePeriod("", "");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->from, std::nullopt);
  EXPECT_EQ(none->to, std::nullopt);
  EXPECT_THAT(ParsePeriod("", "soon").message(),
              StartsWith("--to \"soon\": \"soon\" is not a time"));
}

TEST(EvaluateCsv, WritesKeysLabelsAndPredictions) {
  char tmpl[] = "/tmp/mlcron-eval-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/p.csv";
  Evaluation e;
  e.version.objective = "binary:logistic";
  e.keys = {"7", "a,\"b\""};
  e.labels = {1, 0};
  e.predictions = {0.75f, 0.125f};
  ASSERT_TRUE(WritePredictionsCsv(path, e).ok());
  auto read = [&] {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  EXPECT_EQ(read(), "key,label,p_0,p_1\n7,1,0.25,0.75\n\"a,\"\"b\"\"\",0,0.875,0.125\n");
  e.version.objective = "multi:softprob";
  e.groups = 3;
  e.keys = {"1"};
  e.labels = {2};
  e.predictions = {0.5f, 0.25f, 0.25f};
  ASSERT_TRUE(WritePredictionsCsv(path, e).ok());
  EXPECT_EQ(read(), "key,label,p_0,p_1,p_2\n1,2,0.5,0.25,0.25\n");
  e.version.objective = "count:poisson";
  e.groups = 1;
  e.predictions = {3.5f};
  ASSERT_TRUE(WritePredictionsCsv(path, e).ok());
  EXPECT_EQ(read(), "key,label,prediction\n1,2,3.5\n");
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace mlcron
