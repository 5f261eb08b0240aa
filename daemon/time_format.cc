#include "daemon/time_format.h"

#include <date/date.h>
#include <date/tz.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <exception>

namespace mlcron {
namespace {

using std::chrono::seconds;

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

seconds OffsetAt(std::chrono::system_clock::time_point t, const date::time_zone* tz) {
  if (tz == nullptr) return seconds(0);
  return tz->get_info(date::floor<seconds>(t)).offset;
}

// "+02:00", "-04:00", "+00:00"; seconds only when the offset has them (pre-1972 Monrovia).
std::string FormatOffset(seconds offset) {
  const char sign = offset < seconds(0) ? '-' : '+';
  const long total = std::labs(static_cast<long>(offset.count()));
  char buf[48];
  if (total % 60 == 0) {
    std::snprintf(buf, sizeof buf, "%c%02ld:%02ld", sign, total / 3600, total / 60 % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%c%02ld:%02ld:%02ld", sign, total / 3600, total / 60 % 60,
                  total % 60);
  }
  return buf;
}

// A small cursor over the text being parsed.
struct Cursor {
  std::string_view text;
  size_t pos = 0;

  bool AtEnd() const { return pos == text.size(); }
  bool Eat(char c) {
    if (AtEnd() || text[pos] != c) return false;
    ++pos;
    return true;
  }
  // Exactly n digits.
  bool Digits(int n, int* out) {
    int value = 0;
    for (int i = 0; i < n; ++i) {
      if (AtEnd() || !std::isdigit(static_cast<unsigned char>(text[pos]))) return false;
      value = value * 10 + (text[pos++] - '0');
    }
    *out = value;
    return true;
  }
};

Status NotATime(std::string_view text) {
  return Status::Error(Quote(text) +
                       " is not a time (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], with an "
                       "optional Z or +HH:MM offset)");
}

}  // namespace

Result<const date::time_zone*> FindZone(std::string_view name) {
  try {
    date::get_tzdb();
  } catch (const std::exception& e) {
    return Status::Error(std::string("cannot load the time zone database: ") + e.what());
  }
  if (name.empty()) return Status::Error("empty time zone name");
  try {
    return date::locate_zone(std::string(name));
  } catch (const std::exception&) {
    return Status::Error("unknown time zone " + Quote(name));
  }
}

std::string FormatInstant(Instant t, const date::time_zone* tz) {
  const seconds offset = OffsetAt(t, tz);
  return date::format("%FT%T", date::local_seconds{t.time_since_epoch() + offset}) +
         FormatOffset(offset);
}

std::string FormatTimePoint(std::chrono::system_clock::time_point t, const date::time_zone* tz) {
  const auto ms = date::floor<std::chrono::milliseconds>(t);
  const seconds offset = OffsetAt(t, tz);
  return date::format("%FT%T",
                      date::local_time<std::chrono::milliseconds>{ms.time_since_epoch() + offset}) +
         FormatOffset(offset);
}

Result<Instant> ParseInstant(std::string_view text, const date::time_zone* tz) {
  Cursor c{text};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!c.Digits(4, &y) || !c.Eat('-') || !c.Digits(2, &mo) || !c.Eat('-') || !c.Digits(2, &d)) {
    return NotATime(text);
  }
  const date::year_month_day ymd{date::year(y), date::month(mo), date::day(d)};
  if (!ymd.ok()) return Status::Error(Quote(text) + ": there is no such date");
  std::optional<seconds> offset;
  if (!c.AtEnd()) {
    if (!(c.Eat('T') || c.Eat('t') || c.Eat(' '))) return NotATime(text);
    if (!c.Digits(2, &h) || !c.Eat(':') || !c.Digits(2, &mi)) return NotATime(text);
    if (c.Eat(':')) {
      if (!c.Digits(2, &s)) return NotATime(text);
      if (c.Eat('.')) {  // fractions are accepted and dropped: instants are whole seconds
        int digit = 0;
        if (!c.Digits(1, &digit)) return NotATime(text);
        while (c.Digits(1, &digit)) {
        }
      }
    }
    if (h > 23 || mi > 59 || s > 59) {
      return Status::Error(Quote(text) + ": the time of day is out of range 00:00:00-23:59:59");
    }
    if (c.Eat('Z') || c.Eat('z')) {
      offset = seconds(0);
    } else if (!c.AtEnd() && (c.text[c.pos] == '+' || c.text[c.pos] == '-')) {
      const bool negative = c.text[c.pos++] == '-';
      int oh = 0, om = 0;
      if (!c.Digits(2, &oh)) return NotATime(text);
      if (!c.AtEnd()) {
        c.Eat(':');
        if (!c.Digits(2, &om)) return NotATime(text);
      }
      if (oh > 23 || om > 59) {
        return Status::Error(Quote(text) + ": the offset is out of range");
      }
      offset = seconds(oh * 3600 + om * 60) * (negative ? -1 : 1);
    }
    if (!c.AtEnd()) return NotATime(text);
  }
  const date::local_seconds local = date::local_days(ymd) + seconds(h * 3600 + mi * 60 + s);
  if (!offset && tz == nullptr) offset = seconds(0);
  if (offset) return Instant{local.time_since_epoch() - *offset};
  const date::local_info info = tz->get_info(local);
  switch (info.result) {
    case date::local_info::nonexistent:
      return info.first.end;  // the first instant after the gap
    case date::local_info::ambiguous:
    case date::local_info::unique:
    default:
      return Instant{local.time_since_epoch() - info.first.offset};  // earlier if ambiguous
  }
}

}  // namespace mlcron
