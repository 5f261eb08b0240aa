#include "jobs/history_svg.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>
#include <vector>

#include "daemon/time_format.h"

namespace mlcron {
namespace {

constexpr const char* kBlue = "#1f77b4";
constexpr const char* kRed = "#d62728";
constexpr const char* kGreen = "#2ca02c";
constexpr int kXTicks = 5;
constexpr double kRadius = 5;

// ISO-8601 of a unix time: in tz via FormatInstant, else UTC with a Z.
std::string TimeText(std::int64_t t, const date::time_zone* tz) {
  const Instant instant{std::chrono::seconds(t)};
  if (tz != nullptr) return FormatInstant(instant, tz);
  const auto day = std::chrono::floor<std::chrono::days>(instant);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{instant - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

std::string Num(double v) { return fmt::format("{:.1f}", v); }

// 1, 2 or 5 times a power of ten, at least `raw`.
double NiceStep(double raw) {
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

// Maps data coordinates to the plot area [left, right] x [top, bottom] (y grows downwards).
struct Frame {
  double left, right, top, bottom;
  double t0, t1;  // time domain
  double y0, y1;  // value domain
  double X(double t) const { return left + (t - t0) / (t1 - t0) * (right - left); }
  double Y(double v) const { return bottom - (v - y0) / (y1 - y0) * (bottom - top); }
};

void TimeDomain(const HistoryData& h, Frame* f) {
  std::vector<double> times;
  for (const auto& v : h.versions) times.push_back(static_cast<double>(v.created_at));
  for (const auto& p : h.periods) {
    times.push_back(static_cast<double>(p.from));
    if (p.to) times.push_back(static_cast<double>(*p.to));
  }
  double lo = times.empty() ? 0 : *std::min_element(times.begin(), times.end());
  double hi = times.empty() ? 0 : *std::max_element(times.begin(), times.end());
  if (hi - lo < 3600) {  // one instant: show the day around it
    lo -= 43200;
    hi += 43200;
  }
  const double pad = (hi - lo) * 0.04;  // keeps the first and last points off the axes
  f->t0 = lo - pad;
  f->t1 = hi + pad;
}

// The value domain rounded out to whole ticks; returns the tick step.
double ValueDomain(const HistoryData& h, Frame* f) {
  double lo = 0, hi = 1;
  bool any = false;
  for (const auto& v : h.versions) {
    if (!v.metric) continue;
    lo = any ? std::min(lo, *v.metric) : *v.metric;
    hi = any ? std::max(hi, *v.metric) : *v.metric;
    any = true;
  }
  if (hi - lo < 1e-12) {
    const double pad = std::max(std::abs(lo) * 0.05, 0.01);
    lo -= pad;
    hi += pad;
  }
  const double step = NiceStep((hi - lo) / 4);
  // The epsilon keeps 0.9 / 0.02 = 44.999... from adding a tick below the lowest value.
  f->y0 = std::floor(lo / step + 1e-9) * step;
  f->y1 = std::ceil(hi / step - 1e-9) * step;
  return step;
}

std::string Cross(double x, double y, double r) {
  return fmt::format("M {} {} L {} {} M {} {} L {} {}", Num(x - r), Num(y - r), Num(x + r),
                     Num(y + r), Num(x - r), Num(y + r), Num(x + r), Num(y - r));
}

// Seconds east of UTC in force at t.
std::int64_t Offset(std::int64_t t, const date::time_zone* tz) {
  if (tz == nullptr) return 0;
  return tz->get_info(date::sys_seconds(std::chrono::seconds(t))).offset.count();
}

// The x-axis ticks and their labels. Under three days: five evenly spaced times, labelled
// "YYYY-MM-DD HH:MM". Otherwise local midnights every 1, 2, 7, 14, 28, 91, 182, 364... days,
// so that at most six fall in the domain, labelled with their date: no label repeats.
std::vector<std::pair<std::int64_t, std::string>> TimeTicks(const Frame& f,
                                                            const date::time_zone* tz) {
  std::vector<std::pair<std::int64_t, std::string>> ticks;
  const auto t0 = static_cast<std::int64_t>(std::ceil(f.t0));
  const auto t1 = static_cast<std::int64_t>(std::floor(f.t1));
  if (t1 - t0 < 3 * 86400) {
    for (int i = 0; i < kXTicks; ++i) {
      const std::int64_t t = t0 + (t1 - t0) * i / (kXTicks - 1);
      const std::string iso = TimeText(t, tz);
      ticks.emplace_back(t, iso.substr(0, 10) + " " + iso.substr(11, 5));
    }
    return ticks;
  }
  std::int64_t step = 1;
  for (const std::int64_t s : {1, 2, 7, 14, 28, 91, 182, 364}) {
    step = s;
    if ((t1 - t0) / 86400 / s < 6) break;
  }
  while ((t1 - t0) / 86400 / step >= 6) step *= 2;
  // Midnight of local day n: n days less the offset in force then (found in two steps, as
  // the offset depends on the instant).
  const auto midnight = [tz](std::int64_t n) {
    const std::int64_t guess = n * 86400 - Offset(n * 86400, tz);
    return n * 86400 - Offset(guess, tz);
  };
  const std::int64_t first_day = (t0 + Offset(t0, tz)) / 86400;
  for (std::int64_t n = (first_day + step - 1) / step * step; midnight(n) <= t1; n += step) {
    if (midnight(n) >= t0) ticks.emplace_back(midnight(n), TimeText(midnight(n), tz).substr(0, 10));
  }
  return ticks;
}

void Axes(const Frame& f, double step, const HistoryData& h, const HistorySvgOptions& o,
          std::string* out) {
  *out += fmt::format(
      "<g class=\"axes\" stroke=\"#333\" stroke-width=\"1\">\n"
      "<line class=\"axis\" x1=\"{0}\" y1=\"{3}\" x2=\"{1}\" y2=\"{3}\"/>\n"
      "<line class=\"axis\" x1=\"{0}\" y1=\"{2}\" x2=\"{0}\" y2=\"{3}\"/>\n"
      "</g>\n",
      Num(f.left), Num(f.right), Num(f.top), Num(f.bottom));
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  const long ticks = std::lround((f.y1 - f.y0) / step);
  for (long i = 0; i <= ticks; ++i) {
    const double v = f.y0 + static_cast<double>(i) * step;
    const double y = f.Y(v);
    *out += fmt::format(
        "<line class=\"tick\" x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"#333\"/>"
        "<text class=\"tick-label\" x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5:.{6}f}</text>\n",
        Num(f.left - 5), Num(f.left), Num(y), Num(f.left - 8), Num(y + 4), v, decimals);
  }
  for (const auto& [t, label] : TimeTicks(f, o.tz)) {
    const double x = f.X(static_cast<double>(t));
    *out += fmt::format(
        "<line class=\"tick\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#333\"/>"
        "<text class=\"tick-label\" x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        Num(x), Num(f.bottom), Num(f.bottom + 5), Num(f.bottom + 18), EscapeXml(label));
  }
  const double middle_y = (f.top + f.bottom) / 2;
  *out += fmt::format(
      "<text class=\"axis-label\" x=\"{0}\" y=\"{1}\" text-anchor=\"middle\">created</text>\n"
      "<text class=\"axis-label\" x=\"16\" y=\"{2}\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 16 {2})\">{3} (holdout)</text>\n",
      Num((f.left + f.right) / 2), Num(f.bottom + 36), Num(middle_y), EscapeXml(h.metric));
}

void Legend(const HistorySvgOptions& o, std::string* out) {
  const double y = o.height - 16;
  double x = 80;
  *out += "<g class=\"legend\">\n";
  *out += fmt::format(
      "<circle class=\"legend-full\" cx=\"{0}\" cy=\"{1}\" r=\"{2}\" fill=\"{3}\" stroke=\"{3}\" "
      "stroke-width=\"2\"/><text x=\"{4}\" y=\"{5}\">full</text>\n",
      Num(x), Num(y), Num(kRadius), kBlue, Num(x + 10), Num(y + 4));
  x += 70;
  *out += fmt::format(
      "<circle class=\"legend-incremental\" cx=\"{0}\" cy=\"{1}\" r=\"{2}\" fill=\"white\" "
      "stroke=\"{3}\" stroke-width=\"2\"/><text x=\"{4}\" y=\"{5}\">incremental</text>\n",
      Num(x), Num(y), Num(kRadius), kBlue, Num(x + 10), Num(y + 4));
  x += 120;
  *out += fmt::format(
      "<rect class=\"legend-production\" x=\"{0}\" y=\"{1}\" width=\"14\" height=\"12\" "
      "fill=\"{2}\" fill-opacity=\"0.2\"/><text x=\"{3}\" y=\"{4}\">production</text>\n",
      Num(x - 7), Num(y - 6), kGreen, Num(x + 12), Num(y + 4));
  x += 110;
  *out += fmt::format(
      "<path class=\"legend-rejected\" d=\"{0}\" stroke=\"{1}\" stroke-width=\"2\"/>"
      "<text x=\"{2}\" y=\"{3}\">rejected</text>\n",
      Cross(x, y, kRadius + 1), kRed, Num(x + 10), Num(y + 4));
  *out += "</g>\n";
}

}  // namespace

std::string EscapeXml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string HistoryTitle(const HistoryData& history) {
  return "model " + history.model + (history.segment.empty() ? "" : " [" + history.segment + "]") +
         ": " + history.metric + " per version";
}

std::string RenderHistorySvg(const HistoryData& h, const HistorySvgOptions& o) {
  Frame f{};
  f.left = 80;
  f.right = o.width - 24;
  f.top = 44;
  f.bottom = o.height - 80;
  TimeDomain(h, &f);
  const double step = ValueDomain(h, &f);
  const std::string title = EscapeXml(HistoryTitle(h));

  std::string out = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<title>{2}</title>\n"
      "<rect class=\"background\" x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text class=\"title\" x=\"{3}\" y=\"24\" text-anchor=\"middle\" "
      "font-size=\"16\">{2}</text>\n",
      o.width, o.height, title, Num(o.width / 2.0));

  // Behind everything else: the production periods, alternately lighter and darker so that
  // back-to-back periods stay apart.
  for (size_t i = 0; i < h.periods.size(); ++i) {
    const ProductionPeriod& p = h.periods[i];
    const double x0 = std::clamp(f.X(static_cast<double>(p.from)), f.left, f.right);
    const double x1 = p.to ? std::clamp(f.X(static_cast<double>(*p.to)), f.left, f.right) : f.right;
    const std::string until = p.to ? "until " + TimeText(*p.to, o.tz) : "still production";
    out += fmt::format(
        "<rect class=\"production\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" "
        "fill-opacity=\"{}\"><title>version {} in production from {} ({}), {}</title></rect>\n",
        Num(x0), Num(f.top), Num(std::max(x1 - x0, 1.0)), Num(f.bottom - f.top), kGreen,
        i % 2 == 0 ? "0.14" : "0.28", p.version, EscapeXml(TimeText(p.from, o.tz)),
        EscapeXml(p.action), EscapeXml(until));
  }
  Axes(f, step, h, o, &out);

  std::string points;
  int drawn = 0;
  for (const HistoryVersion& v : h.versions) {
    if (!v.metric) continue;
    points += (drawn++ ? " " : "") + Num(f.X(static_cast<double>(v.created_at))) + "," +
              Num(f.Y(*v.metric));
  }
  if (drawn >= 2) {
    out += fmt::format(
        "<polyline class=\"trend\" points=\"{}\" fill=\"none\" stroke=\"{}\" "
        "stroke-opacity=\"0.6\" stroke-width=\"1.5\"/>\n",
        points, kBlue);
  }
  for (const HistoryVersion& v : h.versions) {
    if (!v.metric) continue;
    const double x = f.X(static_cast<double>(v.created_at)), y = f.Y(*v.metric);
    const bool full = v.kind == "full";
    const std::string tip =
        fmt::format("version {} ({}, {}): {} {:.4f}, created {}", v.id, v.kind, v.status, h.metric,
                    *v.metric, TimeText(v.created_at, o.tz));
    out += fmt::format(
        "<circle class=\"version {}\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" stroke=\"{}\" "
        "stroke-width=\"2\"><title>{}</title></circle>\n",
        full ? "full" : "incremental", Num(x), Num(y), Num(kRadius), full ? kBlue : "white", kBlue,
        EscapeXml(tip));
    if (v.status == "rejected") {
      out += fmt::format("<path class=\"rejected\" d=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                         Cross(x, y, kRadius + 2), kRed);
    }
  }
  const size_t missing = h.versions.size() - static_cast<size_t>(drawn);
  if (missing > 0) {
    out += fmt::format(
        "<text class=\"note\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{} version{} without {} not "
        "drawn</text>\n",
        Num(f.right), Num(f.top - 6), missing, missing == 1 ? "" : "s", EscapeXml(h.metric));
  }
  Legend(o, &out);
  out += "</svg>\n";
  return out;
}

}  // namespace mlcron
