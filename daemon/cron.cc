#include "daemon/cron.h"

#include <array>
#include <cctype>
#include <vector>

namespace mlcron {
namespace {

constexpr std::array<const char*, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 7> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// One of the five fields: its name in messages, its range, and the names it accepts.
struct FieldSpec {
  const char* name;
  int min;
  int max;
  const char* const* names = nullptr;  // names[i] means value names_base + i
  int name_count = 0;
  int names_base = 0;
  const char* name_kind = nullptr;  // "month" or "day"
};

constexpr FieldSpec kMinute{"minute", 0, 59};
constexpr FieldSpec kHour{"hour", 0, 23};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31};
const FieldSpec kMonth{"month", 1, 12, kMonthNames.data(), 12, 1, "month name (jan-dec)"};
const FieldSpec kDayOfWeek{"day-of-week", 0, 7, kDayNames.data(), 7, 0, "day name (sun-sat)"};

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status BadValue(std::string_view text, const FieldSpec& spec) {
  std::string expected = "number " + std::to_string(spec.min) + "-" + std::to_string(spec.max);
  if (spec.names != nullptr) expected = std::string(spec.name_kind) + " or " + expected;
  return Status::Error(Quote(text) + " is not a " + expected);
}

// A number or (for month and day-of-week) a three-letter name, within the field's range.
Status ParseValue(std::string_view text, const FieldSpec& spec, int* out) {
  if (text.empty()) return BadValue(text, spec);
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    long value = 0;
    for (char c : text) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return BadValue(text, spec);
      value = value * 10 + (c - '0');
      if (value > 1000000) return BadValue(text, spec);
    }
    if (value < spec.min || value > spec.max) {
      return Status::Error(std::to_string(value) + " is out of range " + std::to_string(spec.min) +
                           "-" + std::to_string(spec.max));
    }
    *out = static_cast<int>(value);
    return Status::Ok();
  }
  const std::string lower = Lower(text);
  for (int i = 0; i < spec.name_count; ++i) {
    if (lower == spec.names[i]) {
      *out = spec.names_base + i;
      return Status::Ok();
    }
  }
  return BadValue(text, spec);
}

// Parses one field ("*/15", "1-5,10", "mon-fri") into bits min..max. Messages carry no prefix.
Status ParseField(std::string_view text, const FieldSpec& spec, std::vector<bool>* bits) {
  bits->assign(spec.max + 1, false);
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string_view item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) return Status::Error("empty item in list " + Quote(text));
    const size_t slash = item.find('/');
    const std::string_view range = item.substr(0, slash);
    int step = 1;
    if (slash != std::string_view::npos) {
      const std::string_view step_text = item.substr(slash + 1);
      long value = 0;
      bool digits = !step_text.empty();
      for (char c : step_text) {
        if (!std::isdigit(static_cast<unsigned char>(c))) digits = false;
        if (digits) value = std::min(value * 10 + (c - '0'), 1000000L);
      }
      if (!digits || value == 0) {
        return Status::Error("step " + Quote(step_text) + " in " + Quote(item) +
                             " is not a positive number");
      }
      step = static_cast<int>(value);
    }
    int low = spec.min;
    int high = spec.max;
    if (range != "*") {
      const size_t dash = range.find('-');
      if (dash == 0 || dash + 1 == range.size()) return BadValue(item, spec);
      Status s = ParseValue(range.substr(0, dash), spec, &low);
      if (!s.ok()) return s;
      if (dash != std::string_view::npos) {
        s = ParseValue(range.substr(dash + 1), spec, &high);
        if (!s.ok()) return s;
        if (high < low) {
          return Status::Error("range " + Quote(range) + " goes backwards (use low-high)");
        }
      } else if (slash == std::string_view::npos) {
        high = low;
      }
      // "5/10" means 5-max/10, as in cronie.
    }
    for (int v = low; v <= high; v += step) (*bits)[v] = true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return Status::Ok();
}

template <size_t N>
Status ParseInto(std::string_view text, const FieldSpec& spec, int offset, std::bitset<N>* out) {
  std::vector<bool> bits;
  Status s = ParseField(text, spec, &bits);
  if (!s.ok()) return s;
  out->reset();
  for (int v = spec.min; v <= spec.max; ++v) {
    if (bits[v]) out->set(v - offset);
  }
  return Status::Ok();
}

Status ParseWeekdays(std::string_view text, std::bitset<7>* out) {
  std::bitset<8> eight;
  Status s = ParseInto(text, kDayOfWeek, 0, &eight);
  if (!s.ok()) return s;
  out->reset();
  for (int d = 0; d < 7; ++d) out->set(d, eight[d]);
  if (eight[7]) out->set(0);  // 7 is Sunday too
  return Status::Ok();
}

std::optional<std::string_view> ExpandMacro(std::string_view macro) {
  if (macro == "@yearly" || macro == "@annually") return "0 0 1 1 *";
  if (macro == "@monthly") return "0 0 1 * *";
  if (macro == "@weekly") return "0 0 * * 0";
  if (macro == "@daily" || macro == "@midnight") return "0 0 * * *";
  if (macro == "@hourly") return "0 * * * *";
  return std::nullopt;
}

