// Broken references between tiers and jobs: duplicate names, unknown or forbidden `after:`
// targets, and cycles. Each test asserts the exact message and its line:col.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/config_loader.h"
#include "tests/daemon/config_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::Errors;
using ::testing::ElementsAre;

TEST(ConfigReferenceErrors, DuplicateJobName) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1m
    jobs: [{name: a, argv: [x]}]
  - tier: 2
    name: u
    every: 1m
    jobs: [{name: a, argv: [x]}]
)"),
              ElementsAre("9:19: tiers[1].jobs[0].name: \"a\" is already used by tiers[0].jobs[0] "
                          "(names of tiers and jobs must be unique)"));
}

TEST(ConfigReferenceErrors, DuplicateTierNameAndNumber) {
  EXPECT_THAT(Errors(R"(tiers:
  - {tier: 4, name: t, every: 1m, jobs: [{name: a, argv: [x]}]}
  - {tier: 4, name: t, every: 1m, jobs: [{name: b, argv: [x]}]}
)"),
              ElementsAre("3:12: tiers[1].tier: 4 is already the number of tiers[0] (\"t\")",
                          "3:21: tiers[1].name: \"t\" is already used by tiers[0] (names of tiers "
                          "and jobs must be unique)"));
}

TEST(ConfigReferenceErrors, DuplicateYamlKey) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 1
    name: t
    every: 1m
    name: u
    jobs: [{name: a, argv: [x]}]
)"),
              ElementsAre("5:5: tiers[0]: duplicate key \"name\" (first at line 3)"));
}

TEST(ConfigReferenceErrors, UnknownAfterWithSuggestion) {
  EXPECT_THAT(Errors(R"(tiers:
  - {tier: 4, name: features, every: 1m, jobs: [{name: a, argv: [x]}]}
  - {tier: 4.5, name: retrain, every: 1m, jobs: [{name: b, argv: [x]}]}
  - tier: 5
    name: signals
    every: 1m
    after: [retrian]
    jobs: [{name: c, argv: [x]}]
)"),
              ElementsAre("7:13: tiers[2].after: \"retrian\" names no tier or job; did you mean "
                          "\"retrain\"?"));
}

TEST(ConfigReferenceErrors, TierAfterSameOrHigherTier) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 4.5
    name: retrain
    every: 1m
    after: [signals, retrain, c]
    jobs: [{name: b, argv: [x]}]
  - {tier: 5, name: signals, every: 1m, jobs: [{name: c, argv: [x]}]}
)"),
              ElementsAre("5:13: tiers[0].after: \"signals\" is tier 5, not lower than tier 4.5",
                          "5:22: tiers[0].after: \"retrain\" is tier 4.5, not lower than tier 4.5",
                          "5:31: tiers[0].after: \"c\" is a job of tier 5, not lower than tier "
                          "4.5"));
}

TEST(ConfigReferenceErrors, JobAfterHigherTiersJob) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 4
    name: features
    every: 1m
    jobs:
      - {name: a, argv: [x], after: [predict]}
  - {tier: 5, name: signals, every: 1m, jobs: [{name: predict, argv: [x]}]}
)"),
              ElementsAre("6:38: tiers[0].jobs[0].after: \"predict\" is a job of tier 5, higher "
                          "than this job's tier 4"));
}

TEST(ConfigReferenceErrors, JobAfterItselfAndOwnTier) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 4
    name: features
    every: 1m
    jobs:
      - {name: a, argv: [x], after: [a, features]}
)"),
              ElementsAre("6:38: tiers[0].jobs[0].after: \"a\" is the job itself",
                          "6:41: tiers[0].jobs[0].after: \"features\" is this job's own tier; "
                          "name the jobs it waits for instead"));
}

TEST(ConfigReferenceErrors, CycleAmongJobsOfOneTier) {
  EXPECT_THAT(Errors(R"(tiers:
  - tier: 5
    name: signals
    every: 1m
    jobs:
      - {name: a, argv: [x], after: [b]}
      - {name: b, argv: [x], after: [c]}
      - {name: c, argv: [x], after: [a]}
      - {name: d, argv: [x]}
)"),
              ElementsAre("6:38: tiers[0].jobs[0].after: cycle among jobs of tier \"signals\": "
                          "a -> b -> c -> a"));
}

}  // namespace
}  // namespace mlcron
