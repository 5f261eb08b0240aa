// The history read for `mlcron models history`: the holdout metric taken from metrics_json,
// production periods from audit rows, and a segment's versions read from a real registry.
#include "jobs/model_history.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace mlcron {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

TEST(HoldoutMetric, TakesTheNamedHoldoutNumber) {
  const std::string metrics =
      R"({"holdout": {"log_loss": 0.97, "accuracy": 0.5}, "production_holdout": null,
          "baseline": {"log_loss": 1.09}})";
  EXPECT_EQ(HoldoutMetric(metrics, "log_loss"), 0.97);
  EXPECT_EQ(HoldoutMetric(metrics, "accuracy"), 0.5);
  EXPECT_EQ(HoldoutMetric(R"({"holdout": {"rmse": 3}})", "rmse"), 3.0);
}

TEST(HoldoutMetric, AnythingElseIsNotRecorded) {
  EXPECT_EQ(HoldoutMetric(R"({"holdout": {"accuracy": 0.5}})", "log_loss"), std::nullopt);
  EXPECT_EQ(HoldoutMetric(R"({"holdout": {"log_loss": "0.97"}})", "log_loss"), std::nullopt);
  EXPECT_EQ(HoldoutMetric(R"({"holdout": {"log_loss": null}})", "log_loss"), std::nullopt);
  EXPECT_EQ(HoldoutMetric(R"({"holdout": null})", "log_loss"), std::nullopt);
  EXPECT_EQ(HoldoutMetric(R"({"holdout": [0.97]})", "log_loss"), std::nullopt);
  EXPECT_EQ(HoldoutMetric(R"({"baseline": {"log_loss": 1.09}})", "log_loss"), std::nullopt);
  EXPECT_EQ(HoldoutMetric("{}", "log_loss"), std::nullopt);
  EXPECT_EQ(HoldoutMetric("", "log_loss"), std::nullopt);
  EXPECT_EQ(HoldoutMetric("{\"holdout\": {", "log_loss"), std::nullopt);
  EXPECT_EQ(HoldoutMetric("[1, 2]", "log_loss"), std::nullopt);
}

AuditRecord Row(std::int64_t at, std::optional<std::int64_t> from, std::optional<std::int64_t> to,
                const std::string& action) {
  AuditRecord a;
  a.at = at;
  a.from_version = from;
  a.to_version = to;
  a.action = action;
  return a;
}

// "version from..to action", "open" for a period still running.
std::vector<std::string> Periods(const std::vector<AuditRecord>& rows) {
  std::vector<std::string> out;
  for (const ProductionPeriod& p : ProductionPeriods(rows)) {
    out.push_back(std::to_string(p.version) + " " + std::to_string(p.from) + ".." +
                  (p.to ? std::to_string(*p.to) : "open") + " " + p.action);
  }
  return out;
}

TEST(ProductionPeriods, EachMoveEndsThePreviousPeriod) {
  EXPECT_THAT(Periods({}), ElementsAre());
  EXPECT_THAT(Periods({Row(100, std::nullopt, 1, "promote")}), ElementsAre("1 100..open promote"));
  EXPECT_THAT(Periods({Row(100, std::nullopt, 1, "promote"), Row(300, 1, 3, "promote"),
                       Row(500, 3, 1, "rollback"), Row(700, 1, 5, "promote")}),
              ElementsAre("1 100..300 promote", "3 300..500 promote", "1 500..700 rollback",
                          "5 700..open promote"));
}

TEST(ProductionPeriods, PinRowsDoNotMoveProduction) {
  EXPECT_THAT(Periods({Row(100, std::nullopt, 1, "promote"), Row(150, 1, 1, "pin"),
                       Row(200, std::nullopt, 2, "pin"), Row(250, 2, std::nullopt, "unpin"),
                       Row(300, 1, 3, "promote")}),
              ElementsAre("1 100..300 promote", "3 300..open promote"));
}

TEST(ProductionPeriods, AMoveToTheSameVersionContinuesAndNoVersionEnds) {
  EXPECT_THAT(
      Periods({Row(100, std::nullopt, 1, "promote"), Row(200, 1, 1, "rollback"),
               Row(300, 1, std::nullopt, "rollback"), Row(400, std::nullopt, 2, "promote")}),
      ElementsAre("1 100..300 promote", "2 400..open promote"));
}

class ModelHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mlcron-history-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    config_.state_dir = tmpl + "/state";
    auto opened = Registry::Open(config_);
    ASSERT_TRUE(opened.ok()) << opened.message();
    registry_ = std::move(opened).value();
  }
  void TearDown() override {
    registry_.reset();
    std::error_code ec;
    fs::remove_all(fs::path(config_.state_dir).parent_path(), ec);
  }

  std::int64_t Add(const std::string& segment, const std::string& kind, std::int64_t created_at,
                   const std::string& metrics, bool promote, const std::string& status = "") {
    ModelVersion v;
    v.model = "result";
    v.segment = segment;
    v.kind = kind;
    v.trees = kind == "full" ? 300 : 330;
    v.rows = kind == "full" ? 1200 : 150;
    v.holdout_from = SqlValue::Text("2017-05-22");
    v.holdout_to = SqlValue::Text("2017-05-28");
    v.file = "/m/" + std::to_string(created_at) + ".ubj";
    v.sha256 = "ab" + std::to_string(created_at);
    v.created_at = created_at;
    v.status = status;
    v.metrics_json = metrics;
    auto id = registry_->AddVersion(std::move(v), promote, "retrain_result");
    EXPECT_TRUE(id.ok()) << id.message();
    return id.ok() ? *id : -1;
  }

  Config config_;
  std::unique_ptr<Registry> registry_;
};

