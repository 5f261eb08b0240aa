// A tier's schedule: a 5-field Vixie cron expression (or @macro), a daily `at` time with
// optional `days`, or `every` N seconds since the Unix epoch. Immutable after parsing;
// thread-safe. Cron and `at` are local times in a zone, resolved with the DST policy of
// DESIGN.md §4: fixed-time schedules fire once per local time (skipped times fire at the
// first instant after the gap; repeated times fire at their first occurrence), other cron
// expressions fire at every real instant that matches.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/status.h"

namespace date {
class time_zone;
}

namespace mlcron {

using Instant = std::chrono::sys_seconds;

// Searches stop here: date 3.0.1 with the OS tzdb does not model DST after 2038.
inline constexpr Instant kScheduleHorizon{std::chrono::seconds(2145916800)};  // 2038-01-01Z

class Schedule {
 public:
  enum class Kind { kCron, kAt, kEvery };

  // "50 9 * * mon-fri", "*/15 * * * *", "@daily", ... Errors name the field and value,
  // e.g. `cron field "hour": 25 is out of range 0-23`. An expression that can never fire
  // ("0 0 30 2 *") is an error too.
  static Result<Schedule> ParseCron(std::string_view expr);
  // time: "HH:MM" or "HH:MM:SS"; days: "" (every day) or a day-of-week list as in cron
  // ("mon-fri", "sat,sun", "1-5").
  static Result<Schedule> ParseAt(std::string_view time, std::string_view days);
  // interval must be > 0.
  static Result<Schedule> Every(std::chrono::seconds interval);

  Kind kind() const;
  // The earliest fire instant strictly after `after`; nullopt if none before
  // kScheduleHorizon. `tz` is ignored for kEvery.
  std::optional<Instant> NextAfter(Instant after, const date::time_zone* tz) const;
  // The latest fire instant at or before `t`; nullopt if there is none in the 5 years up to t.
  std::optional<Instant> PrevAtOrBefore(Instant t, const date::time_zone* tz) const;
  // Human form for logs: "cron 50 9 * * mon-fri", "at 09:50 mon-fri", "every 15m".
  std::string ToString() const;
  bool operator==(const Schedule& other) const { return ToString() == other.ToString(); }

  struct Impl;

 private:
  explicit Schedule(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace mlcron
