// TPE (jobs/tpe_sampler.cc) and its Parzen estimator (jobs/parzen_estimator.h) against hand
// values from Optuna 3.x's formulas, and its behaviour on small objectives.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "jobs/parzen_estimator.h"
#include "jobs/search.h"
#include "jobs/search_random.h"
#include "jobs/tpe_sampler.h"
#include "tests/jobs/search_test_util.h"

namespace mlcron {
namespace {

using search_test::Choice;
using search_test::Float;
using search_test::Int;

// Runs `trials` trials of `sampler` on `objective`, returning the finished trials.
std::vector<FinishedTrial> RunStudy(Sampler& sampler, int trials,
                                    const std::function<double(const ParamValues&)>& objective) {
  std::vector<FinishedTrial> done;
  for (int t = 0; t < trials; ++t) {
    FinishedTrial f;
    f.params = sampler.Next(t, done);
    f.value = objective(f.params);
    done.push_back(f);
  }
  return done;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

TEST(TpeDefaultsTest, Gamma) {
  EXPECT_EQ(tpe::DefaultGamma(10), 1);
  EXPECT_EQ(tpe::DefaultGamma(11), 2);
  EXPECT_EQ(tpe::DefaultGamma(26), 3);
  EXPECT_EQ(tpe::DefaultGamma(100), 10);
  EXPECT_EQ(tpe::DefaultGamma(241), 25);
  EXPECT_EQ(tpe::DefaultGamma(300), 25);
}

TEST(TpeDefaultsTest, Weights) {
  EXPECT_EQ(tpe::DefaultWeights(0), std::vector<double>{});
  EXPECT_EQ(tpe::DefaultWeights(10), std::vector<double>(10, 1.0));
  EXPECT_EQ(tpe::DefaultWeights(25), std::vector<double>(25, 1.0));
  // n = 26: a one-point ramp, np.linspace(1/26, 1, 1) = [1/26].
  std::vector<double> w26(26, 1.0);
  w26[0] = 1.0 / 26;
  EXPECT_EQ(tpe::DefaultWeights(26), w26);
  // n = 100: 75 ramp points from 0.01 to 1 in steps of 0.99/74, then 25 ones.
  const std::vector<double> w100 = tpe::DefaultWeights(100);
  ASSERT_EQ(w100.size(), 100u);
  EXPECT_DOUBLE_EQ(w100[0], 0.01);
  EXPECT_DOUBLE_EQ(w100[1], 0.01 + 0.99 / 74);
  EXPECT_DOUBLE_EQ(w100[37], 0.01 + 37 * 0.99 / 74);
  EXPECT_EQ(w100[74], 1.0);
  EXPECT_EQ(std::count(w100.begin() + 74, w100.end(), 1.0), 26);
  // n = 300: 275 ramp points from 1/300 to 1.
  const std::vector<double> w300 = tpe::DefaultWeights(300);
  ASSERT_EQ(w300.size(), 300u);
  EXPECT_DOUBLE_EQ(w300[0], 1.0 / 300);
  EXPECT_DOUBLE_EQ(w300[137], 1.0 / 300 + 137 * (1 - 1.0 / 300) / 274);
  EXPECT_EQ(w300[274], 1.0);
  EXPECT_TRUE(std::is_sorted(w300.begin(), w300.end()));
}

TEST(NormalMathTest, PpfAndGaussMass) {
  EXPECT_NEAR(tpe::NormalPpf(0.975), 1.959963984540054, 1e-14);
  EXPECT_NEAR(tpe::NormalPpf(0.025), -1.959963984540054, 1e-14);
  EXPECT_EQ(tpe::NormalPpf(0.5), 0.0);
  EXPECT_NEAR(tpe::LogGaussMass(-1.959963984540054, 1.959963984540054), std::log(0.95), 1e-13);
  EXPECT_NEAR(tpe::LogGaussMass(0, 1e9), std::log(0.5), 1e-15);
  // Deep tails stay finite: log Φ(−40) = −800 − log 40 − log √(2π) + log(1 − 1/1600 + …).
  EXPECT_NEAR(tpe::LogGaussMass(40, 41), -804.608, 1e-3);
  EXPECT_NEAR(tpe::LogGaussMass(-41, -40), -804.608, 1e-3);
}

TEST(ParzenEstimatorTest, BandwidthsOfThreeObservations) {
  // Observations 0.1, 0.15, 0.9 on [0, 1], the prior at 0.5. Sorted with the prior:
  // 0.1 0.15 0.5 0.9 between the ends 0 and 1. Neighbour distances, the larger one:
  // 0.15 → max(0.05, 0.35) = 0.35; the first and last kernel take the inner distance only
  // (consider_endpoints false): 0.1 → 0.05, 0.9 → 0.9 − 0.5 = 0.4.
  const std::vector<double> obs = {0.1, 0.15, 0.9};
  const std::vector<double> ones(3, 1.0);
  const tpe::NumericEstimator raw = tpe::BuildNumericEstimator(obs, ones, 0, 1, 0, false);
  ASSERT_EQ(raw.mus.size(), 4u);
  EXPECT_EQ(raw.mus, (std::vector<double>{0.1, 0.15, 0.9, 0.5}));
  EXPECT_NEAR(raw.sigmas[0], 0.05, 1e-15);
  EXPECT_NEAR(raw.sigmas[1], 0.35, 1e-15);
  EXPECT_NEAR(raw.sigmas[2], 0.4, 1e-15);
  EXPECT_EQ(raw.sigmas[3], 1.0);  // the prior: the whole range
  EXPECT_EQ(raw.weights, (std::vector<double>{0.25, 0.25, 0.25, 0.25}));
  // Magic clip: at least (1 − 0) / min(100, 1 + 4 kernels) = 0.2.
  const tpe::NumericEstimator clipped = tpe::BuildNumericEstimator(obs, ones, 0, 1, 0, true);
  EXPECT_EQ(clipped.sigmas[0], 0.2);
  EXPECT_NEAR(clipped.sigmas[1], 0.35, 1e-15);
  EXPECT_NEAR(clipped.sigmas[2], 0.4, 1e-15);
  EXPECT_EQ(clipped.sigmas[3], 1.0);
}

TEST(ParzenEstimatorTest, DiscreteRangeIsWidenedByHalfAStep) {
  // int [1, 5], observations 2 and 3: ends 0.5 and 5.5, range 5, prior N(3, 5). Sorted:
  // 2, 3, 3 (prior, after the equal observation). 2 → 3 − 2 = 1; 3 → max(1, 0) = 1;
  // clipped to 5 / min(100, 1 + 3) = 1.25.
  const std::vector<double> obs = {2, 3};
  const std::vector<double> ones(2, 1.0);
  const tpe::NumericEstimator e = tpe::BuildNumericEstimator(obs, ones, 1, 5, 1, true);
  EXPECT_EQ(e.mus, (std::vector<double>{2, 3, 3}));
  EXPECT_EQ(e.sigmas, (std::vector<double>{1.25, 1.25, 5}));
  // The grid cells' probabilities add up to one, and draws land on the grid.
  double total = 0;
  for (int x = 1; x <= 5; ++x) total += std::exp(e.LogPdf(x));
  EXPECT_NEAR(total, 1.0, 1e-12);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200; ++i) {
    const double x = e.Sample(rng);
    ASSERT_EQ(x, std::round(x));
    ASSERT_GE(x, 1);
    ASSERT_LE(x, 5);
  }
}

TEST(ParzenEstimatorTest, ContinuousDensityIntegratesToOne) {
  const std::vector<double> obs = {0.1, 0.15, 0.9};
  const std::vector<double> w = {0.5, 1, 1};
  const tpe::NumericEstimator e = tpe::BuildNumericEstimator(obs, w, 0, 1, 0, true);
  EXPECT_EQ(e.weights, (std::vector<double>{0.5 / 3.5, 1 / 3.5, 1 / 3.5, 1 / 3.5}));
  double integral = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) integral += std::exp(e.LogPdf((i + 0.5) / n)) / n;
  EXPECT_NEAR(integral, 1.0, 1e-6);
}

TEST(ParzenEstimatorTest, CategoricalWeightsWithThePrior) {
  // Choices 0..2, observations 0, 0, 2: three kernels and the prior, each weight 1/4.
  // A kernel's row: 1/4 on each choice, +1 on its own, over 1.75.
  const std::vector<int> obs = {0, 0, 2};
  const std::vector<double> ones(3, 1.0);
  const tpe::CategoricalEstimator e = tpe::BuildCategoricalEstimator(obs, ones, 3);
  const double own = 1.25 / 1.75, other = 0.25 / 1.75;
  EXPECT_NEAR(e.probs[0], 0.25 * (2 * own + other) + 0.25 / 3, 1e-15);
  EXPECT_NEAR(e.probs[1], 0.25 * (3 * other) + 0.25 / 3, 1e-15);
  EXPECT_NEAR(e.probs[2], 0.25 * (own + 2 * other) + 0.25 / 3, 1e-15);
  EXPECT_NEAR(e.probs[0] + e.probs[1] + e.probs[2], 1.0, 1e-15);
  EXPECT_EQ(tpe::BuildCategoricalEstimator({}, {}, 4).probs,
            (std::vector<double>{0.25, 0.25, 0.25, 0.25}));
}

TEST(TpeSamplerTest, StartupTrialsAreTheRandomSamplersDraws) {
  const std::vector<SpaceParam> space = {Float("x", -1, 1), Int("d", 1, 9),
                                         Choice("c", {"a", "b"})};
  auto tpe = MakeTpeSampler(space, 99);
  auto random = MakeRandomSampler(space, 99);
  const auto done = RunStudy(*tpe, 11, [](const ParamValues& v) { return v.at("x") * v.at("x"); });
  for (int t = 0; t < 10; ++t) EXPECT_EQ(done[t].params, random->Next(t, {})) << t;
  EXPECT_NE(done[10].params, random->Next(10, {}));
}

TEST(TpeSamplerTest, FailedTrialsDoNotCountAndPureForItsInputs) {
  const std::vector<SpaceParam> space = {Float("x", 0, 1)};
  auto tpe = MakeTpeSampler(space, 4);
  std::vector<FinishedTrial> done(12);
  for (size_t i = 0; i < done.size(); ++i) {
    done[i].params = {{"x", 0.05 * i}};
    done[i].value = static_cast<double>(i);
    done[i].complete = i % 2 == 0;
    done[i].failed = i % 4 == 1;  // 3 failed, 3 pruned, 6 complete: 9 < 10 still random
  }
  EXPECT_EQ(tpe->Next(12, done), sampling::RandomParams(space, 4, 12));
  done[1].failed = false;  // now 10 usable: the model takes over
  const ParamValues a = tpe->Next(12, done);
  EXPECT_NE(a, sampling::RandomParams(space, 4, 12));
  EXPECT_EQ(MakeTpeSampler(space, 4)->Next(12, done), a);
}

TEST(TpeSamplerTest, ConcentratesOnAQuadraticAndBeatsRandomSearch) {
  const std::vector<SpaceParam> space = {Float("x", 0, 1)};
  auto objective = [](const ParamValues& v) { return std::pow(v.at("x") - 0.3, 2); };
  auto best_distance = [&](Sampler& sampler) {
    double best = 1e9;
    for (const FinishedTrial& t : RunStudy(sampler, 60, objective)) {
      best = std::min(best, std::abs(t.params.at("x") - 0.3));
    }
    return best;
  };
  std::vector<double> tpe_best, random_best;
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    tpe_best.push_back(best_distance(*MakeTpeSampler(space, seed)));
    random_best.push_back(best_distance(*MakeRandomSampler(space, seed)));
    EXPECT_LT(tpe_best.back(), 0.02) << "seed " << seed;
  }
  EXPECT_LT(Median(tpe_best), Median(random_best));
}

