#include "jobs/xgb_booster.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

namespace mlcron {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// rows × 2: x0 = i % 20 (the signal), x1 = a fixed pseudo-random nuisance, NaN every 7th.
struct Data {
  std::vector<float> x;
  std::vector<float> y;
  size_t rows = 0;
  static constexpr size_t kCols = 2;
};

template <typename Label>
Data MakeData(size_t rows, Label label) {
  Data d;
  d.rows = rows;
  for (size_t i = 0; i < rows; ++i) {
    float x0 = static_cast<float>(i % 20);
    d.x.push_back(x0);
    d.x.push_back(i % 7 == 3 ? kNaN : static_cast<float>((i * 37) % 11));
    d.y.push_back(label(x0));
  }
  return d;
}

XgbMatrix Matrix(const Data& d) {
  Result<XgbMatrix> m = XgbMatrix::FromDense(d.x, d.rows, Data::kCols, d.y);
  EXPECT_TRUE(m.ok()) << m.message();
  return std::move(m).value();
}

XgbParams Params(std::string objective) {
  return {{"objective", std::move(objective)},
          {"tree_method", "hist"},
          {"max_depth", "3"},
          {"nthread", "1"}};
}

// New booster, params, base_score from the labels, `rounds` rounds.
XgbBooster Trained(const Data& d, const XgbParams& params, int rounds) {
  Result<XgbBooster> b = XgbBooster::New();
  EXPECT_TRUE(b.ok()) << b.message();
  EXPECT_TRUE(b->SetParams(params).ok());
  EXPECT_TRUE(b->SetBaseScore(InitialBaseScore(params[0].second, d.y)).ok());
  Status s = b->Train(Matrix(d), rounds);
  EXPECT_TRUE(s.ok()) << s.message();
  return std::move(b).value();
}

std::vector<float> Predict(const XgbBooster& b, const Data& d, int rounds = 0) {
  Result<std::vector<float>> p = b.Predict(d.x, d.rows, Data::kCols, rounds);
  EXPECT_TRUE(p.ok()) << p.message();
  return p.ok() ? *p : std::vector<float>();
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(XgbBooster, VersionIsTheDebianLibrary) { EXPECT_EQ(XgbVersion(), "1.7.4"); }

TEST(XgbBooster, ConstantLabelIsPredictedFromBaseScore) {
  Data d = MakeData(50, [](float) { return 3.7f; });
  XgbBooster b = Trained(d, Params("reg:squarederror"), 5);
  std::vector<float> p = Predict(b, d);
  ASSERT_EQ(p.size(), 50u);
  for (float v : p) EXPECT_NEAR(v, 3.7f, 1e-6);
}

TEST(XgbBooster, OneStumpWithFullStepFitsTheGroupMeans) {
  // base 5, eta 1, no regularisation: one split at x0 < 10 with leaves -5 and +5.
  Data d = MakeData(40, [](float x0) { return x0 < 10 ? 0.f : 10.f; });
  XgbParams params = Params("reg:squarederror");
  params.insert(params.end(), {{"eta", "1"}, {"lambda", "0"}, {"max_depth", "1"}});
  XgbBooster b = Trained(d, params, 1);
  std::vector<float> p = Predict(b, d);
  for (size_t i = 0; i < d.rows; ++i) EXPECT_EQ(p[i], d.y[i]) << "row " << i;
}

TEST(XgbBooster, BinaryLogisticSeparatesSeparableData) {
  Data d = MakeData(200, [](float x0) { return x0 >= 10 ? 1.f : 0.f; });
  XgbBooster b = Trained(d, Params("binary:logistic"), 10);
  std::vector<float> p = Predict(b, d);
  ASSERT_EQ(p.size(), d.rows);
  for (size_t i = 0; i < d.rows; ++i) {
    EXPECT_GT(p[i], 0.f);
    EXPECT_LT(p[i], 1.f);
    EXPECT_EQ(p[i] > 0.5f, d.y[i] == 1.f) << "row " << i << " p " << p[i];
  }
}

TEST(XgbBooster, SoftprobGivesOneDistributionPerRow) {
  Data d = MakeData(150, [](float x0) { return std::floor(x0 / 7); });  // classes 0, 1, 2
  XgbParams params = Params("multi:softprob");
  params.emplace_back("num_class", "3");
  XgbBooster b = Trained(d, params, 5);
  std::vector<float> p = Predict(b, d);
  ASSERT_EQ(p.size(), d.rows * 3);
  for (size_t i = 0; i < d.rows; ++i) {
    EXPECT_NEAR(p[3 * i] + p[3 * i + 1] + p[3 * i + 2], 1.0, 1e-5) << "row " << i;
    size_t best = std::max_element(&p[3 * i], &p[3 * i + 3]) - &p[3 * i];
    EXPECT_EQ(best, static_cast<size_t>(d.y[i])) << "row " << i;
  }
}

TEST(XgbBooster, PoissonPredictsPositiveRates) {
  Data d = MakeData(100, [](float x0) { return std::fmod(x0, 5.f); });
  XgbBooster b = Trained(d, Params("count:poisson"), 5);
  for (float v : Predict(b, d)) EXPECT_GT(v, 0.f);
}

TEST(XgbBooster, SaveLoadPredictsTheSameBits) {
  Data d = MakeData(200, [](float x0) { return x0 >= 10 ? 1.f : 0.f; });
  XgbBooster b = Trained(d, Params("binary:logistic"), 8);
  Result<std::string> bytes = b.SaveUbj();
  ASSERT_TRUE(bytes.ok()) << bytes.message();
  Result<XgbBooster> loaded = XgbBooster::FromUbj(*bytes);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  EXPECT_EQ(loaded->BoostedRounds(), 8);
  EXPECT_TRUE(SameBits(Predict(*loaded, d), Predict(b, d)));
  Result<std::string> again = loaded->SaveUbj();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *bytes);
}

TEST(XgbBooster, IncrementalRoundsKeepTheParentTrees) {
  Data a = MakeData(200, [](float x0) { return x0 * 0.5f; });
  Data later = MakeData(120, [](float x0) { return x0 * 0.6f + 1; });
  XgbParams params = Params("reg:squarederror");
  XgbBooster parent = Trained(a, params, 10);
  Result<std::string> bytes = parent.SaveUbj();
  ASSERT_TRUE(bytes.ok());

  Result<XgbBooster> child = XgbBooster::FromUbj(*bytes);
  ASSERT_TRUE(child.ok()) << child.message();
  ASSERT_TRUE(child->SetParams(params).ok());  // no base_score on a loaded model
  Status s = child->Train(Matrix(later), 5);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(child->BoostedRounds(), 15);
  EXPECT_TRUE(SameBits(Predict(*child, a, 10), Predict(parent, a)));
  EXPECT_FALSE(SameBits(Predict(*child, a), Predict(parent, a)));
}

TEST(XgbBooster, FeatureNamesTravelInTheModelFile) {
  Data d = MakeData(60, [](float x0) { return x0; });
  Result<XgbBooster> b = XgbBooster::New();
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(b->SetFeatureNames({"age", "income"}).ok());
  ASSERT_TRUE(b->SetParams(Params("reg:squarederror")).ok());
  ASSERT_TRUE(b->Train(Matrix(d), 2).ok());
  Result<std::string> bytes = b->SaveUbj();
  ASSERT_TRUE(bytes.ok());
  Result<XgbBooster> loaded = XgbBooster::FromUbj(*bytes);
  ASSERT_TRUE(loaded.ok());
  Result<std::vector<std::string>> names = loaded->FeatureNames();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"age", "income"}));
  EXPECT_TRUE(loaded->CheckFeatures({"age", "income"}).ok());
  EXPECT_EQ(loaded->CheckFeatures({"income", "age"}).message(),
            "feature contract mismatch: the model has [age, income] but the rows have "
            "[income, age]");
  EXPECT_EQ(loaded->CheckFeatures({"age"}).message(),
            "feature contract mismatch: the model has [age, income] but the rows have [age]");
}

