#include "jobs/fingerprint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/sha256.h"

namespace mlcron {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

ModelConfig Churn() {
  ModelConfig m;
  m.name = "churn";
  m.table = "customers";
  m.label = "churned";
  m.features = {"age", "income"};
  m.objective = "binary:logistic";
  m.params = {{"eta", "0.1"}, {"max_depth", "4"}, {"tree_method", "hist"}};
  return m;
}

std::string Canonical(const ModelConfig& m, std::string_view xgb = "1.7.4") {
  return ComputeFingerprint(m, xgb).canonical;
}

std::vector<std::string> Change(const ModelConfig& before, const ModelConfig& after,
                                std::string_view xgb_before = "1.7.4",
                                std::string_view xgb_after = "1.7.4") {
  return DescribeFingerprintChange(Canonical(before, xgb_before), Canonical(after, xgb_after));
}

TEST(Fingerprint, CanonicalFormIsCompactSortedJson) {
  Fingerprint fp = ComputeFingerprint(Churn(), "1.7.4");
  EXPECT_EQ(fp.canonical,
            R"({"features":["age","income"],"label":"churned","objective":"binary:logistic",)"
            R"("params":{"eta":"0.1","max_depth":"4","tree_method":"hist"},"segment_by":"",)"
            R"("xgboost":"1.7.4"})");
  EXPECT_EQ(fp.hash, Sha256Hex(fp.canonical));
  // Pinned: stored fingerprints must keep matching across mlcron releases.
  EXPECT_EQ(fp.hash, "93b29f99537d536b978ec2a320318fb53f3fa93803a4380d13beee004ad7e967");
}

TEST(Fingerprint, RuntimeOnlyParamsDoNotChangeIt) {
  // A saved thread count once made every run see a "changed" model and retrain in full.
  ModelConfig m = Churn();
  m.params.emplace_back("nthread", "8");
  m.params.emplace_back("verbosity", "0");
  m.params.emplace_back("n_jobs", "4");
  EXPECT_EQ(ComputeFingerprint(m, "1.7.4").hash, ComputeFingerprint(Churn(), "1.7.4").hash);
  EXPECT_THAT(Change(Churn(), m), IsEmpty());
}

TEST(Fingerprint, RuntimeOnlyParamList) {
  EXPECT_TRUE(IsRuntimeOnlyParam("nthread"));
  EXPECT_TRUE(IsRuntimeOnlyParam("n_jobs"));
  EXPECT_TRUE(IsRuntimeOnlyParam("verbosity"));
  EXPECT_FALSE(IsRuntimeOnlyParam("seed"));  // changes the trees with subsampling
  EXPECT_FALSE(IsRuntimeOnlyParam("eta"));
  EXPECT_FALSE(IsRuntimeOnlyParam("tree_method"));
}

TEST(Fingerprint, ParamOrderInTheFileDoesNotCount) {
  ModelConfig m = Churn();
  m.params = {{"tree_method", "hist"}, {"max_depth", "4"}, {"eta", "0.1"}};
  EXPECT_EQ(Canonical(m), Canonical(Churn()));
}

TEST(Fingerprint, ARepeatedParamCountsWithItsLastValue) {
  ModelConfig m = Churn();
  m.params.emplace_back("eta", "0.05");
  EXPECT_THAT(Change(Churn(), m), ElementsAre("params.eta 0.1 → 0.05"));
}

TEST(Fingerprint, ChangedParamChangesIt) {
  ModelConfig m = Churn();
  m.params[0].second = "0.05";
  EXPECT_NE(ComputeFingerprint(m, "1.7.4").hash, ComputeFingerprint(Churn(), "1.7.4").hash);
  EXPECT_THAT(Change(Churn(), m), ElementsAre("params.eta 0.1 → 0.05"));
}

TEST(Fingerprint, SeedChangesIt) {
  ModelConfig m = Churn();
  m.params.emplace_back("seed", "7");
  EXPECT_THAT(Change(Churn(), m), ElementsAre("param seed added (7)"));
}

TEST(Fingerprint, ReorderedFeaturesChangeIt) {
  ModelConfig m = Churn();
  m.features = {"income", "age"};
  EXPECT_NE(ComputeFingerprint(m, "1.7.4").hash, ComputeFingerprint(Churn(), "1.7.4").hash);
  EXPECT_THAT(Change(Churn(), m), ElementsAre("features reordered"));
}

TEST(Fingerprint, DescribesEachKindOfChange) {
  ModelConfig a = Churn();
  ModelConfig b = Churn();
  b.params[1].second = "6";
  EXPECT_THAT(Change(a, b), ElementsAre("params.max_depth 4 → 6"));

  b = Churn();
  b.params.emplace_back("subsample", "0.8");
  EXPECT_THAT(Change(a, b), ElementsAre("param subsample added (0.8)"));
  EXPECT_THAT(Change(b, a), ElementsAre("param subsample removed (0.8)"));

  b = Churn();
  b.features.push_back("x");
  EXPECT_THAT(Change(a, b), ElementsAre("feature x added"));
  EXPECT_THAT(Change(b, a), ElementsAre("feature x removed"));

  b = Churn();
  b.features.insert(b.features.begin() + 1, "y");  // in the middle: not a reorder
  EXPECT_THAT(Change(a, b), ElementsAre("feature y added"));

  b = Churn();
  b.label = "outcome";
  EXPECT_THAT(Change(a, b), ElementsAre("label churned → outcome"));

  b = Churn();
  b.objective = "reg:squarederror";
  EXPECT_THAT(Change(a, b), ElementsAre("objective binary:logistic → reg:squarederror"));

  b = Churn();
  b.segment_by = "region";
  EXPECT_THAT(Change(a, b), ElementsAre("segment_by (none) → region"));

  EXPECT_THAT(Change(a, a, "1.7.4", "2.0.0"), ElementsAre("XGBoost 1.7.4 → 2.0.0"));
}

TEST(Fingerprint, DescribesSeveralChangesInAFixedOrder) {
  ModelConfig a = Churn();
  ModelConfig b = Churn();
  b.label = "outcome";
  b.features = {"income", "age", "tenure"};
  b.params[1].second = "6";
  b.params.emplace_back("subsample", "0.8");
  b.params.erase(b.params.begin());  // eta
  EXPECT_THAT(Change(a, b, "1.7.4", "2.0.0"),
              ElementsAre("label churned → outcome", "XGBoost 1.7.4 → 2.0.0",
                          "feature tenure added", "features reordered", "param eta removed (0.1)",
                          "params.max_depth 4 → 6", "param subsample added (0.8)"));
}

TEST(Fingerprint, EqualFormsHaveNoChange) {
  EXPECT_THAT(DescribeFingerprintChange(Canonical(Churn()), Canonical(Churn())), IsEmpty());
  // Same content, other whitespace: still equal.
  EXPECT_THAT(DescribeFingerprintChange(R"({"label": "a"})", R"({"label":"a"})"), IsEmpty());
}

TEST(Fingerprint, UnknownAndUnreadableFormsStillCountAsChanges) {
  const std::string now = Canonical(Churn());
  EXPECT_THAT(DescribeFingerprintChange("not json", now),
              ElementsAre("stored fingerprint unreadable"));
  // A field written by a newer mlcron.
  std::string newer = now;
  newer.insert(newer.size() - 1, R"(,"zeta":2)");
  EXPECT_THAT(DescribeFingerprintChange(now, newer), ElementsAre("zeta (none) → 2"));
}

}  // namespace
}  // namespace mlcron
