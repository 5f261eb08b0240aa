#include "cli/cron_command.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>

namespace mlcron {
namespace {

struct Output {
  int code;
  std::string out;
  std::string err;
};

Output RunCron(const std::string& expr, const std::string& after, const std::string& tz,
               int count) {
  std::ostringstream out;
  std::ostringstream err;
  const int code = RunCronCommand(expr, after, tz, count, out, err);
  return {code, out.str(), err.str()};
}

TEST(RunCronCommand, PrintsOccurrencesInTheZone) {
  Output r = RunCron("0 3 * * *", "2024-03-30T12:00:00", "Europe/Berlin", 2);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "2024-03-31T03:00:00+02:00\n2024-04-01T03:00:00+02:00\n");
  EXPECT_EQ(r.err, "");

  r = RunCron("30 2 * * *", "2024-03-30T12:00:00Z", "Europe/Berlin", 2);
  EXPECT_EQ(r.out, "2024-03-31T03:00:00+02:00\n2024-04-01T02:30:00+02:00\n");

  r = RunCron("*/30 * * * *", "2024-11-03T00:45", "America/New_York", 4);
  EXPECT_EQ(r.out,
            "2024-11-03T01:00:00-04:00\n2024-11-03T01:30:00-04:00\n"
            "2024-11-03T01:00:00-05:00\n2024-11-03T01:30:00-05:00\n");

  r = RunCron("@daily", "2024-01-01", "", 1);  // no zone: UTC
  EXPECT_EQ(r.out, "2024-01-02T00:00:00+00:00\n");
}

TEST(RunCronCommand, DefaultsToNow) {
  Output r = RunCron("* * * * *", "", "UTC", 3);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);
}

TEST(RunCronCommand, StopsAtTheHorizonWithANote) {
  Output r = RunCron("0 0 31 12 *", "2035-06-01", "UTC", 5);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out,
            "2035-12-31T00:00:00+00:00\n2036-12-31T00:00:00+00:00\n"
            "2037-12-31T00:00:00+00:00\n");
  EXPECT_EQ(r.err,
            "mlcron cron: no further occurrences before 2038-01-01T00:00:00+00:00 (the time zone "
            "data used does not model DST after 2038)\n");
}

TEST(RunCronCommand, BadInputExitsTwo) {
  struct Bad {
    const char* expr;
    const char* after;
    const char* tz;
    int count;
    const char* err;
  };
  const Bad cases[] = {
      {"0 25 * * *", "", "UTC", 1, "mlcron cron: cron field \"hour\": 25 is out of range 0-23\n"},
      {"0 3 * * *", "", "Europe/Berlinn", 1, "mlcron cron: unknown time zone \"Europe/Berlinn\"\n"},
      {"0 3 * * *", "2024-02-30", "UTC", 1,
       "mlcron cron: --after: \"2024-02-30\": there is no such date\n"},
      {"0 3 * * *", "", "UTC", 0, "mlcron cron: --count must be between 1 and 100000\n"},
      {"0 0 30 2 *", "", "UTC", 1,
       "mlcron cron: cron expression \"0 0 30 2 *\" can never fire (day 30 does not exist in "
       "feb)\n"},
  };
  for (const Bad& c : cases) {
    Output r = RunCron(c.expr, c.after, c.tz, c.count);
    EXPECT_EQ(r.code, 2) << c.expr;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, c.err);
  }
}

}  // namespace
}  // namespace mlcron