std::vector<std::string_view> SplitFields(std::string_view expr) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < expr.size()) {
    while (i < expr.size() && std::isspace(static_cast<unsigned char>(expr[i]))) ++i;
    const size_t start = i;
    while (i < expr.size() && !std::isspace(static_cast<unsigned char>(expr[i]))) ++i;
    if (i > start) fields.push_back(expr.substr(start, i - start));
  }
  return fields;
}

std::string JoinOr(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += (i + 1 == items.size()) ? " or " : ", ";
    out += items[i];
  }
  return out;
}

// With the day fields ANDed, a day-of-month list can name only days that no chosen month has
// ("30 2", "31 4,6"). February counts 29 days: "0 0 29 2 *" fires in leap years.
Status CheckCanFire(const CronPattern& p, std::string_view expr) {
  if (p.day_of_month_star || !p.day_of_week_star) return Status::Ok();
  constexpr std::array<int, 13> kMaxDays = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  std::vector<std::string> days;
  std::vector<std::string> months;
  for (int m = 1; m <= 12; ++m) {
    if (!p.months[m]) continue;
    months.push_back(kMonthNames[m - 1]);
    for (int d = 1; d <= kMaxDays[m]; ++d) {
      if (p.days_of_month[d]) return Status::Ok();
    }
  }
  for (int d = 1; d <= 31; ++d) {
    if (p.days_of_month[d]) days.push_back(std::to_string(d));
  }
  std::string list;
  for (const std::string& d : days) list += (list.empty() ? "" : ",") + d;
  const std::string what =
      days.size() == 1 ? "day " + list + " does not exist" : "days " + list + " do not exist";
  return Status::Error("cron expression " + Quote(expr) + " can never fire (" + what + " in " +
                       JoinOr(months) + ")");
}

}  // namespace

bool CronPattern::MatchesDay(date::year_month_day ymd, date::weekday wd) const {
  const bool dom = days_of_month[static_cast<unsigned>(ymd.day())];
  const bool dow = weekdays[wd.c_encoding()];
  if (day_of_month_star || day_of_week_star) return dom && dow;
  return dom || dow;
}

std::optional<date::local_seconds> CronPattern::NextMatch(date::local_seconds from,
                                                          date::local_seconds until) const {
  date::local_days day = date::floor<date::days>(from);
  int tod = static_cast<int>((from - day).count());
  while (day < until) {
    const date::year_month_day ymd(day);
    if (!months[static_cast<unsigned>(ymd.month())]) {
      day = date::local_days((ymd.year() / ymd.month() + date::months(1)) / 1);
      tod = 0;
      continue;
    }
    if (MatchesDay(ymd, date::weekday(day))) {
      const int h0 = tod / 3600;
      const int m0 = tod / 60 % 60;
      const int s0 = tod % 60;
      for (int h = h0; h < 24; ++h) {
        if (!hours[h]) continue;
        for (int m = (h == h0 ? m0 : 0); m < 60; ++m) {
          if (!minutes[m]) continue;
          for (int s = (h == h0 && m == m0 ? s0 : 0); s < 60; ++s) {
            if (!seconds[s]) continue;
            const date::local_seconds found = day + std::chrono::seconds(h * 3600 + m * 60 + s);
            if (found < until) return found;
            return std::nullopt;
          }
        }
      }
    }
    day += date::days(1);
    tod = 0;
  }
  return std::nullopt;
}

Result<CronPattern> ParseCronPattern(std::string_view expr) {
  std::vector<std::string_view> fields = SplitFields(expr);
  if (fields.size() == 1 && fields[0].front() == '@') {
    const std::string macro = Lower(fields[0]);
    std::optional<std::string_view> expanded = ExpandMacro(macro);
    if (!expanded) {
      return Status::Error(
          "unknown macro " + Quote(fields[0]) +
          " (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)");
    }
    return ParseCronPattern(*expanded);
  }
  if (fields.size() != 5) {
    return Status::Error("cron expression " + Quote(expr) + " has " +
                         std::to_string(fields.size()) +
                         " fields; expected 5 (minute hour day-of-month month day-of-week) or a "
                         "macro like @daily");
  }
  CronPattern p;
  p.seconds.set(0);
  auto field_error = [](const FieldSpec& spec, const Status& s) {
    return Status::Error("cron field \"" + std::string(spec.name) + "\": " + s.message());
  };
  Status s = ParseInto(fields[0], kMinute, 0, &p.minutes);
  if (!s.ok()) return field_error(kMinute, s);
  s = ParseInto(fields[1], kHour, 0, &p.hours);
  if (!s.ok()) return field_error(kHour, s);
  s = ParseInto(fields[2], kDayOfMonth, 0, &p.days_of_month);
  if (!s.ok()) return field_error(kDayOfMonth, s);
  s = ParseInto(fields[3], kMonth, 0, &p.months);
  if (!s.ok()) return field_error(kMonth, s);
  s = ParseWeekdays(fields[4], &p.weekdays);
  if (!s.ok()) return field_error(kDayOfWeek, s);
  p.minute_star = fields[0].front() == '*';
  p.hour_star = fields[1].front() == '*';
  p.day_of_month_star = fields[2].front() == '*';
  p.day_of_week_star = fields[4].front() == '*';
  s = CheckCanFire(p, expr);
  if (!s.ok()) return s;
  return p;
}

Result<std::bitset<7>> ParseWeekdayList(std::string_view text) {
  std::bitset<7> out;
  Status s = ParseWeekdays(text, &out);
  if (!s.ok()) return s;
  return out;
}

}  // namespace mlcron
