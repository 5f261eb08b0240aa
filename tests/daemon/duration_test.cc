#include "daemon/duration.h"

#include <gtest/gtest.h>

namespace mlcron {
namespace {

using std::chrono::seconds;

TEST(ParseDuration, AcceptsUnitsAndCompounds) {
  EXPECT_EQ(ParseDuration("90s").value(), seconds(90));
  EXPECT_EQ(ParseDuration("15m").value(), seconds(900));
  EXPECT_EQ(ParseDuration("6h").value(), seconds(21600));
  EXPECT_EQ(ParseDuration("1d").value(), seconds(86400));
  EXPECT_EQ(ParseDuration("2w").value(), seconds(14 * 86400));
  EXPECT_EQ(ParseDuration("3y").value(), seconds(3 * 365 * 86400));
  EXPECT_EQ(ParseDuration("1h30m").value(), seconds(5400));
  EXPECT_EQ(ParseDuration("0").value(), seconds(0));
}

TEST(ParseDuration, RejectsBadInput) {
  EXPECT_EQ(ParseDuration("-5m").message(), "\"-5m\" is negative; durations must be >= 0");
  EXPECT_EQ(ParseDuration("15").message(), "\"15\" has no unit (use s, m, h, d, w or y)");
  EXPECT_EQ(ParseDuration("15x").message(), "\"15x\" has no unit (use s, m, h, d, w or y)");
  EXPECT_EQ(ParseDuration("abc").message(),
            "\"abc\" is not a duration (expected e.g. 90s, 15m, 6h, 1d)");
  EXPECT_FALSE(ParseDuration("99999999999999999999s").ok());
  EXPECT_FALSE(ParseDuration("").ok());
}

TEST(ParseSize, AcceptsBinaryUnits) {
  EXPECT_EQ(ParseSize("512").value(), 512u);
  EXPECT_EQ(ParseSize("4K").value(), 4096u);
  EXPECT_EQ(ParseSize("2G").value(), 2ull << 30);
  EXPECT_EQ(ParseSize("10MiB").value(), 10ull << 20);
  EXPECT_EQ(ParseSize("3MB").value(), 3ull << 20);
  EXPECT_FALSE(ParseSize("2X").ok());
  EXPECT_FALSE(ParseSize("G").ok());
  EXPECT_FALSE(ParseSize("99999999999T").ok());
}

TEST(FormatDuration, PicksLargestExactUnit) {
  EXPECT_EQ(FormatDuration(seconds(90)), "90s");
  EXPECT_EQ(FormatDuration(seconds(900)), "15m");
  EXPECT_EQ(FormatDuration(seconds(86400)), "1d");
  EXPECT_EQ(FormatDuration(seconds(0)), "0s");
}

}  // namespace
}  // namespace mlcron
