#include "daemon/schedule.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/time_format.h"

namespace mlcron {
namespace {

using std::chrono::seconds;
using Instants = std::vector<std::string>;

const date::time_zone* Zone(const std::string& name) { return FindZone(name).value(); }

// The next `n` fires after `after` (local in zone unless it carries an offset), formatted in zone.
Instants Walk(const Schedule& s, const std::string& after, const std::string& zone, int n) {
  const date::time_zone* tz = Zone(zone);
  Instant t = ParseInstant(after, tz).value();
  Instants out;
  for (int i = 0; i < n; ++i) {
    std::optional<Instant> next = s.NextAfter(t, tz);
    if (!next) break;
    EXPECT_GT(*next, t);
    out.push_back(FormatInstant(*next, tz));
    t = *next;
  }
  return out;
}

struct Case {
  const char* schedule;  // a cron expression, or "at HH:MM[:SS] [days]"
  const char* zone;
  const char* after;
  Instants expected;
};

Schedule Build(const std::string& spec) {
  if (spec.rfind("at ", 0) == 0) {
    const std::string rest = spec.substr(3);
    const size_t space = rest.find(' ');
    return Schedule::ParseAt(rest.substr(0, space),
                             space == std::string::npos ? "" : rest.substr(space + 1))
        .value();
  }
  return Schedule::ParseCron(spec).value();
}

void RunCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.schedule) + " in " + c.zone + " after " + c.after);
    EXPECT_EQ(Walk(Build(c.schedule), c.after, c.zone, static_cast<int>(c.expected.size())),
              c.expected);
  }
}

TEST(ScheduleDst, EuropeBerlin) {
  RunCases({
      // Spring forward 2024-03-31 02:00 -> 03:00. Fixed-time: skipped times fire at 03:00 once.
      {"30 2 * * *",
       "Europe/Berlin",
       "2024-03-30T12:00",
       {"2024-03-31T03:00:00+02:00", "2024-04-01T02:30:00+02:00"}},
      {"at 02:30",
       "Europe/Berlin",
       "2024-03-30T12:00",
       {"2024-03-31T03:00:00+02:00", "2024-04-01T02:30:00+02:00"}},
      {"0,30 2,3 * * *",
       "Europe/Berlin",
       "2024-03-30T12:00",
       {"2024-03-31T03:00:00+02:00", "2024-03-31T03:30:00+02:00", "2024-04-01T02:00:00+02:00"}},
      {"0 3 * * *", "Europe/Berlin", "2024-03-30T12:00", {"2024-03-31T03:00:00+02:00"}},
      // Other cron: nothing inside the skipped hour.
      {"*/30 * * * *",
       "Europe/Berlin",
       "2024-03-31T01:00",
       {"2024-03-31T01:30:00+01:00", "2024-03-31T03:00:00+02:00", "2024-03-31T03:30:00+02:00"}},
      {"30 * * * *",
       "Europe/Berlin",
       "2024-03-31T00:45",
       {"2024-03-31T01:30:00+01:00", "2024-03-31T03:30:00+02:00"}},
      // Fall back 2024-10-27 03:00 -> 02:00. Fixed-time: the first 02:30 only.
      {"30 2 * * *",
       "Europe/Berlin",
       "2024-10-26T12:00",
       {"2024-10-27T02:30:00+02:00", "2024-10-28T02:30:00+01:00"}},
      {"at 02:30",
       "Europe/Berlin",
       "2024-10-26T12:00",
       {"2024-10-27T02:30:00+02:00", "2024-10-28T02:30:00+01:00"}},
      // Other cron: both copies of the repeated hour.
      {"*/30 * * * *",
       "Europe/Berlin",
       "2024-10-27T01:45",
       {"2024-10-27T02:00:00+02:00", "2024-10-27T02:30:00+02:00", "2024-10-27T02:00:00+01:00",
        "2024-10-27T02:30:00+01:00", "2024-10-27T03:00:00+01:00"}},
      {"30 * * * *",
       "Europe/Berlin",
       "2024-10-27T01:00",
       {"2024-10-27T01:30:00+02:00", "2024-10-27T02:30:00+02:00", "2024-10-27T02:30:00+01:00",
        "2024-10-27T03:30:00+01:00"}},
      // Starting inside the repeated hour's second copy: the fixed job already fired.
      {"30 2 * * *", "Europe/Berlin", "2024-10-27T02:10:00+01:00", {"2024-10-28T02:30:00+01:00"}},
      // Starting in the first copy after 02:30: the second copy's 02:10 still fires for */10.
      {"*/10 2 * * *",
       "Europe/Berlin",
       "2024-10-27T02:50:00+02:00",
       {"2024-10-27T02:00:00+01:00", "2024-10-27T02:10:00+01:00"}},
  });
}