TEST(XgbBooster, UnknownParamFailsBeforeAnyTreeIsGrown) {
  Data d = MakeData(40, [](float x0) { return x0; });
  Result<XgbBooster> b = XgbBooster::New();
  ASSERT_TRUE(b.ok());
  XgbParams params = Params("reg:squarederror");
  params.emplace_back("max_dept", "4");
  ASSERT_TRUE(b->SetParams(params).ok());
  EXPECT_EQ(b->Train(Matrix(d), 3).message(), "unknown XGBoost param: max_dept");
  EXPECT_EQ(b->BoostedRounds(), 0);
  EXPECT_EQ(b->Train(Matrix(d), 3).message(), "unknown XGBoost param: max_dept");
}

TEST(XgbBooster, UnknownParamsAreAllNamed) {
  Data d = MakeData(40, [](float x0) { return x0; });
  Result<XgbBooster> b = XgbBooster::New();
  ASSERT_TRUE(b.ok());
  XgbParams params = Params("reg:squarederror");
  params.insert(params.end(), {{"zeta", "1"}, {"max_dept", "4"}, {"verbosity", "0"}});
  ASSERT_TRUE(b->SetParams(params).ok());
  EXPECT_EQ(b->Train(Matrix(d), 1).message(), "unknown XGBoost params: max_dept, zeta");
}

