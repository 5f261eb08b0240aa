#include "jobs/replay_chart.h"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "daemon/time_format.h"
#include "jobs/replay_report.h"

namespace mlcron {
namespace {

constexpr double kWidth = 960, kHeight = 440;
constexpr double kLeft = 70, kRight = 170, kTop = 40, kPlotBottom = 330;
constexpr int kRollingWeeks = 4;
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b"};
constexpr const char* kBaseline = "#7f7f7f";

struct Point {
  std::int64_t t;
  double v;
};

struct Series {
  std::string name;
  std::vector<Point> points;
  std::vector<std::int64_t> fulls;  // times of full retrains
};

std::int64_t Unix(const std::string& day, const date::time_zone* tz) {
  Result<Instant> t = ParseInstant(day, tz);
  return t.ok() ? t->time_since_epoch().count() : 0;
}

Result<Series> PolicySeries(const PolicyRun& run, const ReplayLive& live, bool baseline,
                            const date::time_zone* tz) {
  Series s;
  s.name = baseline ? "prior-only baseline" : std::string(ReplayPolicyName(run.policy));
  Result<std::vector<WeekRange>> weeks = Weeks(live, tz);
  if (!weeks.ok()) return weeks.status();
  for (size_t i = 0; i < weeks->size(); ++i) {
    const size_t first = i + 1 >= kRollingWeeks ? i + 1 - kRollingWeeks : 0;
    Result<LiveAggregate> a =
        AggregateLive(live.model, live, (*weeks)[first].begin, (*weeks)[i].end);
    if (!a.ok()) return a.status();
    s.points.push_back({Unix((*weeks)[i].monday, tz), baseline ? a->baseline : a->live});
  }
  if (!baseline) {
    for (const ReplayDecision& d : run.decisions) {
      if (d.model == live.model.name && d.decision == "full" && d.version) {
        s.fulls.push_back(d.at.time_since_epoch().count());
      }
    }
  }
  return s;
}

}  // namespace

Result<std::string> LiveChartSvg(const std::vector<PolicyRun>& runs, const std::string& model,
                                 const date::time_zone* tz) {
  std::vector<Series> series;
  std::string metric;
  for (const PolicyRun& run : runs) {
    for (const ReplayLive& live : run.live) {
      if (live.model.name != model || live.scores.empty()) continue;
      metric = live.model.metric;
      if (series.empty()) {
        Result<Series> base = PolicySeries(run, live, true, tz);
        if (!base.ok()) return base.status();
        series.push_back(std::move(*base));
      }
      Result<Series> s = PolicySeries(run, live, false, tz);
      if (!s.ok()) return s.status();
      series.push_back(std::move(*s));
    }
  }
  std::int64_t t0 = INT64_MAX, t1 = INT64_MIN;
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& s : series) {
    for (const Point& p : s.points) {
      t0 = std::min(t0, p.t);
      t1 = std::max(t1, p.t);
      lo = std::min(lo, p.v);
      hi = std::max(hi, p.v);
    }
  }
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n<text x=\"{2}\" y=\"22\" font-size=\"15\">live {3} of model {4}, "
      "rolling {5} weeks; ticks: full retrains</text>\n",
      kWidth, kHeight, kLeft, metric, model, kRollingWeeks);
  // A full retrain after the last week's Monday (or before the first) is still in the range.
  if (t0 <= t1) {
    for (const Series& s : series) {
      for (std::int64_t t : s.fulls) {
        t0 = std::min(t0, t);
        t1 = std::max(t1, t);
      }
    }
  }
  if (series.empty() || t0 >= t1)
    return svg + "<text x=\"70\" y=\"80\">no live scores</text>\n</svg>\n";
  const double pad = (hi - lo) * 0.05 + 1e-9;
  lo -= pad;
  hi += pad;
  const double plot_w = kWidth - kLeft - kRight;
  auto x = [&](std::int64_t t) {
    return kLeft + plot_w * static_cast<double>(t - t0) / static_cast<double>(t1 - t0);
  };
  auto y = [&](double v) { return kPlotBottom - (kPlotBottom - kTop) * (v - lo) / (hi - lo); };

  // Axes: five value ticks, six date ticks.
  svg += fmt::format("<g stroke=\"#ccc\">\n");
  for (int i = 0; i <= 4; ++i) {
    const double v = lo + (hi - lo) * i / 4;
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>\n", kLeft,
                       y(v), kLeft + plot_w, y(v));
  }
  svg += "</g>\n";
  for (int i = 0; i <= 4; ++i) {
    const double v = lo + (hi - lo) * i / 4;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.3f}</text>\n",
                       kLeft - 6, y(v) + 4, v);
  }
  for (int i = 0; i <= 5; ++i) {
    const std::int64_t t = t0 + (t1 - t0) * i / 5;
    const std::string day = FormatInstant(Instant(std::chrono::seconds(t)), tz).substr(0, 10);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x(t),
                       kPlotBottom + 16, day);
  }
  // Lines, then the full-retrain ticks in one lane per policy, then the legend.
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    const char* color = i == 0 ? kBaseline : kColors[(i - 1) % std::size(kColors)];
    std::string pts;
    for (const Point& p : s.points) pts += fmt::format("{:.1f},{:.1f} ", x(p.t), y(p.v));
    svg +=
        fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{} points=\"{}\"/>\n",
                    color, i == 0 ? 1.2 : 1.6, i == 0 ? " stroke-dasharray=\"5,4\"" : "", pts);
    const double lane = kPlotBottom + 30 + 10.0 * static_cast<double>(i);
    for (std::int64_t t : s.fulls) {
      if (t < t0 || t > t1) continue;
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
          "stroke=\"{3}\"/>\n",
          x(t), lane - 4, lane + 4, color);
    }
    const double ly = kTop + 18.0 * static_cast<double>(i);
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\" "
        "stroke-width=\"2\"/><text x=\"{4:.1f}\" y=\"{5:.1f}\">{6}</text>\n",
        kWidth - kRight + 12, ly, kWidth - kRight + 36, color, kWidth - kRight + 42, ly + 4,
        s.name);
  }
  return svg + "</svg>\n";
}

}  // namespace mlcron