TEST(ScheduleDst, AmericaNewYork) {
  RunCases({
      // Spring forward 2024-03-10 02:00 -> 03:00.
      {"30 2 * * *",
       "America/New_York",
       "2024-03-09T12:00",
       {"2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"}},
      {"at 02:30",
       "America/New_York",
       "2024-03-09T12:00",
       {"2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"}},
      {"*/30 * * * *",
       "America/New_York",
       "2024-03-10T01:00",
       {"2024-03-10T01:30:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-10T03:30:00-04:00"}},
      {"30 * * * *",
       "America/New_York",
       "2024-03-10T00:45",
       {"2024-03-10T01:30:00-05:00", "2024-03-10T03:30:00-04:00"}},
      // Fall back 2024-11-03 02:00 -> 01:00: 01:xx repeats; 02:30 is unambiguous.
      {"30 1 * * *",
       "America/New_York",
       "2024-11-02T12:00",
       {"2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"}},
      {"at 01:30",
       "America/New_York",
       "2024-11-02T12:00",
       {"2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"}},
      {"30 2 * * *",
       "America/New_York",
       "2024-11-02T12:00",
       {"2024-11-03T02:30:00-05:00", "2024-11-04T02:30:00-05:00"}},
      {"*/30 * * * *",
       "America/New_York",
       "2024-11-03T00:45",
       {"2024-11-03T01:00:00-04:00", "2024-11-03T01:30:00-04:00", "2024-11-03T01:00:00-05:00",
        "2024-11-03T01:30:00-05:00", "2024-11-03T02:00:00-05:00"}},
      {"30 * * * *",
       "America/New_York",
       "2024-11-03T00:45",
       {"2024-11-03T01:30:00-04:00", "2024-11-03T01:30:00-05:00", "2024-11-03T02:30:00-05:00"}},
  });
}

TEST(ScheduleDst, AustraliaLordHoweHalfHourShift) {
  RunCases({
      // 2024-04-07 02:00 (+11:00) -> 01:30 (+10:30): 01:30-02:00 repeats.
      {"45 1 * * *",
       "Australia/Lord_Howe",
       "2024-04-06T12:00",
       {"2024-04-07T01:45:00+11:00", "2024-04-08T01:45:00+10:30"}},
      {"at 01:30",
       "Australia/Lord_Howe",
       "2024-04-06T12:00",
       {"2024-04-07T01:30:00+11:00", "2024-04-08T01:30:00+10:30"}},
      {"0 2 * * *", "Australia/Lord_Howe", "2024-04-06T12:00", {"2024-04-07T02:00:00+10:30"}},
      {"*/15 * * * *",
       "Australia/Lord_Howe",
       "2024-04-07T01:20",
       {"2024-04-07T01:30:00+11:00", "2024-04-07T01:45:00+11:00", "2024-04-07T01:30:00+10:30",
        "2024-04-07T01:45:00+10:30", "2024-04-07T02:00:00+10:30"}},
      // 2024-10-06 02:00 (+10:30) -> 02:30 (+11:00): 02:00-02:30 is skipped.
      {"15 2 * * *",
       "Australia/Lord_Howe",
       "2024-10-05T12:00",
       {"2024-10-06T02:30:00+11:00", "2024-10-07T02:15:00+11:00"}},
      {"0,15,30 2 * * *",
       "Australia/Lord_Howe",
       "2024-10-05T12:00",
       {"2024-10-06T02:30:00+11:00", "2024-10-07T02:00:00+11:00"}},
      {"at 02:00",
       "Australia/Lord_Howe",
       "2024-10-05T12:00",
       {"2024-10-06T02:30:00+11:00", "2024-10-07T02:00:00+11:00"}},
      {"*/15 * * * *",
       "Australia/Lord_Howe",
       "2024-10-06T01:40",
       {"2024-10-06T01:45:00+10:30", "2024-10-06T02:30:00+11:00", "2024-10-06T02:45:00+11:00"}},
  });
}

