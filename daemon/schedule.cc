#include "daemon/schedule.h"

#include <date/tz.h>

#include <algorithm>
#include <cctype>

#include "daemon/cron.h"
#include "daemon/duration.h"

namespace mlcron {

struct Schedule::Impl {
  Kind kind = Kind::kCron;
  CronPattern pattern;               // kCron and kAt
  std::chrono::seconds interval{0};  // kEvery
  std::string text;                  // ToString()
};

namespace {

using std::chrono::seconds;

// PrevAtOrBefore looks back at most this far (the header's "5 years").
constexpr seconds kLookBack{(5 * 365 + 2) * 86400};
// Periods that begin before this are the tzdb's "since the beginning of time" sentinel; there
// is no earlier period whose offset we could ask for. Schedules never fire before it.
constexpr Instant kFarPast{seconds(-5364662400)};  // 1800-01-01Z

date::local_seconds ToLocal(Instant t, seconds offset) {
  return date::local_seconds{t.time_since_epoch() + offset};
}
Instant ToSys(date::local_seconds l, seconds offset) {
  return Instant{l.time_since_epoch() - offset};
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Whitespace collapsed to single spaces, so "0  3 * * *" and "0 3 * * *" compare equal.
std::string NormalizeCron(std::string_view expr) {
  std::string out;
  bool space = false;
  for (char c : Trim(expr)) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// The next local-time fire strictly after `after`, resolved period by period: within one
// tzdb period (constant UTC offset) local and real time move together, so the first matching
// local time in the period's local window is the first fire in it. Fixed-time patterns also
// fire once at a period's start for local times its gap skipped, and leave local times that
// repeat an earlier period's to that period (their first occurrence).
std::optional<Instant> NextLocal(const CronPattern& p, Instant after, const date::time_zone* tz) {
  if (after >= kScheduleHorizon - seconds(1)) return std::nullopt;
  Instant t = after + seconds(1);
  if (tz == nullptr) {  // UTC
    auto found = p.NextMatch(ToLocal(t, seconds(0)), ToLocal(kScheduleHorizon, seconds(0)));
    if (!found) return std::nullopt;
    return ToSys(*found, seconds(0));
  }
  const bool fixed = p.IsFixedTime();
  date::sys_info info = tz->get_info(t);
  std::optional<seconds> prev_offset;
  if (fixed && info.begin > kFarPast) prev_offset = tz->get_info(info.begin - seconds(1)).offset;
  while (true) {
    const seconds offset = info.offset;
    const Instant end = std::min<Instant>(info.end, kScheduleHorizon);
    date::local_seconds lower = ToLocal(t, offset);
    if (fixed && prev_offset) {
      const date::local_seconds prev_local_end = ToLocal(info.begin, *prev_offset);
      if (t == info.begin && *prev_offset < offset &&
          p.NextMatch(prev_local_end, ToLocal(info.begin, offset))) {
        return info.begin;  // skipped by the gap: fire once, at the first instant after it
      }
      lower = std::max(lower, prev_local_end);
    }
    if (auto found = p.NextMatch(lower, ToLocal(end, offset))) return ToSys(*found, offset);
    if (end >= kScheduleHorizon) return std::nullopt;
    prev_offset = offset;
    t = end;
    info = tz->get_info(t);
  }
}

}  // namespace

Result<Schedule> Schedule::ParseCron(std::string_view expr) {
  Result<CronPattern> pattern = ParseCronPattern(expr);
  if (!pattern.ok()) return pattern.status();
  auto impl = std::make_shared<Impl>();
  impl->kind = Kind::kCron;
  impl->pattern = std::move(pattern).value();
  impl->text = "cron " + NormalizeCron(expr);
  return Schedule(std::move(impl));
}

Result<Schedule> Schedule::ParseAt(std::string_view time, std::string_view days) {
  const auto is_digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  const auto two = [&](size_t i) { return (time[i] - '0') * 10 + (time[i + 1] - '0'); };
  const bool shape_ok =
      (time.size() == 5 || time.size() == 8) && is_digit(time[0]) && is_digit(time[1]) &&
      time[2] == ':' && is_digit(time[3]) && is_digit(time[4]) &&
      (time.size() == 5 || (time[5] == ':' && is_digit(time[6]) && is_digit(time[7])));
  const int hour = shape_ok ? two(0) : 0;
  const int minute = shape_ok ? two(3) : 0;
  const int second = shape_ok && time.size() == 8 ? two(6) : 0;
  if (!shape_ok || hour > 23 || minute > 59 || second > 59) {
    return Status::Error("\"" + std::string(time) +
                         "\" is not a time (expected HH:MM or HH:MM:SS)");
  }
  CronPattern p;
  p.seconds.set(second);
  p.minutes.set(minute);
  p.hours.set(hour);
  for (int d = 1; d <= 31; ++d) p.days_of_month.set(d);
  for (int m = 1; m <= 12; ++m) p.months.set(m);
  p.day_of_month_star = true;  // days are ANDed: every day of the month, if its weekday matches
  const std::string days_text = Lower(Trim(days));
  if (days_text.empty()) {
    p.weekdays.set();
    p.day_of_week_star = true;
  } else {
    Result<std::bitset<7>> weekdays = ParseWeekdayList(days_text);
    if (!weekdays.ok()) {
      return Status::Error("days \"" + std::string(days) + "\": " + weekdays.message());
    }
    p.weekdays = *weekdays;
  }
  auto impl = std::make_shared<Impl>();
  impl->kind = Kind::kAt;
  impl->pattern = p;
  impl->text = "at " + std::string(second == 0 ? time.substr(0, 5) : time);
  if (!days_text.empty()) impl->text += " " + days_text;
  return Schedule(std::move(impl));
}

Result<Schedule> Schedule::Every(std::chrono::seconds interval) {
  if (interval <= seconds(0)) {
    return Status::Error("every: interval must be greater than zero");
  }
  auto impl = std::make_shared<Impl>();
  impl->kind = Kind::kEvery;
  impl->interval = interval;
  impl->text = "every " + FormatDuration(interval);
  return Schedule(std::move(impl));
}

Schedule::Kind Schedule::kind() const { return impl_->kind; }

std::string Schedule::ToString() const { return impl_->text; }

std::optional<Instant> Schedule::NextAfter(Instant after, const date::time_zone* tz) const {
  after = std::max(after, kFarPast);  // keeps the arithmetic below far from overflow
  if (impl_->kind != Kind::kEvery) return NextLocal(impl_->pattern, after, tz);
  const std::int64_t step = impl_->interval.count();
  const std::int64_t a = after.time_since_epoch().count();
  if (a >= kScheduleHorizon.time_since_epoch().count()) return std::nullopt;
  const Instant next{seconds((FloorDiv(a, step) + 1) * step)};
  if (next >= kScheduleHorizon) return std::nullopt;
  return next;
}

std::optional<Instant> Schedule::PrevAtOrBefore(Instant t, const date::time_zone* tz) const {
  if (t < kFarPast) return std::nullopt;
  t = std::min(t, kScheduleHorizon);  // nothing fires later, and t - window cannot overflow
  const Instant limit = t - kLookBack;
  if (impl_->kind == Kind::kEvery) {
    const std::int64_t step = impl_->interval.count();
    const Instant prev{seconds(FloorDiv(t.time_since_epoch().count(), step) * step)};
    if (prev < limit || prev >= kScheduleHorizon) return std::nullopt;
    return prev;
  }
  // Search ever wider windows back from t, then walk forward to the last fire in the window.
  // This reuses NextAfter's exact DST resolution instead of mirroring it backwards.
  for (seconds window(64);; window *= 2) {
    const Instant start = std::max(t - window, limit);
    std::optional<Instant> found = NextAfter(start - seconds(1), tz);
    if (found && *found <= t) {
      while (true) {
        std::optional<Instant> next = NextAfter(*found, tz);
        if (!next || *next > t) return found;
        found = next;
      }
    }
    if (start == limit) return std::nullopt;
  }
}

}  // namespace mlcron
