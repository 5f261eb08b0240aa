// Checks Schedule::NextAfter and PrevAtOrBefore against a brute-force reading of DESIGN §4:
// walk every local second that the pattern matches, resolve it with time_zone::get_info
// (unique / nonexistent / ambiguous) and collect the fire instants, around real transitions.
#include <date/tz.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "daemon/cron.h"
#include "daemon/schedule.h"
#include "daemon/time_format.h"

namespace mlcron {
namespace {

using std::chrono::seconds;

bool Matches(const CronPattern& p, date::local_seconds l) {
  const date::local_days day = date::floor<date::days>(l);
  const int tod = static_cast<int>((l - day).count());
  const date::year_month_day ymd(day);
  return p.seconds[tod % 60] && p.minutes[tod / 60 % 60] && p.hours[tod / 3600] &&
         p.months[static_cast<unsigned>(ymd.month())] && p.MatchesDay(ymd, date::weekday(day));
}

// DESIGN §4 for one matching local time, as get_info(local_time) classifies it.
void Resolve(const CronPattern& p, const date::time_zone* tz, date::local_seconds l,
             std::set<Instant>* fires) {
  const date::local_info info = tz->get_info(l);
  const Instant first{l.time_since_epoch() - info.first.offset};
  switch (info.result) {
    case date::local_info::unique:
      fires->insert(first);
      break;
    case date::local_info::nonexistent:
      if (p.IsFixedTime()) fires->insert(info.first.end);
      break;
    case date::local_info::ambiguous:
      fires->insert(first);
      if (!p.IsFixedTime()) fires->insert(Instant{l.time_since_epoch() - info.second.offset});
      break;
  }
}

std::set<Instant> BruteForce(const CronPattern& p, const date::time_zone* tz,
                             date::local_seconds from, date::local_seconds until) {
  std::set<Instant> fires;
  for (date::local_seconds minute = from; minute < until; minute += seconds(60)) {
    for (int second = 0; second < 60; ++second) {
      if (!p.seconds[second]) continue;
      const date::local_seconds l = minute + seconds(second);
      if (Matches(p, l)) Resolve(p, tz, l, &fires);
    }
  }
  return fires;
}

struct Transition {
  const char* zone;
  const char* local_day;  // the day of a DST change
};

TEST(ScheduleOracle, MatchesBruteForceAroundTransitions) {
  const std::vector<Transition> transitions = {
      {"Europe/Berlin", "2024-03-31"},
      {"Europe/Berlin", "2024-10-27"},
      {"America/New_York", "2024-03-10"},
      {"America/New_York", "2024-11-03"},
      {"Australia/Lord_Howe", "2024-04-07"},
      {"Australia/Lord_Howe", "2024-10-06"},
      {"America/Santiago", "2024-09-08"},
      {"America/Santiago", "2024-04-07"},
      {"Antarctica/Troll", "2024-03-31"},
      {"Antarctica/Troll", "2024-10-27"},
      {"America/Havana", "2024-03-10"},
      {"America/Havana", "2024-11-03"},
      {"UTC", "2024-02-29"},
  };
  const std::vector<std::string> patterns = {
      "30 2 * * *",  "*/30 * * * *",  "30 * * * *",  "0,30 2,3 * * *",    "0 0 * * *",
      "45 23 * * *", "*/7 0-4 * * *", "59 1 * * *",  "0-59/20 0-3 * * *", "15 1,2 * * *",
      "0 * * * *",   "0 0 * * sun",   "0 1 8 * sun", "5 0,1 * * *",
  };
  for (const Transition& tr : transitions) {
    const date::time_zone* tz = FindZone(tr.zone).value();
    const Instant mid = ParseInstant(tr.local_day, tz).value();
    const date::local_days day = date::floor<date::days>(tz->to_local(mid));
    for (const std::string& expr : patterns) {
      SCOPED_TRACE(expr + " in " + tr.zone + " around " + tr.local_day);
      const CronPattern p = ParseCronPattern(expr).value();
      const Schedule s = Schedule::ParseCron(expr).value();
      const std::set<Instant> fires = BruteForce(p, tz, day - date::days(2), day + date::days(3));
      // Compare on the instants well inside the brute-forced local range.
      const Instant lo = mid - seconds(86400);
      const Instant hi = mid + seconds(2 * 86400);
      std::vector<std::string> expected;
      for (Instant f : fires) {
        if (f > lo && f <= hi) expected.push_back(FormatInstant(f, tz));
      }
      std::vector<std::string> actual;
      for (std::optional<Instant> t = s.NextAfter(lo, tz); t && *t <= hi; t = s.NextAfter(*t, tz)) {
        actual.push_back(FormatInstant(*t, tz));
      }
      ASSERT_EQ(actual, expected);
      // PrevAtOrBefore agrees at every fire and one second before it.
      for (Instant f : fires) {
        if (f <= lo + seconds(3600) || f > hi) continue;
        ASSERT_EQ(s.PrevAtOrBefore(f, tz), f);
        const auto it = fires.find(f);
        if (it == fires.begin()) continue;
        ASSERT_EQ(s.PrevAtOrBefore(f - seconds(1), tz), *std::prev(it)) << FormatInstant(f, tz);
      }
    }
  }
}

TEST(ScheduleOracle, AtWithSecondsAndDays) {
  const date::time_zone* tz = FindZone("Australia/Lord_Howe").value();
  const Schedule s = Schedule::ParseAt("02:10:30", "sun").value();
  EXPECT_EQ(FormatInstant(*s.NextAfter(ParseInstant("2024-10-01", tz).value(), tz), tz),
            "2024-10-06T02:30:00+11:00");
  EXPECT_EQ(FormatInstant(*s.NextAfter(ParseInstant("2024-10-06T02:30", tz).value(), tz), tz),
            "2024-10-13T02:10:30+11:00");
}

}  // namespace
}  // namespace mlcron
