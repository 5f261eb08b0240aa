#include "jobs/holdout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace mlcron {
namespace {

// [first, first + n) as unix seconds, one row per `step`.
std::vector<std::int64_t> Times(std::int64_t first, int n, std::int64_t step = 1) {
  std::vector<std::int64_t> t(n);
  for (int i = 0; i < n; ++i) t[i] = first + i * step;
  return t;
}

struct Ranges {
  size_t train_begin, train_end, holdout_begin, holdout_end;
  bool operator==(const Ranges&) const = default;
};
Ranges Of(const SplitPlan& p) {
  return {p.train_begin, p.train_end, p.holdout_begin, p.holdout_end};
}
std::ostream& operator<<(std::ostream& os, const Ranges& r) {
  return os << "train [" << r.train_begin << ", " << r.train_end << ") holdout [" << r.holdout_begin
            << ", " << r.holdout_end << ")";
}

SplitRequest Request(std::optional<std::int64_t> watermark, std::int64_t min_rows = 2) {
  SplitRequest r;
  r.watermark = watermark;
  r.fraction = 0.2;
  r.min_holdout_rows = min_rows;
  return r;
}

TEST(HoldoutRows, FloorsThePoolFraction) {
  EXPECT_EQ(HoldoutRows(100, 0.2), 20);
  EXPECT_EQ(HoldoutRows(99, 0.2), 19);
  EXPECT_EQ(HoldoutRows(60, 0.2), 12);
  EXPECT_EQ(HoldoutRows(7, 0.5), 3);
  EXPECT_EQ(HoldoutRows(0, 0.2), 0);
  EXPECT_EQ(HoldoutRows(-5, 0.2), 0);
}

TEST(HoldoutRows, FloatErrorDoesNotLoseARow) {
  ASSERT_LT(100 * 0.29, 29.0);  // the product the naive floor gets wrong
  EXPECT_EQ(HoldoutRows(100, 0.29), 29);
  EXPECT_EQ(HoldoutRows(1000000, 0.29), 290000);
}

TEST(PlanSplit, WithoutWatermarkTakesTheNewestFractionOfAllRows) {
  const auto t = Times(1, 10);
  SplitPlan p = PlanSplit(t, Request(std::nullopt));
  ASSERT_TRUE(p.ok()) << p.infeasible;
  EXPECT_EQ(Of(p), (Ranges{0, 8, 8, 10}));
}

TEST(PlanSplit, EqualTimestampsAtTheCutGoToTheHoldout) {
  // k = 2 puts the cut at row 8, inside the group of time 7 (rows 6..8).
  const std::vector<std::int64_t> t = {1, 2, 3, 4, 5, 6, 7, 7, 7, 8};
  SplitPlan p = PlanSplit(t, Request(std::nullopt));
  ASSERT_TRUE(p.ok()) << p.infeasible;
  EXPECT_EQ(Of(p), (Ranges{0, 6, 6, 10}));
  EXPECT_LT(t[p.train_end - 1], t[p.holdout_begin]);
}

TEST(PlanSplit, CutOnAGroupBoundaryStaysPut) {
  const std::vector<std::int64_t> t = {1, 2, 3, 4, 5, 6, 7, 7, 8, 8};
  EXPECT_EQ(Of(PlanSplit(t, Request(std::nullopt))), (Ranges{0, 8, 8, 10}));
}

TEST(PlanSplit, OneTimestampForAllRowsLeavesNoTrainingRows) {
  const std::vector<std::int64_t> t(10, 5);
  SplitPlan p = PlanSplit(t, Request(std::nullopt));
  EXPECT_EQ(p.infeasible, "no training rows before the holdout");
  EXPECT_EQ(p.holdout_begin, 0u);
}

TEST(PlanSplit, HoldoutNeverContainsRowsProductionTrainedOn) {
  // 100 rows at times 1..100; production trained up to time 90. A naive "newest 20% of all
  // rows" holdout (times 81..100) would score production on ten rows it has learnt.
  const auto t = Times(1, 100);
  const std::int64_t watermark = 90;
  const size_t naive_begin = t.size() - static_cast<size_t>(HoldoutRows(100, 0.2));
  ASSERT_LE(t[naive_begin], watermark);

  SplitPlan p = PlanSplit(t, Request(watermark));
  ASSERT_TRUE(p.ok()) << p.infeasible;
  EXPECT_EQ(Of(p), (Ranges{0, 98, 98, 100}));  // pool = 10 rows, k = 2
  for (size_t i = p.holdout_begin; i < p.holdout_end; ++i) EXPECT_GT(t[i], watermark) << i;
  EXPECT_LE(p.train_end, p.holdout_begin);
}

TEST(PlanSplit, RowsAtTheWatermarkTimeAreNotInThePool) {
  const std::vector<std::int64_t> t = {10, 20, 30, 30, 30, 31, 32, 33, 34, 35};
  SplitRequest r = Request(30);
  r.fraction = 0.4;  // pool = rows 5..9, k = 2
  SplitPlan p = PlanSplit(t, r);
  ASSERT_TRUE(p.ok()) << p.infeasible;
  EXPECT_EQ(Of(p), (Ranges{0, 8, 8, 10}));
  r.incremental = true;
  EXPECT_EQ(Of(PlanSplit(t, r)), (Ranges{5, 8, 8, 10}));
}

TEST(PlanSplit, IncrementalTrainsOnlyAfterTheWatermark) {
  const auto t = Times(1, 100);
  SplitRequest r = Request(60);  // pool = rows 60..99 (times 61..100), k = 8
  r.incremental = true;
  SplitPlan p = PlanSplit(t, r);
  ASSERT_TRUE(p.ok()) << p.infeasible;
  EXPECT_EQ(Of(p), (Ranges{60, 92, 92, 100}));
  EXPECT_GT(t[p.train_begin], 60);
  EXPECT_EQ(t[p.train_begin - 1], 60);
}

TEST(PlanSplit, CutGroupStartingAtThePoolStartTakesTheWholePool) {
  // The group of the cut reaches back to the pool's first row but no further: every row
  // before the pool is at or before the watermark, so it cannot share the cut's time.
  const std::vector<std::int64_t> t = {10, 20, 30, 40, 40, 40, 40, 40, 40, 40};
  SplitRequest r = Request(30);  // pool = rows 3..9, k = 1, cut at row 9 -> group start 3
  SplitPlan full = PlanSplit(t, r);
  ASSERT_TRUE(full.ok()) << full.infeasible;
  EXPECT_EQ(Of(full), (Ranges{0, 3, 3, 10}));

  r.incremental = true;
  SplitPlan inc = PlanSplit(t, r);
  EXPECT_EQ(inc.infeasible, "no training rows before the holdout");
  EXPECT_EQ(inc.holdout_begin, 3u);
}

TEST(PlanSplit, WindowStartsAtTheFirstRowWithinItOfTheCut) {
  const auto t = Times(0, 10, 100);  // 0, 100, ..., 900; cut at row 8 (time 800)
  SplitRequest r = Request(std::nullopt);
  r.window_seconds = 350;  // from time 450
  EXPECT_EQ(Of(PlanSplit(t, r)), (Ranges{5, 8, 8, 10}));
  r.window_seconds = 300;  // from time 500, inclusive
  EXPECT_EQ(Of(PlanSplit(t, r)), (Ranges{5, 8, 8, 10}));
  r.window_seconds = 299;  // from time 501
  EXPECT_EQ(Of(PlanSplit(t, r)), (Ranges{6, 8, 8, 10}));
  r.window_seconds = 100000;
  EXPECT_EQ(Of(PlanSplit(t, r)), (Ranges{0, 8, 8, 10}));
}

TEST(PlanSplit, WindowDoesNotNarrowIncrementalTraining) {
  const auto t = Times(0, 10, 100);
  SplitRequest r = Request(150, 1);  // pool = rows 2..9, k = 1
  r.incremental = true;
  r.window_seconds = 100;
  EXPECT_EQ(Of(PlanSplit(t, r)), (Ranges{2, 9, 9, 10}));
}

TEST(PlanSplit, TooFewUnseenRowsIsInfeasible) {
  const auto t = Times(1, 60);
  SplitPlan p = PlanSplit(t, Request(std::nullopt, 20));
  EXPECT_EQ(p.infeasible, "waiting for unseen rows: 12 < 20");
}

TEST(PlanSplit, TiesAtTheCutCanMakeTheHoldoutLargeEnough) {
  // k = 12, but the newest 25 rows share one time: all 25 are holdout.
  std::vector<std::int64_t> t = Times(1, 35);
  t.insert(t.end(), 25, 100);
  SplitPlan p = PlanSplit(t, Request(std::nullopt, 20));
  ASSERT_TRUE(p.ok()) << p.infeasible;
  EXPECT_EQ(Of(p), (Ranges{0, 35, 35, 60}));
}

TEST(PlanSplit, NoRowsAfterTheWatermarkIsInfeasible) {
  const auto t = Times(1, 50);
  EXPECT_EQ(PlanSplit(t, Request(50, 20)).infeasible, "waiting for unseen rows: 0 < 20");
  EXPECT_EQ(PlanSplit({}, Request(std::nullopt, 20)).infeasible, "waiting for unseen rows: 0 < 20");
}

TEST(PlanSplit, ZeroSizedHoldoutIsInfeasibleEvenWithoutAMinimum) {
  const auto t = Times(1, 4);  // k = floor(0.8) = 0
  EXPECT_EQ(PlanSplit(t, Request(std::nullopt, 0)).infeasible, "waiting for unseen rows: 0 < 1");
}

TEST(PlanSplit, UnsortedRowsAreRefused) {
  const std::vector<std::int64_t> t = {1, 5, 1, 7};
  EXPECT_EQ(PlanSplit(t, Request(std::nullopt)).infeasible,
            "rows are not sorted by time: row 2 (time 1) follows time 5");
}

}  // namespace
}  // namespace mlcron
