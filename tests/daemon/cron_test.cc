#include "daemon/cron.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mlcron {
namespace {

struct ErrorCase {
  const char* expr;
  const char* message;
};

TEST(ParseCronPattern, ErrorsNameTheFieldAndValue) {
  const std::vector<ErrorCase> cases = {
      {"0 25 * * *", "cron field \"hour\": 25 is out of range 0-23"},
      {"60 * * * *", "cron field \"minute\": 60 is out of range 0-59"},
      {"0 0 0 * *", "cron field \"day-of-month\": 0 is out of range 1-31"},
      {"0 0 32 * *", "cron field \"day-of-month\": 32 is out of range 1-31"},
      {"0 0 * 13 *", "cron field \"month\": 13 is out of range 1-12"},
      {"0 0 * * 8", "cron field \"day-of-week\": 8 is out of range 0-7"},
      {"x y",
       "cron expression \"x y\" has 2 fields; expected 5 (minute hour day-of-month month "
       "day-of-week) or a macro like @daily"},
      {"",
       "cron expression \"\" has 0 fields; expected 5 (minute hour day-of-month month "
       "day-of-week) or a macro like @daily"},
      {"0 0 * * * *",
       "cron expression \"0 0 * * * *\" has 6 fields; expected 5 (minute hour "
       "day-of-month month day-of-week) or a macro like @daily"},
      {"@dialy",
       "unknown macro \"@dialy\" (expected @yearly, @annually, @monthly, @weekly, "
       "@daily, @midnight or @hourly)"},
      {"@reboot",
       "unknown macro \"@reboot\" (expected @yearly, @annually, @monthly, @weekly, "
       "@daily, @midnight or @hourly)"},
      {"*/0 * * * *", "cron field \"minute\": step \"0\" in \"*/0\" is not a positive number"},
      {"*/x * * * *", "cron field \"minute\": step \"x\" in \"*/x\" is not a positive number"},
      {"0 1-5/ * * *", "cron field \"hour\": step \"\" in \"1-5/\" is not a positive number"},
      {"0 0 * foo *", "cron field \"month\": \"foo\" is not a month name (jan-dec) or number 1-12"},
      {"0 0 * * mun",
       "cron field \"day-of-week\": \"mun\" is not a day name (sun-sat) or number "
       "0-7"},
      {"0 0 * * monday",
       "cron field \"day-of-week\": \"monday\" is not a day name (sun-sat) or "
       "number 0-7"},
      {"jan * * * *", "cron field \"minute\": \"jan\" is not a number 0-59"},
      {"-5 * * * *", "cron field \"minute\": \"-5\" is not a number 0-59"},
      {"5- * * * *", "cron field \"minute\": \"5-\" is not a number 0-59"},
      {"1,,2 * * * *", "cron field \"minute\": empty item in list \"1,,2\""},
      {"1, * * * *", "cron field \"minute\": empty item in list \"1,\""},
      {"30-10 * * * *", "cron field \"minute\": range \"30-10\" goes backwards (use low-high)"},
      {"0 0 * * fri-mon",
       "cron field \"day-of-week\": range \"fri-mon\" goes backwards (use "
       "low-high)"},
      {"0 0 30 2 *",
       "cron expression \"0 0 30 2 *\" can never fire (day 30 does not exist in feb)"},
      {"0 0 31 4,6 *",
       "cron expression \"0 0 31 4,6 *\" can never fire (day 31 does not exist in apr or jun)"},
      {"0 0 30,31 feb *",
       "cron expression \"0 0 30,31 feb *\" can never fire (days 30,31 do not exist in feb)"},
      {"0 0 31 2,4,6 *",
       "cron expression \"0 0 31 2,4,6 *\" can never fire (day 31 does not exist in feb, apr or "
       "jun)"},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(ParseCronPattern(c.expr).message(), c.message) << c.expr;
  }
}

TEST(ParseCronPattern, AcceptsWhatVixieAccepts) {
  for (const char* ok : {"* * * * *", "0 0 29 2 *", "0 0 30 2 mon", "0 0 31 * *",
                         "*/15 0-23/2 1,15 jan-dec sun-sat", "0 0 * * 0-7", "\t5  4 * * *"}) {
    EXPECT_TRUE(ParseCronPattern(ok).ok()) << ok << ": " << ParseCronPattern(ok).message();
  }
}

TEST(ParseCronPattern, FieldsAndFlags) {
  const CronPattern p = ParseCronPattern("5/20 9-17/4 1,15 Mar-May,DEC 1-5").value();
  EXPECT_EQ(p.minutes, std::bitset<60>().set(5).set(25).set(45));
  EXPECT_EQ(p.hours, std::bitset<24>().set(9).set(13).set(17));
  EXPECT_EQ(p.days_of_month, std::bitset<32>().set(1).set(15));
  EXPECT_EQ(p.months, std::bitset<13>().set(3).set(4).set(5).set(12));
  EXPECT_EQ(p.weekdays, std::bitset<7>("0111110"));
  EXPECT_TRUE(p.IsFixedTime());
  EXPECT_FALSE(p.day_of_month_star);
  EXPECT_FALSE(p.day_of_week_star);

  const CronPattern sunday = ParseCronPattern("0 0 * * 7").value();
  EXPECT_EQ(sunday.weekdays, ParseCronPattern("0 0 * * sun")->weekdays);
  EXPECT_EQ(sunday.weekdays, ParseCronPattern("0 0 * * 0")->weekdays);

  // cronie's fixed-time rule looks only at whether minute or hour starts with '*'.
  EXPECT_FALSE(ParseCronPattern("*/15 3 * * *")->IsFixedTime());
  EXPECT_FALSE(ParseCronPattern("30 * * * *")->IsFixedTime());
  EXPECT_FALSE(ParseCronPattern("@hourly")->IsFixedTime());
  EXPECT_TRUE(ParseCronPattern("0-59/15 3 * * *")->IsFixedTime());
  EXPECT_TRUE(ParseCronPattern("@daily")->IsFixedTime());
}

TEST(ParseWeekdayList, DaysForAt) {
  EXPECT_EQ(ParseWeekdayList("mon-fri").value(), std::bitset<7>("0111110"));
  EXPECT_EQ(ParseWeekdayList("sat,sun").value(), std::bitset<7>("1000001"));
  EXPECT_EQ(ParseWeekdayList("1-5").value(), std::bitset<7>("0111110"));
  EXPECT_EQ(ParseWeekdayList("7").value(), std::bitset<7>("0000001"));
  EXPECT_EQ(ParseWeekdayList("fry").message(), "\"fry\" is not a day name (sun-sat) or number 0-7");
}

TEST(CronPatternNextMatch, WalksLocalCalendar) {
  using date::local_days;
  using namespace std::chrono_literals;
  const CronPattern leap = ParseCronPattern("0 0 29 2 *").value();
  const local_days from{date::year(2025) / 3 / 1};
  const local_days until{date::year(2038) / 1 / 1};
  EXPECT_EQ(leap.NextMatch(from, until), local_days{date::year(2028) / 2 / 29});
  EXPECT_EQ(leap.NextMatch(from, local_days{date::year(2028) / 2 / 29}), std::nullopt);

  const CronPattern hourly = ParseCronPattern("15 */6 * * *").value();
  const date::local_seconds noon = local_days{date::year(2024) / 1 / 1} + 12h;
  EXPECT_EQ(hourly.NextMatch(noon, noon + 24h), noon + 15min);
  EXPECT_EQ(hourly.NextMatch(noon + 15min, noon + 24h), noon + 15min);
  EXPECT_EQ(hourly.NextMatch(noon + 15min + 1s, noon + 24h), noon + 6h + 15min);
  EXPECT_EQ(hourly.NextMatch(noon + 18h + 15min + 1s, noon + 24h), std::nullopt);
}

}  // namespace
}  // namespace mlcron