TEST(TpeSamplerTest, LogAndIntParametersStayOnTheirGrid) {
  const std::vector<SpaceParam> space = {Int("leaves", 4, 256, std::nullopt, true),
                                         Float("eta", 0.001, 0.3, true), Int("depth", 2, 12, 2),
                                         Float("subsample", 0.5, 1.0, false, 0.1)};
  auto tpe = MakeTpeSampler(space, 8);
  // Best near leaves 32, eta 0.05, depth 6, subsample 0.8 (on the log scales).
  const auto done = RunStudy(*tpe, 40, [](const ParamValues& v) {
    return std::pow(std::log(v.at("leaves") / 32), 2) + std::pow(std::log(v.at("eta") / 0.05), 2) +
           std::pow(v.at("depth") - 6, 2) / 10 + std::pow(v.at("subsample") - 0.8, 2);
  });
  for (const FinishedTrial& t : done) {
    const ParamValues& v = t.params;
    EXPECT_EQ(v.at("leaves"), std::round(v.at("leaves")));
    EXPECT_GE(v.at("leaves"), 4);
    EXPECT_LE(v.at("leaves"), 256);
    EXPECT_GE(v.at("eta"), 0.001);
    EXPECT_LE(v.at("eta"), 0.3);
    EXPECT_EQ(std::fmod(v.at("depth"), 2), 0);
    EXPECT_GE(v.at("depth"), 2);
    EXPECT_LE(v.at("depth"), 12);
    const double k = (v.at("subsample") - 0.5) / 0.1;
    EXPECT_NEAR(k, std::round(k), 1e-9);
  }
}