TEST(XgbBooster, UnknownParamOfALoadedModelSurvivesAnEarlierConfigure) {
  Data d = MakeData(40, [](float x0) { return x0; });
  Result<std::string> bytes = Trained(d, Params("reg:squarederror"), 2).SaveUbj();
  ASSERT_TRUE(bytes.ok());
  Result<XgbBooster> b = XgbBooster::FromUbj(*bytes);
  ASSERT_TRUE(b.ok());
  XgbParams params = Params("reg:squarederror");
  params.emplace_back("colsample_bytre", "0.5");
  ASSERT_TRUE(b->SetParams(params).ok());
  EXPECT_EQ(b->BoostedRounds(), 2);  // XGBoost warns here, once
  EXPECT_EQ(b->Train(Matrix(d), 1).message(), "unknown XGBoost param: colsample_bytre");
  EXPECT_EQ(b->Predict(d.x, d.rows, Data::kCols).message(),
            "unknown XGBoost param: colsample_bytre");
  EXPECT_EQ(b->BoostedRounds(), 2);
}

TEST(XgbBooster, UnknownParamIsCaughtOnAnyThread) {
  // XGBoost 1.7 keeps log callbacks per thread.
  Data d = MakeData(40, [](float x0) { return x0; });
  std::string message;
  std::thread t([&] {
    Result<XgbBooster> b = XgbBooster::New();
    XgbParams params = Params("reg:squarederror");
    params.emplace_back("max_dept", "4");
    if (b.ok() && b->SetParams(params).ok()) message = b->Train(Matrix(d), 1).message();
  });
  t.join();
  EXPECT_EQ(message, "unknown XGBoost param: max_dept");
}

TEST(XgbBooster, NewBoosterHasNothingToScoreOrSave) {
  Result<XgbBooster> b = XgbBooster::New();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->BoostedRounds(), 0);
  std::vector<float> x = {1, 2};
  EXPECT_EQ(b->Predict(x, 1, 2).message(), "XGBoost prediction: the booster has no trees yet");
  EXPECT_EQ(b->SaveUbj().message(), "XGBoost save: the booster has no trees yet");
  Result<std::vector<std::string>> names = b->FeatureNames();
  ASSERT_TRUE(names.ok());
  EXPECT_TRUE(names->empty());
}