TEST(ScheduleCron, CalendarRules) {
  RunCases({
      {"0 0 29 2 *", "UTC", "2024-03-01", {"2028-02-29T00:00:00+00:00"}},
      {"0 0 29 2 *", "UTC", "2024-01-01", {"2024-02-29T00:00:00+00:00"}},
      // Both day fields restricted: OR. Either starred: only the other one counts.
      {"0 0 13 * fri",
       "UTC",
       "2024-09-01",
       {"2024-09-06T00:00:00+00:00", "2024-09-13T00:00:00+00:00", "2024-09-20T00:00:00+00:00",
        "2024-09-27T00:00:00+00:00", "2024-10-04T00:00:00+00:00", "2024-10-11T00:00:00+00:00",
        "2024-10-13T00:00:00+00:00", "2024-10-18T00:00:00+00:00"}},
      {"0 0 13 * *",
       "UTC",
       "2024-09-01",
       {"2024-09-13T00:00:00+00:00", "2024-10-13T00:00:00+00:00", "2024-11-13T00:00:00+00:00"}},
      {"0 0 * * fri",
       "UTC",
       "2024-09-01",
       {"2024-09-06T00:00:00+00:00", "2024-09-13T00:00:00+00:00", "2024-09-20T00:00:00+00:00"}},
      // "*/10" starts with '*', so Vixie ANDs: days 1, 11, 21, 31 that are Fridays.
      {"0 0 */10 * fri",
       "UTC",
       "2024-01-01",
       {"2024-03-01T00:00:00+00:00", "2024-05-31T00:00:00+00:00", "2024-06-21T00:00:00+00:00"}},
      // Names (any case), ranges, lists, steps.
      {"0 9 * JAN,jul Mon",
       "UTC",
       "2024-01-20",
       {"2024-01-22T09:00:00+00:00", "2024-01-29T09:00:00+00:00", "2024-07-01T09:00:00+00:00"}},
      {"50 9 * * mon-fri",
       "UTC",
       "2024-09-06T10:00",
       {"2024-09-09T09:50:00+00:00", "2024-09-10T09:50:00+00:00"}},
      {"1-30/10 * * * *",
       "UTC",
       "2024-01-01T00:00",
       {"2024-01-01T00:01:00+00:00", "2024-01-01T00:11:00+00:00", "2024-01-01T00:21:00+00:00",
        "2024-01-01T01:01:00+00:00"}},
      {"5/20 * * * *",
       "UTC",
       "2024-01-01T00:00",
       {"2024-01-01T00:05:00+00:00", "2024-01-01T00:25:00+00:00", "2024-01-01T00:45:00+00:00"}},
      {"*/15 * * * *",
       "UTC",
       "2024-01-01T00:07:30",
       {"2024-01-01T00:15:00+00:00", "2024-01-01T00:30:00+00:00"}},
      {"0 0 1 */3 *",
       "UTC",
       "2024-01-15",
       {"2024-04-01T00:00:00+00:00", "2024-07-01T00:00:00+00:00"}},
      // 7 is Sunday; 5-7 is Friday to Sunday.
      {"0 0 * * 7", "UTC", "2024-01-01", {"2024-01-07T00:00:00+00:00"}},
      {"0 0 * * 5-7",
       "UTC",
       "2024-01-01",
       {"2024-01-05T00:00:00+00:00", "2024-01-06T00:00:00+00:00", "2024-01-07T00:00:00+00:00",
        "2024-01-12T00:00:00+00:00"}},
      {"at 09:50:30 sat,sun", "UTC", "2024-01-01", {"2024-01-06T09:50:30+00:00"}},
      {"at 23:59:59 1-5", "UTC", "2024-01-05T23:59:59", {"2024-01-08T23:59:59+00:00"}},
  });
}

