// The signals job: each segment's rows scored by its production model and appended with the
// version; segments without a model skipped and counted; a contract mismatch or a corrupt
// model file fails the job with nothing written.
#include "jobs/signals_job.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "jobs/retrain_job.h"
#include "tests/jobs/retrain_test_util.h"

namespace mlcron {
namespace {

using ::testing::HasSubstr;

class SignalsJob : public testing::RetrainFixture {
 protected:
  void TrainAB() {
    AddRows("A", 0, 30, 10);
    AddRows("B", 0, 30, 10);
    std::ostringstream log;
    RetrainRequest request;
    request.now = std::chrono::sys_days(std::chrono::year(2024) / 3 / 1);
    request.out = &log;
    ASSERT_TRUE(RetrainModel(*config_, *config_->FindModel("m"), *data_, *registry_, request).ok());
    ASSERT_TRUE(data_
                    ->Exec("CREATE TABLE upcoming AS SELECT id + 1000 AS id, seg, '2024-02-01' "
                           "AS day, f0, f1, f2 FROM m WHERE id IN (1, 2, 301, 302)")
                    .ok());
    ASSERT_TRUE(
        data_->Exec("INSERT INTO upcoming VALUES (2000, 'C', '2024-02-01', 0.5, 0.5, 0.5)").ok());
  }
  Result<SignalsStats> Score() {
    SignalsRequest request;
    request.input = "upcoming";
    request.output = "signals";
    request.now = std::chrono::sys_days(std::chrono::year(2024) / 3 / 2);
    request.scheduled = "2024-03-02T09:55:00Z";
    request.run_id = "9";
    return ScoreSignals(*config_->FindModel("m"), *data_, *registry_, request);
  }
  std::int64_t SignalRows() {
    auto st = data_->Prepare(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'signals'");
    if (!*st.Step() || st.Int64(0) == 0) return 0;
    auto rows = data_->Prepare("SELECT count(*) FROM signals");
    return *rows.Step() ? rows.Int64(0) : -1;
  }
};

TEST_F(SignalsJob, ScoresEachSegmentWithItsProductionModel) {
  TrainAB();
  Result<SignalsStats> stats = Score();
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->scored, 4);
  EXPECT_EQ(stats->skipped, 1);
  EXPECT_EQ(stats->no_model.at("C"), 1);

  const std::int64_t a = registry_->Production("m", "A")->value().id;
  const std::int64_t b = registry_->Production("m", "B")->value().id;
  auto st = data_->Prepare(
      "SELECT key, segment, model, version, prediction, p_0, p_1, scheduled, run_at, run_id "
      "FROM signals ORDER BY CAST(key AS INTEGER)");
  std::vector<std::string> keys;
  while (*st.Step()) {
    keys.push_back(st.Text(0));
    EXPECT_EQ(st.Text(2), "m");
    EXPECT_EQ(st.Int64(3), st.Text(1) == "A" ? a : b);
    EXPECT_DOUBLE_EQ(st.Double(4), st.Double(6));  // binary: prediction = P(1)
    EXPECT_NEAR(st.Double(5) + st.Double(6), 1.0, 1e-6);
    EXPECT_GT(st.Double(6), 0.0);
    EXPECT_LT(st.Double(6), 1.0);
    EXPECT_EQ(st.Text(7), "2024-03-02T09:55:00Z");
    EXPECT_EQ(st.Text(8), "2024-03-02T00:00:00Z");
    EXPECT_EQ(st.Text(9), "9");
  }
  EXPECT_THAT(keys, ::testing::ElementsAre("1001", "1002", "1301", "1302"));
}

TEST_F(SignalsJob, FeatureContractMismatchWritesNothing) {
  TrainAB();
  Load(ModelYaml("[f1, f0, f2]"));
  Result<SignalsStats> stats = Score();
  ASSERT_FALSE(stats.ok());
  EXPECT_THAT(stats.message(), HasSubstr("different feature contract"));
  EXPECT_EQ(SignalRows(), 0);
}

TEST_F(SignalsJob, CorruptModelFileWritesNothing) {
  TrainAB();
  ASSERT_TRUE(Score().ok());
  const std::int64_t before = SignalRows();
  const ModelVersion b = registry_->Production("m", "B")->value();
  std::ofstream(b.file, std::ios::trunc) << "not a model";
  Result<SignalsStats> stats = Score();
  ASSERT_FALSE(stats.ok());
  EXPECT_THAT(stats.message(), HasSubstr("SHA-256 mismatch"));
  EXPECT_EQ(SignalRows(), before);
}

}  // namespace
}  // namespace mlcron
