// A model's `tuning:` section: what a valid one reads as, its defaults, and each broken
// value's exact message and line:col.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/config_loader.h"
#include "tests/daemon/config_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::Errors;
using ::mlcron::testing::LoadText;
using ::testing::ElementsAre;

// Lines 1-14; a test's `tuning:` starts on line 15, column 5.
constexpr const char* kModel = R"(tiers:
  - tier: 1
    name: t
    every: 1h
    jobs:
      - {name: retrain, kind: retrain, model: result}
models:
  result:
    table: m
    key: id
    time: day
    label: y
    features: [a]
    objective: binary:logistic
)";

std::string WithTuning(const std::string& tuning) { return std::string(kModel) + tuning; }

const TuningConfig& Tuning(const LoadResult& r) { return *r.config->models.at(0).tuning; }

TEST(ConfigTuning, FullSectionReads) {
  LoadResult r = LoadText(WithTuning(R"(    tuning:
      method: random
      trials: 50
      folds: 4
      gap: 10
      test_size: 200
      max_train_size: 5000
      by: time
      metric: brier
      prune: median
      seed: 7
      space:
        max_depth: {int: [2, 10], step: 2}
        eta: {float: [0.01, 0.3], log: true}
        subsample: {float: [0.5, 1.0], step: 0.1}
        grow_policy: {choice: [depthwise, lossguide]}
        min_child_weight: {choice: [1, 5, 10]}
)"));
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const TuningConfig& t = Tuning(r);
  EXPECT_EQ(t.method, TuningConfig::Method::kRandom);
  EXPECT_EQ(t.trials, 50);
  EXPECT_EQ(t.folds, 4);
  EXPECT_EQ(t.gap, 10);
  EXPECT_EQ(t.test_size, 200);
  EXPECT_EQ(t.max_train_size, 5000);
  EXPECT_TRUE(t.by_time);
  EXPECT_EQ(t.metric, "brier");
  EXPECT_EQ(t.prune, TuningConfig::Prune::kMedian);
  EXPECT_EQ(t.seed, 7u);
  EXPECT_EQ(t.pos.line, 16);
  ASSERT_EQ(t.space.size(), 5u);

  const SpaceParam& depth = t.space[0];
  EXPECT_EQ(depth.name, "max_depth");
  EXPECT_EQ(depth.kind, SpaceParam::Kind::kInt);
  EXPECT_EQ(depth.lo, 2);
  EXPECT_EQ(depth.hi, 10);
  EXPECT_EQ(depth.step, 2);
  EXPECT_FALSE(depth.log);
  EXPECT_EQ(depth.pos.line, 27);
  EXPECT_EQ(depth.pos.col, 9);

  const SpaceParam& eta = t.space[1];
  EXPECT_EQ(eta.name, "eta");
  EXPECT_EQ(eta.kind, SpaceParam::Kind::kFloat);
  EXPECT_DOUBLE_EQ(eta.lo, 0.01);
  EXPECT_DOUBLE_EQ(eta.hi, 0.3);
  EXPECT_FALSE(eta.step.has_value());
  EXPECT_TRUE(eta.log);

  const SpaceParam& subsample = t.space[2];
  EXPECT_EQ(subsample.kind, SpaceParam::Kind::kFloat);
  EXPECT_DOUBLE_EQ(subsample.lo, 0.5);
  EXPECT_DOUBLE_EQ(subsample.hi, 1.0);
  EXPECT_DOUBLE_EQ(*subsample.step, 0.1);
  EXPECT_FALSE(subsample.log);

  EXPECT_EQ(t.space[3].name, "grow_policy");
  EXPECT_EQ(t.space[3].kind, SpaceParam::Kind::kChoice);
  EXPECT_THAT(t.space[3].choices, ElementsAre("depthwise", "lossguide"));
  EXPECT_EQ(t.space[4].name, "min_child_weight");
  EXPECT_THAT(t.space[4].choices, ElementsAre("1", "5", "10"));  // kept as written
}

TEST(ConfigTuning, Defaults) {
  LoadResult r = LoadText(WithTuning("    tuning: {space: {max_depth: {int: [2, 8]}}}\n"));
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const TuningConfig& t = Tuning(r);
  EXPECT_EQ(t.method, TuningConfig::Method::kTpe);
  EXPECT_EQ(t.trials, 30);
  EXPECT_EQ(t.folds, 5);
  EXPECT_EQ(t.gap, 0);
  EXPECT_FALSE(t.test_size.has_value());
  EXPECT_FALSE(t.max_train_size.has_value());
  EXPECT_FALSE(t.by_time);
  EXPECT_EQ(t.metric, "log_loss");  // the model's
  EXPECT_EQ(t.prune, TuningConfig::Prune::kNone);
  EXPECT_EQ(t.seed, 0u);
  ASSERT_EQ(t.space.size(), 1u);
  EXPECT_FALSE(t.space[0].step.has_value());  // int step 1 is the sampler's default
}

TEST(ConfigTuning, AbsentSectionIsNoTuning) {
  LoadResult r = LoadText(kModel);
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_FALSE(r.config->models.at(0).tuning.has_value());
}

TEST(ConfigTuning, MetricDefaultsToTheModelsMetric) {
  LoadResult r = LoadText(
      WithTuning("    metric: accuracy\n    tuning: {space: {eta: {float: [0.1, 0.2]}}}\n"));
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(Tuning(r).metric, "accuracy");
}

TEST(ConfigTuning, MetricMustFitObjective) {
  EXPECT_THAT(Errors(WithTuning("    tuning: {metric: rmse, space: {eta: {float: [0.1, 0.2]}}}\n")),
              ElementsAre("15:22: models.result.tuning.metric: \"rmse\" does not apply to "
                          "objective binary:logistic"));
  EXPECT_THAT(
      Errors(WithTuning("    tuning: {metric: logloss, space: {eta: {float: [0.1, 0.2]}}}\n")),
      ElementsAre("15:22: models.result.tuning.metric: \"logloss\" is not one of log_loss, "
                  "accuracy, brier, ece, roc_auc, rmse, mae, poisson_deviance; did you mean "
                  "\"log_loss\"?"));
}

TEST(ConfigTuning, SpaceIsRequiredAndNotEmpty) {
  EXPECT_THAT(Errors(WithTuning("    tuning: {method: random}\n")),
              ElementsAre("15:13: models.result.tuning: missing required key \"space\" (the "
                          "parameters to search)"));
  EXPECT_THAT(Errors(WithTuning("    tuning: {space: {}}\n")),
              ElementsAre("15:21: models.result.tuning.space: must name at least one parameter "
                          "to search"));
}

TEST(ConfigTuning, LoMustBeLessThanHi) {
  EXPECT_THAT(Errors(WithTuning(R"(    tuning:
      space:
        max_depth: {int: [8, 3]}
        eta: {float: [0.3, 0.3]}
)")),
              ElementsAre("17:26: models.result.tuning.space.max_depth.int: lo (8) must be less "
                          "than hi (3)",
                          "18:22: models.result.tuning.space.eta.float: lo (0.3) must be less than "
                          "hi (0.3)"));
}

TEST(ConfigTuning, LogNeedsPositiveLo) {
  EXPECT_THAT(Errors(WithTuning(R"(    tuning:
      space:
        eta: {float: [0, 0.3], log: true}
        alpha: {float: [-1, 1], log: true}
        lambda: {float: [0, 1], log: false}
)")),
              ElementsAre("17:22: models.result.tuning.space.eta.float: log: true needs lo > 0, "
                          "got 0",
                          "18:24: models.result.tuning.space.alpha.float: log: true needs lo > 0, "
                          "got -1"));
}

TEST(ConfigTuning, EntryNeedsExactlyOneKind) {
  EXPECT_THAT(
      Errors(WithTuning(R"(    tuning:
      space:
        eta: {step: 0.1}
        max_depth: {int: [2, 8], choice: [3, 5]}
        gamma: {}
)")),
      ElementsAre("17:14: models.result.tuning.space.eta: give one of int: [lo, hi], float: [lo, "
                  "hi] or choice: [...]",
                  "18:34: models.result.tuning.space.max_depth: give only one of int, float or "
                  "choice",
                  "19:16: models.result.tuning.space.gamma: give one of int: [lo, hi], float: [lo, "
                  "hi] or choice: [...]"));
}

TEST(ConfigTuning, UnknownKeysSuggest) {
  EXPECT_THAT(Errors(WithTuning(R"(    tuning:
      metod: grid
      space:
        eta: {float: [0.01, 0.3], lgo: true}
        max_depth: {int: [2, 8], log: true}
        booster: {choice: [gbtree, dart], step: 1}
)")),
              ElementsAre("16:7: models.result.tuning: unknown key \"metod\"; did you mean "
                          "\"method\"?",
                          "18:35: models.result.tuning.space.eta: unknown key \"lgo\"; did you "
                          "mean \"log\"?",
                          "19:34: models.result.tuning.space.max_depth: unknown key \"log\": log "
                          "is only for float parameters",
                          "20:43: models.result.tuning.space.booster: unknown key \"step\": step "
                          "is only for int and float parameters"));
}

TEST(ConfigTuning, ParametersMlcronOwnsCannotBeTuned) {
  EXPECT_THAT(Errors(WithTuning(R"(    tuning:
      space:
        objective: {choice: ["binary:logistic", "binary:hinge"]}
        num_class: {int: [2, 4]}
        eval_metric: {choice: [logloss, auc]}
        max_depth: {int: [2, 8]}
)")),
              ElementsAre("17:9: models.result.tuning.space.objective: set by mlcron; it cannot be "
                          "tuned",
                          "18:9: models.result.tuning.space.num_class: fixed by the model's "
                          "labels; it cannot be tuned",
                          "19:9: models.result.tuning.space.eval_metric: set by mlcron; it cannot "
                          "be tuned"));
}

TEST(ConfigTuning, GridNeedsAStepForFloats) {
  EXPECT_THAT(Errors(WithTuning(R"(    tuning:
      method: grid
      space:
        max_depth: {int: [2, 8]}
        subsample: {float: [0.5, 1], step: 0.25}
        eta: {float: [0.01, 0.3], log: true}
        booster: {choice: [gbtree, dart]}
)")),
              ElementsAre("20:9: models.result.tuning.space.eta: grid needs a step for float "
                          "parameter eta"));
  LoadResult r = LoadText(WithTuning(R"(    tuning:
      method: grid
      space:
        subsample: {float: [0.5, 1], step: 0.25}
)"));
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(Tuning(r).method, TuningConfig::Method::kGrid);
}

TEST(ConfigTuning, BadValues) {
  EXPECT_THAT(
      Errors(WithTuning(R"(    tuning:
      method: bayes
      trials: 0
      folds: 1
      gap: -1
      test_size: 0
      by: day
      prune: hyperband
      seed: -3
      space:
        max_depth: {int: [2, 8.5], step: 0}
        eta: {float: [0.01, 0.3], step: 0}
        gamma: {float: [0.1, 5], step: 0.5, log: true}
        booster: {choice: [gbtree, gbtree, [dart]]}
        sampling_method: {choice: []}
        lambda: {float: 1}
)")),
      ElementsAre(
          "16:15: models.result.tuning.method: \"bayes\" is not one of grid, random, tpe",
          "17:15: models.result.tuning.trials: 0 is out of range; must be in 1..100000",
          "18:14: models.result.tuning.folds: 1 is out of range; must be in 2..1000",
          "19:12: models.result.tuning.gap: -1 is out of range; must be >= 0",
          "20:18: models.result.tuning.test_size: 0 is out of range; must be >= 1",
          "21:11: models.result.tuning.by: \"day\" is not one of rows, time",
          "22:14: models.result.tuning.prune: \"hyperband\" is not one of none, median",
          "23:13: models.result.tuning.seed: -3 is out of range; must be >= 0",
          "25:30: models.result.tuning.space.max_depth.int[1]: expected an integer, got \"8.5\"",
          "25:42: models.result.tuning.space.max_depth.step: 0 is out of range; must be >= 1",
          "26:41: models.result.tuning.space.eta.step: must be more than 0, got \"0\"",
          "27:45: models.result.tuning.space.gamma: give either log: true or step, not both",
          "28:36: models.result.tuning.space.booster.choice[1]: \"gbtree\" is listed twice",
          "28:44: models.result.tuning.space.booster.choice[2]: expected a string, got a list",
          "29:35: models.result.tuning.space.sampling_method.choice: must list at least one "
          "value",
          "30:25: models.result.tuning.space.lambda.float: expected [lo, hi] with numbers such "
          "as [0.01, 0.3], got \"1\""));
}

// Whether the folds fit depends on the rows at run time, and XGBoost's validate_parameters
// names an unknown parameter then: neither is a load error.
TEST(ConfigTuning, RunTimeChecksAreNotLoadErrors) {
  LoadResult r = LoadText(WithTuning(R"(    tuning:
      folds: 50
      test_size: 1000000
      gap: 1000000
      space:
        not_an_xgboost_param: {int: [1, 2]}
)"));
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(Tuning(r).space.at(0).name, "not_an_xgboost_param");
}

TEST(ConfigTuning, MisspeltSectionSuggests) {
  EXPECT_THAT(Errors(WithTuning("    tunning: {space: {eta: {float: [0.1, 0.2]}}}\n")),
              ElementsAre("15:5: models.result: unknown key \"tunning\"; did you mean "
                          "\"tuning\"?"));
}

TEST(ConfigTuning, SectionMustBeAMap) {
  EXPECT_THAT(Errors(WithTuning("    tuning: tpe\n")),
              ElementsAre("15:13: models.result.tuning: expected a map, got \"tpe\""));
}

}  // namespace
}  // namespace mlcron

namespace mlcron {
namespace {

// The `tune` job kind: its model must have a `tuning:` section, and `apply:` is one of three.
constexpr const char* kTuneJobs = R"(tiers:
  - tier: 1
    name: t
    every: 1h
    jobs:
      - {name: tune, kind: tune, model: result, apply: always}
      - {name: tune_plain, kind: tune, model: plain}
      - {name: tune_bad, kind: tune, model: result, apply: sometimes}
models:
  result:
    table: m
    key: id
    time: day
    label: y
    features: [a]
    objective: binary:logistic
    tuning: {space: {max_depth: {int: [2, 6]}}}
  plain:
    table: m
    key: id
    time: day
    label: y
    features: [a]
    objective: binary:logistic
)";

TEST(ConfigTuneJob, ModelNeedsTuningAndApplyIsAChoice) {
  EXPECT_THAT(Errors(kTuneJobs),
              ElementsAre("7:47: job \"tune_plain\": model: model \"plain\" has no tuning: "
                          "section to search",
                          "8:60: tiers[0].jobs[2].apply: \"sometimes\" is not one of better, "
                          "always, never"));
}

TEST(ConfigTuneJob, ApplyDefaultsToBetter) {
  LoadResult r = LoadText(R"(tiers:
  - tier: 1
    name: t
    every: 1h
    jobs:
      - {name: tune, kind: tune, model: result}
models:
  result:
    table: m
    key: id
    time: day
    label: y
    features: [a]
    objective: binary:logistic
    tuning: {space: {max_depth: {int: [2, 6]}}}
)");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(r.config->jobs.at(0).builtin.apply, "better");
}

}  // namespace
}  // namespace mlcron