TEST(ScheduleCron, Macros) {
  RunCases({
      {"@yearly", "UTC", "2024-05-05", {"2025-01-01T00:00:00+00:00"}},
      {"@annually", "UTC", "2024-05-05", {"2025-01-01T00:00:00+00:00"}},
      {"@monthly", "UTC", "2024-05-05", {"2024-06-01T00:00:00+00:00"}},
      {"@weekly", "UTC", "2024-05-05", {"2024-05-12T00:00:00+00:00"}},
      {"@daily", "Europe/Berlin", "2024-05-05T12:00", {"2024-05-06T00:00:00+02:00"}},
      {"@midnight", "UTC", "2024-05-05", {"2024-05-06T00:00:00+00:00"}},
      {"@HOURLY", "UTC", "2024-05-05T10:00", {"2024-05-05T11:00:00+00:00"}},
  });
}

TEST(ScheduleCron, SameSchedulesAreEqual) {
  EXPECT_EQ(Schedule::ParseCron("0  3 * * *").value(), Schedule::ParseCron("0 3 * * *").value());
  EXPECT_EQ(Schedule::ParseCron(" 50 9 * * MON-FRI ")->ToString(), "cron 50 9 * * mon-fri");
  EXPECT_EQ(Schedule::ParseCron("@Daily")->ToString(), "cron @daily");
  EXPECT_EQ(Schedule::ParseAt("09:50", "mon-fri")->ToString(), "at 09:50 mon-fri");
  EXPECT_EQ(Schedule::ParseAt("09:50:00", "")->ToString(), "at 09:50");
  EXPECT_EQ(Schedule::ParseAt("09:50:30", "")->ToString(), "at 09:50:30");
  EXPECT_EQ(Schedule::Every(seconds(900))->ToString(), "every 15m");
  EXPECT_EQ(Schedule::ParseCron("* * * * *")->kind(), Schedule::Kind::kCron);
  EXPECT_EQ(Schedule::ParseAt("09:50", "")->kind(), Schedule::Kind::kAt);
  EXPECT_EQ(Schedule::Every(seconds(1))->kind(), Schedule::Kind::kEvery);
}

TEST(ScheduleAt, RejectsBadTimesAndDays) {
  for (const char* bad : {"9:70", "9:30", "24:00", "09:60", "09:5", "09:50:60", "0950", "",
                          "09:50:", "ab:cd", "09:50 "}) {
    EXPECT_EQ(Schedule::ParseAt(bad, "").message(),
              "\"" + std::string(bad) + "\" is not a time (expected HH:MM or HH:MM:SS)");
  }
  EXPECT_TRUE(Schedule::ParseAt("00:00", "").ok());
  EXPECT_TRUE(Schedule::ParseAt("23:59:59", "").ok());
  EXPECT_EQ(Schedule::ParseAt("09:50", "mon-fry").message(),
            "days \"mon-fry\": \"fry\" is not a day name (sun-sat) or number 0-7");
  EXPECT_EQ(Schedule::ParseAt("09:50", "8").message(), "days \"8\": 8 is out of range 0-7");
}

TEST(ScheduleEvery, MultiplesOfTheIntervalSinceTheEpoch) {
  const Schedule every15 = Schedule::Every(seconds(900)).value();
  EXPECT_EQ(Walk(every15, "2024-01-01T12:07:30Z", "UTC", 2),
            (Instants{"2024-01-01T12:15:00+00:00", "2024-01-01T12:30:00+00:00"}));
  // The zone changes only how instants print, not when they are.
  EXPECT_EQ(Walk(every15, "2024-03-31T01:59:00+01:00", "Europe/Berlin", 2),
            (Instants{"2024-03-31T03:00:00+02:00", "2024-03-31T03:15:00+02:00"}));
  EXPECT_EQ(Walk(Schedule::Every(seconds(7 * 3600)).value(), "2024-01-01T00:00:00Z", "UTC", 1),
            (Instants{"2024-01-01T02:00:00+00:00"}));
  EXPECT_EQ(Walk(Schedule::Every(seconds(90)).value(), "2024-01-01T00:00:00Z", "UTC", 2),
            (Instants{"2024-01-01T00:01:30+00:00", "2024-01-01T00:03:00+00:00"}));
  EXPECT_EQ(Schedule::Every(seconds(0)).message(), "every: interval must be greater than zero");
  EXPECT_FALSE(Schedule::Every(seconds(-5)).ok());
}

