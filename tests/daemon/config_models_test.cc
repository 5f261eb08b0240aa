// The `models:` section and the keys of the built-in job kinds: what a valid model reads as,
// and each broken value's exact message and line:col.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/config_loader.h"
#include "tests/daemon/config_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::Errors;
using ::mlcron::testing::LoadText;
using ::testing::ElementsAre;
using ::testing::Pair;

constexpr const char* kTiers = R"(tiers:
  - tier: 1
    name: t
    every: 1h
    jobs:
      - {name: retrain, kind: retrain, model: result}
)";

std::string WithModel(const std::string& model) { return std::string(kTiers) + model; }

TEST(ConfigModels, FullModelReads) {
  LoadResult r = LoadText(WithModel(R"(models:
  result:
    table: match_features
    key: match_id
    time: date
    label: result
    features: [home_form, away_form]
    segment_by: division
    objective: multi:softprob
    params: {max_depth: 4, eta: 0.05, nthread: 2}
    rounds: 300
    min_rows: 300
    window: 3y
    incremental: {rounds: 30, min_new_rows: 100, max_chain: 12}
    full_every: 90d
    max_age: 7d
    holdout: {fraction: 0.2, min_rows: 20}
    metric: brier
    promote: {min_improvement: 2%}
    drift: {max_degradation: 10%, window: 200}
    keep: 10
    archive: true
)"));
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const ModelConfig& m = *r.config->FindModel("result");
  EXPECT_EQ(m.table, "match_features");
  EXPECT_THAT(m.features, ElementsAre("home_form", "away_form"));
  EXPECT_EQ(m.segment_by, "division");
  EXPECT_EQ(m.objective, "multi:softprob");
  EXPECT_THAT(m.params, ElementsAre(Pair("max_depth", "4"), Pair("eta", "0.05"),
                                    Pair("nthread", "2"), Pair("tree_method", "hist")));
  EXPECT_EQ(m.rounds, 300);
  EXPECT_EQ(m.min_rows, 300);
  EXPECT_EQ(m.window, std::chrono::seconds(3 * 365 * 86400));
  EXPECT_EQ(m.incremental.rounds, 30);
  EXPECT_EQ(m.incremental.min_new_rows, 100);
  EXPECT_EQ(m.incremental.max_chain, 12);
  EXPECT_EQ(m.full_every, std::chrono::hours(90 * 24));
  EXPECT_EQ(m.max_age, std::chrono::hours(7 * 24));
  EXPECT_DOUBLE_EQ(m.holdout.fraction, 0.2);
  EXPECT_EQ(m.holdout.min_rows, 20);
  EXPECT_EQ(m.metric, "brier");
  EXPECT_FALSE(m.promote.manual);
  EXPECT_DOUBLE_EQ(m.promote.min_improvement, 0.02);
  EXPECT_DOUBLE_EQ(*m.drift.max_degradation, 0.10);
  EXPECT_EQ(m.keep, 10);
  EXPECT_TRUE(m.archive);
  EXPECT_TRUE(m.IsClassifier());
}

TEST(ConfigModels, DefaultsByObjective) {
  LoadResult r = LoadText(WithModel(R"(models:
  result:
    query: "SELECT * FROM goals"
    key: id
    time: day
    label: goals
    features: [a]
    objective: count:poisson
    params: {tree_method: approx}
    promote: manual
)"));
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const ModelConfig& m = r.config->models.at(0);
  EXPECT_EQ(m.query, "SELECT * FROM goals");
  EXPECT_EQ(m.metric, "poisson_deviance");
  EXPECT_THAT(m.params, ElementsAre(Pair("tree_method", "approx")));  // no second tree_method
  EXPECT_TRUE(m.promote.manual);
  EXPECT_EQ(m.rounds, 100);
  EXPECT_FALSE(m.drift.max_degradation.has_value());
}

TEST(ConfigModels, UnknownModelReferenceSuggests) {
  EXPECT_THAT(Errors(std::string(kTiers) + R"(models:
  results:
    table: m
    key: id
    time: day
    label: y
    features: [a]
    objective: binary:logistic
)"),
              ElementsAre("6:47: job \"retrain\": model: no model named \"result\" in models:; "
                          "did you mean \"results\"?"));
}

TEST(ConfigModels, MissingKeysAndBadValues) {
  EXPECT_THAT(
      Errors(WithModel(R"(models:
  result:
    table: m
    query: "SELECT 1"
    key: id
    label: y; DROP TABLE m
    features: [a, a, id]
    objective: binary:logistc
    params: {base_score: 0.5, num_class: 1}
    metric: rmse
    holdout: {fraction: 150%}
    tim: day
)")),
      ElementsAre("9:5: models.result: missing required key \"time\"",
                  "10:5: models.result.query: give either table or query, not both",
                  "12:12: models.result.label: \"y; DROP TABLE m\" is not a plain SQL name "
                  "(letters, digits and \"_\")",
                  "13:19: models.result.features[1]: \"a\" is listed twice",
                  "13:22: models.result.features[2]: \"id\" is the model's key, time or label; it "
                  "cannot be a feature",
                  "14:16: models.result.objective: \"binary:logistc\" is not one of "
                  "binary:logistic, multi:softprob, reg:squarederror, count:poisson; did you mean "
                  "\"binary:logistic\"?",
                  "15:14: models.result.params.base_score: set by mlcron; use the model's own keys",
                  "15:42: models.result.params.num_class: expected an integer of at least 2, got "
                  "\"1\"",
                  "17:25: models.result.holdout.fraction: must be between 0% and 100%, got "
                  "\"150%\"",
                  "18:5: models.result: unknown key \"tim\"; did you mean \"time\"?"));
}

TEST(ConfigModels, HoldoutMustBeFeasibleForIncrementalRetrains) {
  EXPECT_THAT(Errors(WithModel(R"(models:
  result:
    table: m
    key: id
    time: day
    label: y
    features: [a]
    objective: binary:logistic
    incremental: {min_new_rows: 50}
    holdout: {fraction: 20%, min_rows: 20}
)")),
              ElementsAre("15:18: models.result: incremental.min_new_rows (50) × holdout.fraction "
                          "must be at least holdout.min_rows (20)"));
}

TEST(ConfigModels, MetricMustFitObjective) {
  EXPECT_THAT(Errors(WithModel(R"(models:
  result:
    table: m
    key: id
    time: day
    label: y
    features: [a]
    objective: reg:squarederror
    metric: log_loss
)")),
              ElementsAre("15:13: models.result.metric: \"log_loss\" does not apply to objective "
                          "reg:squarederror"));
}

TEST(ConfigJobParams, ImportAndSignalsKeysAreChecked) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1h
    jobs:
      - {name: load, kind: import, file: a.csv, table: "x y", types: {a: float}}
      - {name: agg, kind: features, sql: "  "}
      - {name: sig, kind: signals, model: m, output: out}
)"),
              ElementsAre("6:9: tiers[0].jobs[0]: missing required key \"key\" for kind import",
                          "6:56: tiers[0].jobs[0].table: \"x y\" is not a plain SQL name "
                          "(letters, digits and \"_\")",
                          "6:74: tiers[0].jobs[0].types.a: \"float\" is not one of integer, real, "
                          "text",
                          "7:42: tiers[0].jobs[1].sql: must not be empty",
                          "8:9: tiers[0].jobs[2]: missing required key \"input\" for kind signals",
                          "8:43: job \"sig\": model: no model named \"m\" in models:"));
}

TEST(ConfigJobParams, SqlFileOrInline) {
  LoadResult r = LoadText(R"(tiers:
  - tier: 1
    name: t
    every: 1h
    jobs:
      - {name: a, kind: features, sql: features/form.sql}
      - {name: b, kind: features, sql: "CREATE TABLE x AS SELECT 1"}
)");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(r.config->jobs[0].builtin.sql_file, "/etc/mlcron/features/form.sql");
  EXPECT_EQ(r.config->jobs[1].builtin.sql, "CREATE TABLE x AS SELECT 1");
}

}  // namespace
}  // namespace mlcron
