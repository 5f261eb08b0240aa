// Grid and random search, the XGBoost formatting and the median pruner (jobs/search.h).
#include "jobs/search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "jobs/search_random.h"
#include "tests/jobs/search_test_util.h"

namespace mlcron {
namespace {

using search_test::Choice;
using search_test::Float;
using search_test::Int;

TEST(ToXgbParamsTest, FormatsIntFloatAndChoice) {
  const std::vector<SpaceParam> space = {
      Int("max_depth", 2, 10), Float("eta", 0.001, 0.3, /*log=*/true),
      Float("subsample", 0.5, 1.0, false, 0.1), Choice("booster", {"gbtree", "dart"})};
  const ParamValues values = {{"max_depth", 6.0},
                              {"eta", std::sqrt(0.001)},
                              {"subsample", 0.1 * 7},
                              {"booster", 1.0},
                              {"not_in_space", 3.0}};
  const std::map<std::string, std::string> want = {{"booster", "dart"},
                                                   {"eta", "0.0316228"},
                                                   {"max_depth", "6"},
                                                   {"subsample", "0.7"}};
  EXPECT_EQ(ToXgbParams(space, values), want);
  // A parameter without a value is left out rather than invented.
  EXPECT_EQ(ToXgbParams(space, {{"max_depth", 3.0}}),
            (std::map<std::string, std::string>{{"max_depth", "3"}}));
}

TEST(GridSizeTest, ProductOfTheAxes) {
  EXPECT_EQ(
      GridSize({Int("a", 1, 5, 2), Float("b", 0.1, 0.3, false, 0.1), Choice("c", {"x", "y"})}),
      3 * 3 * 2);
  EXPECT_EQ(GridSize({Int("a", 0, 9)}), 10);
  EXPECT_EQ(GridSize({Int("a", 1, 6, 2)}), 3);  // 1, 3, 5: hi off the grid is left out
  EXPECT_EQ(GridSize({Int("a", 0, 9), Float("b", 0, 1)}), 0);  // no step: no grid
  EXPECT_EQ(GridSize({}), 0);
  EXPECT_EQ(GridSize({Int("a", 0, 999999), Int("b", 0, 999999), Int("c", 0, 999999),
                      Int("d", 0, 999999)}),
            std::numeric_limits<std::int64_t>::max());  // saturates
}

TEST(GridSamplerTest, FloatWithoutStepIsAnError) {
  SpaceParam eta = Float("eta", 0.01, 0.3);
  eta.pos.line = 14;
  auto sampler = MakeGridSampler({Int("max_depth", 2, 4), eta}, 1);
  ASSERT_FALSE(sampler.ok());
  EXPECT_EQ(sampler.message(),
            "tuning.space.eta (line 14): grid search needs a `step` for a float range (or use "
            "method: random or tpe)");
  auto empty = MakeGridSampler({}, 1);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.message(), "tuning.space: grid search needs at least one parameter");
}

TEST(GridSamplerTest, VisitsEveryPointOnceInASeededOrder) {
  const std::vector<SpaceParam> space = {Int("a", 1, 3, 2), Choice("b", {"x", "y", "z"})};
  ASSERT_EQ(GridSize(space), 6);
  auto visit = [&](std::uint64_t seed) {
    auto sampler = MakeGridSampler(space, seed);
    EXPECT_TRUE(sampler.ok());
    std::vector<std::pair<double, double>> order;
    for (int t = 0; t < 6; ++t) {
      ParamValues v = (*sampler)->Next(t, {});
      order.emplace_back(v.at("a"), v.at("b"));
    }
    return order;
  };
  const auto order = visit(7);
  const std::set<std::pair<double, double>> points(order.begin(), order.end());
  EXPECT_EQ(points,
            (std::set<std::pair<double, double>>{{1, 0}, {1, 1}, {1, 2}, {3, 0}, {3, 1}, {3, 2}}));
  // Pinned: the order for seed 7 must not change between builds or standard libraries.
  EXPECT_EQ(order, (std::vector<std::pair<double, double>>{
                       {3, 0}, {3, 1}, {1, 0}, {1, 1}, {1, 2}, {3, 2}}));
  EXPECT_EQ(visit(7), order);
  EXPECT_NE(visit(8), order);
  // Past the end the grid starts over.
  auto sampler = MakeGridSampler(space, 7);
  ASSERT_TRUE(sampler.ok());
  EXPECT_EQ((*sampler)->Next(6, {}), (*sampler)->Next(0, {}));
}

TEST(GridSamplerTest, FloatStepAxis) {
  auto sampler = MakeGridSampler({Float("subsample", 0.5, 1.0, false, 0.25)}, 3);
  ASSERT_TRUE(sampler.ok());
  std::set<double> seen;
  for (int t = 0; t < 3; ++t) seen.insert((*sampler)->Next(t, {}).at("subsample"));
  EXPECT_EQ(seen, (std::set<double>{0.5, 0.75, 1.0}));
}

TEST(RandomSamplerTest, DrawsStayInBoundsAndOnTheGrid) {
  const std::vector<SpaceParam> space = {Int("depth", 2, 10, 2),
                                         Int("leaves", 4, 256, std::nullopt, /*log=*/true),
                                         Float("eta", 0.001, 0.3, /*log=*/true),
                                         Float("subsample", 0.5, 1.0, false, 0.1),
                                         Float("gamma", 0, 5),
                                         Choice("booster", {"a", "b", "c"})};
  auto sampler = MakeRandomSampler(space, 42);
  std::set<double> depths, boosters;
  for (int t = 0; t < 500; ++t) {
    const ParamValues v = sampler->Next(t, {});
    ASSERT_EQ(v.size(), space.size());
    depths.insert(v.at("depth"));
    boosters.insert(v.at("booster"));
    const double leaves = v.at("leaves");
    EXPECT_EQ(leaves, std::round(leaves));
    EXPECT_GE(leaves, 4);
    EXPECT_LE(leaves, 256);
    EXPECT_GE(v.at("eta"), 0.001);
    EXPECT_LE(v.at("eta"), 0.3);
    const double k = (v.at("subsample") - 0.5) / 0.1;
    EXPECT_NEAR(k, std::round(k), 1e-9);
    EXPECT_GE(v.at("subsample"), 0.5);
    EXPECT_LE(v.at("subsample"), 1.0 + 1e-12);
    EXPECT_GE(v.at("gamma"), 0);
    EXPECT_LT(v.at("gamma"), 5);
  }
  EXPECT_EQ(depths, (std::set<double>{2, 4, 6, 8, 10}));
  EXPECT_EQ(boosters, (std::set<double>{0, 1, 2}));
}

TEST(RandomSamplerTest, LogDrawsHaveTheGeometricMeanAsMedian) {
  auto sampler = MakeRandomSampler({Float("eta", 0.001, 1.0, /*log=*/true)}, 5);
  std::vector<double> draws;
  for (int t = 0; t < 20001; ++t) draws.push_back(sampler->Next(t, {}).at("eta"));
  std::nth_element(draws.begin(), draws.begin() + 10000, draws.end());
  // log-uniform: the median is sqrt(0.001 · 1) ≈ 0.0316; a uniform draw's would be ≈ 0.5.
  EXPECT_NEAR(std::log(draws[10000]), std::log(std::sqrt(0.001)), 0.1);
}

TEST(RandomSamplerTest, DeterministicPerSeedAndDifferentAcrossSeeds) {
  const std::vector<SpaceParam> space = {Int("depth", 2, 10), Float("eta", 0.001, 0.3, true)};
  auto a = MakeRandomSampler(space, 11), b = MakeRandomSampler(space, 11),
       c = MakeRandomSampler(space, 12);
  int differ = 0;
  for (int t = 0; t < 20; ++t) {
    const ParamValues va = a->Next(t, {});
    EXPECT_EQ(va, b->Next(t, {}));
    if (va.at("eta") != c->Next(t, {}).at("eta")) ++differ;
  }
  EXPECT_EQ(differ, 20);
  // A draw depends on the trial number only, not on the calls made before it (resume).
  EXPECT_EQ(MakeRandomSampler(space, 11)->Next(9, {}), a->Next(9, {}));
  // Pinned: mt19937_64 and the hand-written transforms give these on every platform.
  const ParamValues first = MakeRandomSampler({Int("depth", 0, 99)}, 0)->Next(0, {});
  EXPECT_EQ(first.at("depth"), 77.0);
}

TEST(UniformTest, IndexIsUnbiasedEnough) {
  std::mt19937_64 rng = sampling::TrialRng(1, 0, sampling::Stream::kRandom);
  std::vector<int> counts(3);
  for (int i = 0; i < 30000; ++i) ++counts[sampling::UniformIndex(rng, 3)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 300);
  for (int i = 0; i < 1000; ++i) {
    const double u = sampling::Uniform01(rng);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(MedianPrunerTest, NeverBeforeFiveCompletedTrials) {
  MedianPruner pruner;
  const std::vector<std::vector<double>> four = {{0.1}, {0.2}, {0.3}, {0.4}};
  EXPECT_FALSE(pruner.ShouldPrune(four, 0, 100.0));
  EXPECT_FALSE(pruner.ShouldPrune({}, 0, 100.0));
}

TEST(MedianPrunerTest, ComparesWithTheMedianAtTheSameStep) {
  MedianPruner pruner;
  // Running means at steps 0 and 1 of five completed trials; medians 0.3 and 0.35.
  const std::vector<std::vector<double>> history = {
      {0.5, 0.4}, {0.1, 0.2}, {0.3, 0.35}, {0.2, 0.3}, {0.4, 0.5}};
  EXPECT_FALSE(pruner.ShouldPrune(history, 0, 0.3));  // exactly at the median: kept
  EXPECT_TRUE(pruner.ShouldPrune(history, 0, 0.30000001));
  EXPECT_FALSE(pruner.ShouldPrune(history, 0, 0.29));
  EXPECT_FALSE(pruner.ShouldPrune(history, 1, 0.35));
  EXPECT_TRUE(pruner.ShouldPrune(history, 1, 0.36));
  // No completed trial reached step 2: nothing to compare with.
  EXPECT_FALSE(pruner.ShouldPrune(history, 2, 9.0));
  // A NaN score is pruned, as Optuna does.
  EXPECT_TRUE(pruner.ShouldPrune(history, 0, std::nan("")));
}

TEST(MedianPrunerTest, EvenCountUsesTheMeanOfTheMiddlePair) {
  MedianPruner pruner;
  const std::vector<std::vector<double>> history = {{1}, {2}, {3}, {4}, {5}, {6}};
  EXPECT_FALSE(pruner.ShouldPrune(history, 0, 3.5));
  EXPECT_TRUE(pruner.ShouldPrune(history, 0, 3.5000001));
}

}  // namespace
}  // namespace mlcron