std::string Metrics(double log_loss) {
  return R"({"holdout": {"log_loss": )" + std::to_string(log_loss) +
         R"(}, "production_holdout": null, "baseline": {"log_loss": 1.09}})";
}

TEST_F(ModelHistoryTest, ReadsOneSegmentOldestFirstWithPeriods) {
  Add("E0", "full", 1000, Metrics(0.95), true);                      // 1
  Add("SP1", "full", 1500, Metrics(0.5), true);                      // 2, another segment
  Add("E0", "incremental", 2000, Metrics(0.97), false, "rejected");  // 3
  Add("E0", "incremental", 3000, Metrics(0.9), true);                // 4
  Add("E0", "full", 4000, "{}", false);                              // 5, not evaluated
  // A rollback to 1, as the rollback command records it.
  ASSERT_TRUE(registry_->db()
                  .Exec("UPDATE model_production SET version_id = 1, since = 5000 "
                        "WHERE model = 'result' AND segment = 'E0'; "
                        "INSERT INTO model_audit (at, model, segment, from_version, to_version, "
                        "action, reason, actor) VALUES (5000, 'result', 'E0', 4, 1, 'rollback', "
                        "'worse live', 'ops')")
                  .ok());

  auto h = ReadHistory(*registry_, "result", "E0", "log_loss");
  ASSERT_TRUE(h.ok()) << h.message();
  EXPECT_EQ(h->model, "result");
  EXPECT_EQ(h->segment, "E0");
  EXPECT_EQ(h->metric, "log_loss");
  std::vector<std::string> versions;
  for (const HistoryVersion& v : h->versions) {
    versions.push_back(
        fmt::format("{} {} {} {} {} {} {}..{} {} {}", v.id, v.created_at, v.kind, v.status, v.trees,
                    v.rows, v.holdout_from.ToString(), v.holdout_to.ToString(),
                    v.metric ? std::to_string(*v.metric) : "-", v.production ? "*" : ""));
  }
  EXPECT_THAT(versions,
              ElementsAre("1 1000 full archived 300 1200 2017-05-22..2017-05-28 0.950000 *",
                          "3 2000 incremental rejected 330 150 2017-05-22..2017-05-28 0.970000 ",
                          "4 3000 incremental production 330 150 2017-05-22..2017-05-28 0.900000 ",
                          "5 4000 full candidate 300 1200 2017-05-22..2017-05-28 - "));
  ASSERT_EQ(h->periods.size(), 3u);
  std::vector<std::string> periods;
  for (const ProductionPeriod& p : h->periods) {
    periods.push_back(fmt::format("{} {}..{} {}", p.version, p.from,
                                  p.to ? std::to_string(*p.to) : "open", p.action));
  }
  EXPECT_THAT(periods,
              ElementsAre("1 1000..3000 promote", "4 3000..5000 promote", "1 5000..open rollback"));
}

TEST_F(ModelHistoryTest, TheUnsegmentedModelIsItsOwnSegment) {
  Add("", "full", 1000, Metrics(0.8), true);
  Add("E0", "full", 2000, Metrics(0.7), true);
  auto segments = HistorySegments(*registry_, "result");
  ASSERT_TRUE(segments.ok()) << segments.message();
  EXPECT_THAT(*segments, ElementsAre("", "E0"));
  auto h = ReadHistory(*registry_, "result", "", "log_loss");
  ASSERT_TRUE(h.ok()) << h.message();
  ASSERT_EQ(h->versions.size(), 1u);  // not E0's version: "" is a segment here, not "all"
  EXPECT_EQ(h->versions[0].id, 1);
  EXPECT_TRUE(h->versions[0].production);
  ASSERT_EQ(h->periods.size(), 1u);
  EXPECT_EQ(h->periods[0].version, 1);
}

TEST_F(ModelHistoryTest, AnUnknownModelHasNoSegmentsAndAnEmptyHistory) {
  auto segments = HistorySegments(*registry_, "nope");
  ASSERT_TRUE(segments.ok()) << segments.message();
  EXPECT_TRUE(segments->empty());
  auto h = ReadHistory(*registry_, "nope", "", "rmse");
  ASSERT_TRUE(h.ok()) << h.message();
  EXPECT_TRUE(h->versions.empty());
  EXPECT_TRUE(h->periods.empty());
}

}  // namespace
}  // namespace mlcron
