// TimeSeriesSplit against scikit-learn 1.2's TimeSeriesSplit: the exact folds of its
// docstring and tests, its error messages, and the by-time mode with repeated timestamps.
#include "jobs/time_series_split.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <vector>

namespace mlcron {

void PrintTo(const Fold& f, std::ostream* os) {
  *os << "train [" << f.train_begin << ", " << f.train_end << ") test [" << f.test_begin << ", "
      << f.test_end << ")";
}

namespace {

using ::testing::ElementsAre;

Fold F(std::int64_t train_begin, std::int64_t train_end, std::int64_t test_begin,
       std::int64_t test_end) {
  return Fold{train_begin, train_end, test_begin, test_end};
}

SplitOptions Splits(int n_splits, std::optional<std::int64_t> test_size = std::nullopt,
                    std::int64_t gap = 0,
                    std::optional<std::int64_t> max_train_size = std::nullopt) {
  return SplitOptions{n_splits, test_size, gap, max_train_size};
}

std::vector<Fold> Folds(std::int64_t n, const SplitOptions& o) {
  Result<std::vector<Fold>> r = TimeSeriesSplit(n, o);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? *r : std::vector<Fold>{};
}

std::string Error(std::int64_t n, const SplitOptions& o) {
  Result<std::vector<Fold>> r = TimeSeriesSplit(n, o);
  EXPECT_FALSE(r.ok());
  return r.message();
}

std::vector<Fold> FoldsByTime(const std::vector<std::int64_t>& times, const SplitOptions& o) {
  Result<std::vector<Fold>> r = TimeSeriesSplitByTime(times, o);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? *r : std::vector<Fold>{};
}

std::string ErrorByTime(const std::vector<std::int64_t>& times, const SplitOptions& o) {
  Result<std::vector<Fold>> r = TimeSeriesSplitByTime(times, o);
  EXPECT_FALSE(r.ok());
  return r.message();
}

// The example: test_size 12 // 4 = 3, test starts 3, 6, 9, train ends 2, 5, 8.
TEST(TimeSeriesSplit, TwelveRowsThreeSplitsGapOne) {
  EXPECT_THAT(Folds(12, Splits(3, std::nullopt, 1)),
              ElementsAre(F(0, 2, 3, 6), F(0, 5, 6, 9), F(0, 8, 9, 12)));
}

// scikit-learn's docstring: TimeSeriesSplit() on 6 samples.
TEST(TimeSeriesSplit, DocstringDefaultFiveSplits) {
  EXPECT_EQ(SplitOptions{}.n_splits, 5);
  EXPECT_THAT(Folds(6, SplitOptions{}), ElementsAre(F(0, 1, 1, 2), F(0, 2, 2, 3), F(0, 3, 3, 4),
                                                    F(0, 4, 4, 5), F(0, 5, 5, 6)));
}

// Docstring: TimeSeriesSplit(n_splits=3, test_size=2) on 12 samples.
TEST(TimeSeriesSplit, DocstringTestSizeTwo) {
  EXPECT_THAT(Folds(12, Splits(3, 2)),
              ElementsAre(F(0, 6, 6, 8), F(0, 8, 8, 10), F(0, 10, 10, 12)));
}

// Docstring: TimeSeriesSplit(n_splits=3, test_size=2, gap=2) on 12 samples.
TEST(TimeSeriesSplit, DocstringGapTwo) {
  EXPECT_THAT(Folds(12, Splits(3, 2, 2)),
              ElementsAre(F(0, 4, 6, 8), F(0, 6, 8, 10), F(0, 8, 10, 12)));
}

// The default test_size floors: 10 // 4 = 2, so rows 0..3 are only ever trained on.
TEST(TimeSeriesSplit, DefaultTestSizeFloors) {
  EXPECT_THAT(Folds(10, Splits(3)), ElementsAre(F(0, 4, 4, 6), F(0, 6, 6, 8), F(0, 8, 8, 10)));
}

// scikit-learn's test_time_series_max_train_size: 6 samples, 3 splits.
TEST(TimeSeriesSplit, MaxTrainSizeSlidesTheWindow) {
  EXPECT_THAT(Folds(6, Splits(3, std::nullopt, 0, 3)),
              ElementsAre(F(0, 3, 3, 4), F(1, 4, 4, 5), F(2, 5, 5, 6)));
  EXPECT_THAT(Folds(6, Splits(3, std::nullopt, 0, 2)),
              ElementsAre(F(1, 3, 3, 4), F(2, 4, 4, 5), F(3, 5, 5, 6)));
  // Larger than every train set: no effect.
  EXPECT_THAT(Folds(6, Splits(3, std::nullopt, 0, 5)),
              ElementsAre(F(0, 3, 3, 4), F(0, 4, 4, 5), F(0, 5, 5, 6)));
}

TEST(TimeSeriesSplit, MaxTrainSizeWithGap) {
  EXPECT_THAT(Folds(12, Splits(3, 2, 2, 3)),
              ElementsAre(F(1, 4, 6, 8), F(3, 6, 8, 10), F(5, 8, 10, 12)));
}

TEST(TimeSeriesSplit, TooManyFolds) {
  EXPECT_EQ(Error(3, Splits(3)),
            "Cannot have number of folds=4 greater than the number of samples=3.");
  EXPECT_EQ(Error(0, Splits(2)),
            "Cannot have number of folds=3 greater than the number of samples=0.");
}

TEST(TimeSeriesSplit, TooManySplitsForTestSizeAndGap) {
  EXPECT_EQ(Error(10, Splits(5, 2, 3)),
            "Too many splits=5 for number of samples=10 with test_size=2 and gap=3.");
  // Exactly at the limit: n - gap - test_size * n_splits == 0 is refused, 1 is not.
  EXPECT_EQ(Error(10, Splits(3, 3, 1)),
            "Too many splits=3 for number of samples=10 with test_size=3 and gap=1.");
  EXPECT_THAT(Folds(10, Splits(3, 3, 0)),
              ElementsAre(F(0, 1, 1, 4), F(0, 4, 4, 7), F(0, 7, 7, 10)));
  // The default test_size plus a gap that eats the only train row.
  EXPECT_EQ(Error(6, Splits(5, std::nullopt, 1)),
            "Too many splits=5 for number of samples=6 with test_size=1 and gap=1.");
  // A test_size so large that test_size * n_splits would overflow.
  EXPECT_EQ(Error(10, Splits(3, INT64_MAX / 2)),
            "Too many splits=3 for number of samples=10 with test_size=4611686018427387903 and "
            "gap=0.");
}

TEST(TimeSeriesSplit, BadOptions) {
  EXPECT_EQ(Error(10, Splits(1)),
            "k-fold cross-validation requires at least one train/test split by setting n_splits=2 "
            "or more, got n_splits=1.");
  EXPECT_EQ(Error(10, Splits(2, 0)), "test_size must be at least 1, got test_size=0.");
  EXPECT_EQ(Error(10, Splits(2, std::nullopt, -1)), "gap must be at least 0, got gap=-1.");
  EXPECT_EQ(Error(10, Splits(2, std::nullopt, 0, 0)),
            "max_train_size must be at least 1, got max_train_size=0.");
}

// Distinct timestamps: the same folds as by rows.
TEST(TimeSeriesSplitByTime, DistinctTimesMatchRows) {
  std::vector<std::int64_t> times;
  for (int i = 0; i < 12; ++i) times.push_back(1000 + 60 * i);
  EXPECT_EQ(FoldsByTime(times, Splits(3, std::nullopt, 1)), Folds(12, Splits(3, std::nullopt, 1)));
}

// Row folds train [0,2) test [3,6), [0,5)/[6,9), [0,8)/[9,12) (gap 1). Rows 2-3 share a
// time, as do 5-6-7 and 8-9: each test start inside such a run moves to the next new
// timestamp; the train ends 2, 5 and 8 already start one and stay.
TEST(TimeSeriesSplitByTime, BoundariesMoveToTheNextTimestamp) {
  //                                 0  1  2  3  4  5  6  7  8  9  10  11
  const std::vector<std::int64_t> t = {1, 2, 3, 3, 4, 5, 5, 5, 6, 6, 7, 8};
  EXPECT_THAT(FoldsByTime(t, Splits(3, std::nullopt, 1)),
              ElementsAre(F(0, 2, 4, 8), F(0, 5, 8, 10), F(0, 8, 10, 12)));
}

// Without a gap, no time is both in train and in test of the same fold.
TEST(TimeSeriesSplitByTime, NoTimestampOnBothSides) {
  const std::vector<std::int64_t> t = {0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 5};
  const std::vector<Fold> folds = FoldsByTime(t, Splits(3));
  EXPECT_THAT(folds, ElementsAre(F(0, 5, 5, 7), F(0, 7, 7, 10), F(0, 10, 10, 12)));
  for (const Fold& f : folds) EXPECT_NE(t[f.train_end - 1], t[f.test_begin]);
}

// The max_train_size window's start moves too: rows 0-1 share a time, so the first window
// starts at row 2; rows 3-4 share one, so its end (and the test start) move to row 5.
TEST(TimeSeriesSplitByTime, TrainWindowStartMoves) {
  const std::vector<std::int64_t> t = {1, 1, 2, 3, 3, 4, 5, 6, 7, 8};
  // Row folds (10 rows, 3 splits, test_size 2, max 3): [1,4)/[4,6), [3,6)/[6,8), [5,8)/[8,10).
  EXPECT_THAT(Folds(10, Splits(3, std::nullopt, 0, 3)),
              ElementsAre(F(1, 4, 4, 6), F(3, 6, 6, 8), F(5, 8, 8, 10)));
  EXPECT_THAT(FoldsByTime(t, Splits(3, std::nullopt, 0, 3)),
              ElementsAre(F(2, 5, 5, 6), F(3, 6, 6, 8), F(5, 8, 8, 10)));
}

TEST(TimeSeriesSplitByTime, EmptyTestFoldIsAnError) {
  // Row folds test [4,6), [6,8), [8,10); rows 5..7 share row 5's time, so fold 2's test
  // [6,8) moves to [8,8).
  const std::vector<std::int64_t> t = {1, 2, 3, 4, 5, 6, 6, 6, 7, 8};
  EXPECT_EQ(ErrorByTime(t, Splits(3)),
            "by time: fold 2 of 3 has no test rows: rows 6..7 have the same time as row 5; use "
            "fewer folds, a larger test_size or by: rows");
}

TEST(TimeSeriesSplitByTime, EmptyTrainWindowIsAnError) {
  // Row folds (test_size 2, gap 2, max 2): [2,4)/[6,8), [4,6)/[8,10), [6,8)/[10,12). Rows 3..5
  // share a time, so fold 2's window [4,6) becomes [6,6); fold 1's grows to [2,6).
  //                                 0  1  2  3  4  5  6  7  8  9  10  11
  const std::vector<std::int64_t> t = {0, 1, 2, 3, 3, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_THAT(Folds(12, Splits(3, 2, 2, 2)),
              ElementsAre(F(2, 4, 6, 8), F(4, 6, 8, 10), F(6, 8, 10, 12)));
  EXPECT_EQ(ErrorByTime(t, Splits(3, 2, 2, 2)),
            "by time: fold 2 of 3 has no train rows: rows 4..5 have the same time as row 3; use "
            "fewer folds, a larger test_size or by: rows");
}

TEST(TimeSeriesSplitByTime, OneTimestampForEverything) {
  EXPECT_EQ(ErrorByTime(std::vector<std::int64_t>(6, 42), Splits(2)),
            "by time: fold 1 of 2 has no test rows: rows 2..3 have the same time as row 1; use "
            "fewer folds, a larger test_size or by: rows");
}

TEST(TimeSeriesSplitByTime, RowErrorsComeFirstAndTimesMustBeSorted) {
  EXPECT_EQ(ErrorByTime({1, 2, 3}, Splits(3)),
            "Cannot have number of folds=4 greater than the number of samples=3.");
  EXPECT_EQ(ErrorByTime({1, 2, 3, 2, 5, 6}, Splits(2)),
            "by time: the rows are not in time order (row 3 is earlier than row 2)");
}

}  // namespace
}  // namespace mlcron