TEST(XgbBooster, ShapesAreChecked) {
  std::vector<float> x(6, 1.f);
  std::vector<float> y(2, 1.f);
  EXPECT_EQ(XgbMatrix::FromDense(x, 2, 2, {}).message(),
            "XGBoost matrix: 6 values for 2 rows × 2 columns");
  EXPECT_EQ(XgbMatrix::FromDense(x, 3, 2, y).message(), "XGBoost matrix: 2 labels for 3 rows");
  EXPECT_EQ(XgbMatrix::FromDense({}, 0, 2, {}).message(),
            "XGBoost matrix: 0 rows × 2 columns is empty");
  Result<XgbMatrix> m = XgbMatrix::FromDense(x, 3, 2, {});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->rows(), 3u);
  EXPECT_EQ(m->cols(), 2u);

  Data d = MakeData(40, [](float x0) { return x0; });
  XgbBooster b = Trained(d, Params("reg:squarederror"), 2);
  EXPECT_EQ(b.Train(Matrix(d), 0).message(), "XGBoost training: 0 rounds, need at least 1");
  EXPECT_EQ(b.Predict(x, 2, 2).message(), "XGBoost prediction: 6 values for 2 rows × 2 columns");
  EXPECT_EQ(b.Predict(x, 2, 3).message(),
            "XGBoost prediction: ./src/predictor/cpu_predictor.cc:377: Check failed: "
            "m->NumColumns() == model.learner_model_param->num_feature (3 vs. 2) : Number of "
            "columns in data must equal to trained model.");
  EXPECT_NE(b.Predict(d.x, d.rows, Data::kCols, 3).message().find("Invalid number of trees"),
            std::string::npos);
  Result<std::vector<float>> none = b.Predict({}, 0, 2);
  ASSERT_TRUE(none.ok()) << none.message();
  EXPECT_TRUE(none->empty());
}

TEST(XgbBooster, MovedFromHandlesAreEmpty) {
  Data d = MakeData(40, [](float x0) { return x0; });
  XgbBooster a = Trained(d, Params("reg:squarederror"), 2);
  std::vector<float> before = Predict(a, d);
  XgbBooster b = std::move(a);
  Result<XgbBooster> c = XgbBooster::New();
  ASSERT_TRUE(c.ok());
  *c = std::move(b);
  EXPECT_TRUE(SameBits(Predict(*c, d), before));
  XgbMatrix m = Matrix(d);
  XgbMatrix n = std::move(m);
  EXPECT_EQ(m.handle(), nullptr);
  EXPECT_NE(n.handle(), nullptr);
}

TEST(XgbBooster, CorruptBytesAreRejectedWithoutACrash) {
  Data d = MakeData(40, [](float x0) { return x0; });
  Result<std::string> bytes = Trained(d, Params("reg:squarederror"), 2).SaveUbj();
  ASSERT_TRUE(bytes.ok());
  for (size_t n = 0; n < bytes->size(); ++n) {
    Result<XgbBooster> b = XgbBooster::FromUbj(std::string_view(*bytes).substr(0, n));
    ASSERT_FALSE(b.ok()) << "prefix of " << n << " bytes";
    ASSERT_EQ(b.message().rfind("not a UBJ model: ", 0), 0u) << b.message();
  }
  EXPECT_EQ(XgbBooster::FromUbj("").message(),
            "not a UBJ model: parse error at byte 1: syntax error while parsing UBJSON value: "
            "unexpected end of input");
  EXPECT_EQ(XgbBooster::FromUbj("garbage").message(),
            "not a UBJ model: parse error at byte 1: syntax error while parsing UBJSON value: "
            "invalid byte: 0x67");
  EXPECT_EQ(XgbBooster::FromUbj("i\x05").message(),
            "not a UBJ model: the top level is not an object");
  EXPECT_EQ(XgbBooster::FromUbj(std::string(100, '[')).message(),
            "not a UBJ model: nested deeper than 64");
  // Well-formed UBJSON that is no model: XGBoost's own error.
  EXPECT_EQ(XgbBooster::FromUbj("{}").message().rfind("XGBoost cannot load the model: ", 0), 0u);
  EXPECT_EQ(XgbBooster::FromUbj("{i\x01"
                                "aZ}")
                .message()
                .rfind("XGBoost cannot load the model: ", 0),
            0u);
}

