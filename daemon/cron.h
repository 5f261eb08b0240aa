// CronPattern: a set of local wall-clock times described by a 5-field Vixie cron expression
// (or an @macro, or an `at` time with a day-of-week list), and the calendar search for its next
// matching local time. Knows nothing about time zones; Schedule maps local times to instants.
// Immutable after parsing; thread-safe.
#pragma once

#include <date/date.h>

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/status.h"

namespace mlcron {

struct CronPattern {
  std::bitset<60> seconds;  // cron uses only second 0; `at` may name another
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // bits 1..31
  std::bitset<13> months;         // bits 1..12
  std::bitset<7> weekdays;        // bit 0 = Sunday
  // Whether the field's text starts with '*'. Vixie cron ANDs the day fields when either
  // is starred and ORs them otherwise; cronie treats a schedule as fixed-time when neither
  // the minute nor the hour field is starred.
  bool minute_star = false;
  bool hour_star = false;
  bool day_of_month_star = false;
  bool day_of_week_star = false;

  bool IsFixedTime() const { return !minute_star && !hour_star; }
  bool MatchesDay(date::year_month_day ymd, date::weekday wd) const;
  // The first matching local time in [from, until), or nullopt. Walks matching months and
  // days, then hours, minutes and seconds, so a rare pattern costs a few hundred steps.
  std::optional<date::local_seconds> NextMatch(date::local_seconds from,
                                               date::local_seconds until) const;
};

// Parses "m h dom mon dow" or a macro (@yearly, @annually, @monthly, @weekly, @daily,
// @midnight, @hourly). Errors name the field: `cron field "hour": 25 is out of range 0-23`.
// A pattern that matches no calendar day at all ("0 0 30 2 *") is an error.
Result<CronPattern> ParseCronPattern(std::string_view expr);

// Parses a day-of-week list as in cron's fifth field ("mon-fri", "sat,sun", "1-5", 7 = Sunday).
// The error message has no prefix; callers add the context.
Result<std::bitset<7>> ParseWeekdayList(std::string_view text);

}  // namespace mlcron