TEST(TpeSamplerTest, CategoricalConvergesToTheBestChoice) {
  // b is best. Its repeats tie on value, so beyond the gamma(n) best they count as "above"
  // and TPE keeps trying the others now and then (as Optuna's does); still b takes well over
  // half of the 30 model-based trials for every seed, where random search gives it a quarter.
  const std::vector<SpaceParam> space = {Choice("booster", {"a", "b", "c", "d"})};
  const std::vector<double> loss = {0.5, 0.1, 0.7, 0.9};
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    auto tpe = MakeTpeSampler(space, seed);
    const auto done = RunStudy(
        *tpe, 40, [&](const ParamValues& v) { return loss[static_cast<int>(v.at("booster"))]; });
    std::vector<int> counts(4);
    for (int t = 10; t < 40; ++t) ++counts[static_cast<int>(done[t].params.at("booster"))];
    EXPECT_GE(counts[1], 18) << "seed " << seed;
    EXPECT_EQ(std::max_element(counts.begin(), counts.end()) - counts.begin(), 1);
  }
}

TEST(TpeSplitTest, FailedIgnoredPrunedAboveBestCompleteBelow) {
  // 14 trials: 2 failed, 3 pruned, 9 complete, so n = 12 and gamma(12) = 2.
  std::vector<FinishedTrial> done(14);
  const std::vector<double> values = {5, 0.1, 3, -9, 0.5, 0.5, 7, 2, 0.2, -50, 1, 0.5, 4, 6};
  for (size_t i = 0; i < done.size(); ++i) done[i].value = values[i];
  for (size_t i : {1, 9}) done[i].complete = false, done[i].failed = true;  // the best values
  for (size_t i : {3, 8, 13}) done[i].complete = false;                     // pruned
  tpe::TrialSplit split = tpe::SplitTrials(done);
  // Complete by value: 0.5 (#4), 0.5 (#5), 0.5 (#11), 1 (#10), ...: ties go to the older.
  EXPECT_EQ(split.below, (std::vector<size_t>{4, 5}));
  EXPECT_EQ(split.above, (std::vector<size_t>{0, 2, 3, 6, 7, 8, 10, 11, 12, 13}));
  // NaN values rank last; fewer complete trials than gamma: all of them are below.
  done.assign(11, FinishedTrial{});
  for (size_t i = 0; i < done.size(); ++i) done[i].complete = false;  // pruned
  done[7].complete = true;
  done[7].value = std::nan("");
  done[9].complete = true;
  done[9].value = 3;
  split = tpe::SplitTrials(done);  // n = 11, gamma = 2
  EXPECT_EQ(split.below, (std::vector<size_t>{7, 9}));
  done[2].complete = true;
  done[2].value = 8;
  split = tpe::SplitTrials(done);
  EXPECT_EQ(split.below, (std::vector<size_t>{2, 9}));
  EXPECT_EQ(split.above, (std::vector<size_t>{0, 1, 3, 4, 5, 6, 7, 8, 10}));
}

TEST(TpeSamplerTest, TheBestTrialPullsProposalsUnlessPruned) {
  // Nine complete trials at x = 0.1 .. 0.5 (value x) and one at 0.9 with by far the best
  // value. Complete, it is the whole below group (gamma(10) = 1) and proposals go to 0.9;
  // pruned, it counts as bad and no proposal comes near it.
  const std::vector<SpaceParam> space = {Float("x", 0, 1)};
  std::vector<FinishedTrial> done;
  for (int i = 0; i < 9; ++i) {
    const double x = 0.1 + 0.05 * i;
    done.push_back({{{"x", x}}, x, true, false});
  }
  done.push_back({{{"x", 0.9}}, -100.0, true, false});
  auto tpe = MakeTpeSampler(space, 6);
  for (int t = 10; t < 20; ++t) EXPECT_GT(tpe->Next(t, done).at("x"), 0.7) << t;
  done.back().complete = false;
  for (int t = 10; t < 20; ++t) EXPECT_LT(tpe->Next(t, done).at("x"), 0.8) << t;
}

}  // namespace
}  // namespace mlcron