TEST(XgbLabels, InitialBaseScoreFollowsTheObjective) {
  std::vector<float> y = {0, 1, 1, 1};
  EXPECT_DOUBLE_EQ(InitialBaseScore("binary:logistic", y), 0.75);
  EXPECT_DOUBLE_EQ(InitialBaseScore("reg:squarederror", y), 0.75);
  EXPECT_DOUBLE_EQ(InitialBaseScore("count:poisson", y), 0.75);
  EXPECT_DOUBLE_EQ(InitialBaseScore("multi:softprob", y), 0.5);
  std::vector<float> zeros = {0, 0};
  std::vector<float> ones = {1, 1};
  EXPECT_DOUBLE_EQ(InitialBaseScore("binary:logistic", zeros), 1e-6);
  EXPECT_DOUBLE_EQ(InitialBaseScore("binary:logistic", ones), 1 - 1e-6);
  EXPECT_DOUBLE_EQ(InitialBaseScore("count:poisson", zeros), 1e-6);
  std::vector<float> negative = {-2, -4};
  EXPECT_DOUBLE_EQ(InitialBaseScore("reg:squarederror", negative), -3);
  EXPECT_DOUBLE_EQ(InitialBaseScore("reg:squarederror", {}), 0.5);
}

TEST(XgbLabels, BadLabelsNameTheRowKey) {
  std::vector<std::string> keys = {"k1", "1234"};
  auto check = [&](std::string_view objective, int num_class, std::vector<float> labels) {
    return CheckLabels(objective, num_class, labels, keys).message();
  };
  EXPECT_EQ(check("multi:softprob", 3, {2, 3}),
            "label 3 of row key 1234 is outside 0..2 (multi:softprob with num_class 3)");
  EXPECT_EQ(check("multi:softprob", 3, {-1, 0}),
            "label -1 of row key k1 is outside 0..2 (multi:softprob with num_class 3)");
  EXPECT_EQ(check("multi:softprob", 3, {0, 1.5}),
            "label 1.5 of row key 1234 is not an integer (multi:softprob with num_class 3)");
  EXPECT_EQ(check("binary:logistic", 0, {1, 0.5}),
            "label 0.5 of row key 1234 is not 0 or 1 (binary:logistic)");
  EXPECT_EQ(check("count:poisson", 0, {-1, 2}),
            "label -1 of row key k1 is negative (count:poisson)");
  EXPECT_EQ(check("reg:squarederror", 0, {1, kNaN}),
            "label nan of row key 1234 is not a finite number");
  EXPECT_EQ(check("count:poisson", 0, {INFINITY, 1}),
            "label inf of row key k1 is not a finite number");
  EXPECT_EQ(check("multi:softprob", 1, {0, 0}), "multi:softprob needs num_class >= 2, not 1");
  EXPECT_EQ(check("rank:pairwise", 0, {0, 0}),
            "objective \"rank:pairwise\" is not supported (binary:logistic, multi:softprob, "
            "reg:squarederror, count:poisson)");
  EXPECT_EQ(check("reg:squarederror", 0, {1}), "labels: 1 labels but 2 row keys");
}

TEST(XgbLabels, GoodLabelsPass) {
  std::vector<std::string> keys = {"a", "b", "c"};
  std::vector<float> classes = {0, 2, 1};
  EXPECT_TRUE(CheckLabels("multi:softprob", 3, classes, keys).ok());
  std::vector<float> binary = {0, 1, 1};
  EXPECT_TRUE(CheckLabels("binary:logistic", 0, binary, keys).ok());
  std::vector<float> counts = {0, 7, 2.5};
  EXPECT_TRUE(CheckLabels("count:poisson", 0, counts, keys).ok());
  std::vector<float> real = {-1e30f, 0, 3.25};
  EXPECT_TRUE(CheckLabels("reg:squarederror", 0, real, keys).ok());
}

}  // namespace
}  // namespace mlcron