TEST(ScheduleHorizon, NothingAtOrAfter2038) {
  const date::time_zone* tz = Zone("UTC");
  const Instant late = ParseInstant("2037-12-31T23:30:00Z", tz).value();
  EXPECT_FALSE(Schedule::ParseCron("0 0 * * *")->NextAfter(late, tz).has_value());
  EXPECT_FALSE(Schedule::Every(seconds(3600))->NextAfter(late, tz).has_value());
  EXPECT_EQ(FormatInstant(*Schedule::ParseCron("45 23 * * *")->NextAfter(late, tz), tz),
            "2037-12-31T23:45:00+00:00");
}

TEST(ScheduleHorizon, ExtremeInstantsAreSafe) {
  const date::time_zone* tz = Zone("Europe/Berlin");
  for (const Schedule& s :
       {Schedule::ParseCron("*/5 * * * *").value(), Schedule::ParseAt("02:30", "").value(),
        Schedule::Every(seconds(7)).value()}) {
    EXPECT_FALSE(s.NextAfter(Instant::max(), tz).has_value());
    EXPECT_FALSE(s.PrevAtOrBefore(Instant::min(), tz).has_value());
    EXPECT_TRUE(s.NextAfter(Instant::min(), tz).has_value());
    EXPECT_TRUE(s.PrevAtOrBefore(Instant::max(), tz).has_value());
  }
}

struct PrevCase {
  const char* schedule;
  const char* zone;
  const char* at;
  const char* expected;  // "none" if there is no fire in the 5 years up to `at`
};

TEST(SchedulePrev, LatestFireAtOrBefore) {
  const std::vector<PrevCase> cases = {
      {"0 9 * * *", "UTC", "2024-05-10T09:00:00Z", "2024-05-10T09:00:00+00:00"},
      {"0 9 * * *", "UTC", "2024-05-10T08:59:59Z", "2024-05-09T09:00:00+00:00"},
      {"* * * * *", "UTC", "2024-05-10T08:59:59Z", "2024-05-10T08:59:00+00:00"},
      {"30 2 * * *", "Europe/Berlin", "2024-03-31T03:10", "2024-03-31T03:00:00+02:00"},
      {"30 2 * * *", "Europe/Berlin", "2024-10-27T02:40:00+01:00", "2024-10-27T02:30:00+02:00"},
      {"30 * * * *", "Europe/Berlin", "2024-10-27T02:40:00+01:00", "2024-10-27T02:30:00+01:00"},
      {"0 0 29 2 *", "UTC", "2027-01-01", "2024-02-29T00:00:00+00:00"},
      {"0 0 29 2 *", "UTC", "2024-02-28", "2020-02-29T00:00:00+00:00"},
      {"@yearly", "UTC", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00+00:00"},
      {"at 09:50 mon-fri", "UTC", "2024-09-09T09:49", "2024-09-06T09:50:00+00:00"},
  };
  for (const PrevCase& c : cases) {
    SCOPED_TRACE(std::string(c.schedule) + " at " + c.at);
    const date::time_zone* tz = Zone(c.zone);
    std::optional<Instant> prev =
        Build(c.schedule).PrevAtOrBefore(ParseInstant(c.at, tz).value(), tz);
    EXPECT_EQ(prev ? FormatInstant(*prev, tz) : "none", c.expected);
  }
  const date::time_zone* utc = Zone("UTC");
  const Instant t = ParseInstant("2024-01-01T12:07:30Z", utc).value();
  EXPECT_EQ(FormatInstant(*Schedule::Every(seconds(900))->PrevAtOrBefore(t, utc), utc),
            "2024-01-01T12:00:00+00:00");
  EXPECT_FALSE(Schedule::Every(seconds(7300 * 86400))->PrevAtOrBefore(t, utc).has_value());
}

}  // namespace
}  // namespace mlcron
