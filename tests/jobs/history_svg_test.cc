// The history plot: the SVG text is parsed as XML (Boost.PropertyTree) and its elements are
// counted and checked by class, coordinate and text for a known history.
#include "jobs/history_svg.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <map>
#include <sstream>

#include "daemon/time_format.h"

namespace mlcron {
namespace {

namespace pt = boost::property_tree;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::int64_t kJuly1 = 1'719'835'200;  // 2024-07-01T12:00:00Z
constexpr std::int64_t kDay = 86400;

// One element of the parsed SVG: its tag, attributes and text.
struct Element {
  std::string tag;
  std::map<std::string, std::string> attrs;
  std::string text;
  std::string Attr(const std::string& name) const {
    auto it = attrs.find(name);
    return it == attrs.end() ? "" : it->second;
  }
};

void Collect(const pt::ptree& tree, std::vector<Element>* out) {
  for (const auto& [tag, child] : tree) {
    if (tag == "<xmlattr>" || tag == "<xmlcomment>") continue;
    Element e;
    e.tag = tag;
    if (auto attrs = child.get_child_optional("<xmlattr>")) {
      for (const auto& [name, value] : *attrs) e.attrs[name] = value.data();
    }
    e.text = child.data();
    out->push_back(e);
    Collect(child, out);
  }
}

// Every element in document order; fails the test when the text is not well-formed XML.
std::vector<Element> Parse(const std::string& svg) {
  std::istringstream in(svg);
  pt::ptree tree;
  try {
    pt::read_xml(in, tree);
  } catch (const pt::xml_parser_error& e) {
    ADD_FAILURE() << "not well-formed: " << e.what() << "\n" << svg;
    return {};
  }
  std::vector<Element> out;
  Collect(tree, &out);
  return out;
}

std::vector<Element> OfClass(const std::vector<Element>& all, const std::string& tag,
                             const std::string& cls) {
  std::vector<Element> out;
  for (const auto& e : all) {
    if (e.tag == tag && e.Attr("class") == cls) out.push_back(e);
  }
  return out;
}

HistoryVersion Version(std::int64_t id, std::int64_t created_at, const std::string& kind,
                       const std::string& status, std::optional<double> metric) {
  HistoryVersion v;
  v.id = id;
  v.created_at = created_at;
  v.kind = kind;
  v.status = status;
  v.metric = metric;
  v.production = status == "production";
  return v;
}

// A full (production, then replaced), a rejected incremental, the promoted incremental and a
// full candidate that was not evaluated.
HistoryData Known() {
  HistoryData h;
  h.model = "result";
  h.segment = "E0";
  h.metric = "log_loss";
  h.versions = {Version(1, kJuly1, "full", "archived", 0.94),
                Version(2, kJuly1 + kDay, "incremental", "rejected", 0.96),
                Version(3, kJuly1 + 2 * kDay, "incremental", "production", 0.90),
                Version(4, kJuly1 + 3 * kDay, "full", "candidate", std::nullopt)};
  h.periods = {{1, kJuly1, kJuly1 + 2 * kDay, "promote"},
               {3, kJuly1 + 2 * kDay, std::nullopt, "promote"}};
  return h;
}

TEST(HistorySvg, KnownHistoryHasTheExpectedElements) {
  const std::string svg = RenderHistorySvg(Known());
  const std::vector<Element> all = Parse(svg);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all[0].tag, "svg");
  EXPECT_EQ(all[0].Attr("xmlns"), "http://www.w3.org/2000/svg");
  EXPECT_EQ(all[0].Attr("width"), "800");
  EXPECT_EQ(all[0].Attr("height"), "450");
  EXPECT_EQ(all[1].tag, "title");
  EXPECT_EQ(all[1].text, "model result [E0]: log_loss per version");
  const auto titles = OfClass(all, "text", "title");
  ASSERT_EQ(titles.size(), 1u);
  EXPECT_EQ(titles[0].text, "model result [E0]: log_loss per version");

  // Domain: 3 days padded by 4% each side onto x 80..776; values 0.90..0.96 onto y 370..44.
  const auto periods = OfClass(all, "rect", "production");
  ASSERT_EQ(periods.size(), 2u);
  EXPECT_EQ(periods[0].Attr("x"), "105.8");
  EXPECT_EQ(periods[0].Attr("width"), "429.6");
  EXPECT_EQ(periods[0].Attr("y"), "44.0");
  EXPECT_EQ(periods[0].Attr("height"), "326.0");
  EXPECT_EQ(periods[1].Attr("x"), "535.4");
  EXPECT_EQ(periods[1].Attr("width"), "240.6");  // still production: to the right edge
  EXPECT_EQ(periods[0].Attr("fill"), "#2ca02c");
  EXPECT_EQ(periods[1].Attr("fill"), "#2ca02c");
  EXPECT_EQ(periods[0].Attr("fill-opacity"), "0.14");  // alternating: adjacent periods differ
  EXPECT_EQ(periods[1].Attr("fill-opacity"), "0.28");

  const auto trend = OfClass(all, "polyline", "trend");
  ASSERT_EQ(trend.size(), 1u);
  EXPECT_EQ(trend[0].Attr("points"), "105.8,152.7 320.6,44.0 535.4,370.0");

  const auto full = OfClass(all, "circle", "version full");
  ASSERT_EQ(full.size(), 1u);  // version 4 has no log_loss
  EXPECT_EQ(full[0].Attr("cx"), "105.8");
  EXPECT_EQ(full[0].Attr("cy"), "152.7");
  EXPECT_EQ(full[0].Attr("fill"), "#1f77b4");
  const auto incremental = OfClass(all, "circle", "version incremental");
  ASSERT_EQ(incremental.size(), 2u);
  EXPECT_EQ(incremental[0].Attr("cx"), "320.6");
  EXPECT_EQ(incremental[1].Attr("cy"), "370.0");
  EXPECT_EQ(incremental[0].Attr("fill"), "white");
  EXPECT_EQ(incremental[1].Attr("fill"), "white");

  const auto rejected = OfClass(all, "path", "rejected");
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].Attr("d"), "M 313.6 37.0 L 327.6 51.0 M 313.6 51.0 L 327.6 37.0");

  const auto note = OfClass(all, "text", "note");
  ASSERT_EQ(note.size(), 1u);
  EXPECT_EQ(note[0].text, "1 version without log_loss not drawn");

  std::vector<std::string> labels;
  for (const auto& e : OfClass(all, "text", "tick-label")) labels.push_back(e.text);
  EXPECT_THAT(labels, ElementsAre("0.90", "0.92", "0.94", "0.96", "2024-07-02", "2024-07-03",
                                  "2024-07-04"));
  std::vector<std::string> axis_labels;
  for (const auto& e : OfClass(all, "text", "axis-label")) axis_labels.push_back(e.text);
  EXPECT_THAT(axis_labels, ElementsAre("created", "log_loss (holdout)"));

  for (const char* legend : {"legend-full", "legend-incremental"}) {
    EXPECT_EQ(OfClass(all, "circle", legend).size(), 1u) << legend;
  }
  EXPECT_EQ(OfClass(all, "rect", "legend-production").size(), 1u);
  EXPECT_EQ(OfClass(all, "path", "legend-rejected").size(), 1u);

  // Element counts over the whole picture: background + 2 periods + legend swatch.
  int rects = 0, circles = 0;
  for (const auto& e : all) {
    rects += e.tag == "rect";
    circles += e.tag == "circle";
  }
  EXPECT_EQ(rects, 4);
  EXPECT_EQ(circles, 5);
}

TEST(HistorySvg, TooltipsNameTheVersionInTheZone) {
  auto london = FindZone("Europe/London");
  ASSERT_TRUE(london.ok()) << london.message();
  HistorySvgOptions options;
  options.tz = *london;
  const std::string svg = RenderHistorySvg(Known(), options);
  const auto all = Parse(svg);
  std::vector<std::string> tips;
  for (const auto& e : all) {
    if (e.tag == "title" && e.text.starts_with("version ")) tips.push_back(e.text);
  }
  EXPECT_THAT(tips, ElementsAre("version 1 in production from 2024-07-01T13:00:00+01:00 (promote), "
                                "until 2024-07-03T13:00:00+01:00",
                                "version 3 in production from 2024-07-03T13:00:00+01:00 (promote), "
                                "still production",
                                "version 1 (full, archived): log_loss 0.9400, created "
                                "2024-07-01T13:00:00+01:00",
                                "version 2 (incremental, rejected): log_loss 0.9600, created "
                                "2024-07-02T13:00:00+01:00",
                                "version 3 (incremental, production): log_loss 0.9000, created "
                                "2024-07-03T13:00:00+01:00"));
  // Without a zone the times are UTC.
  EXPECT_THAT(RenderHistorySvg(Known()), HasSubstr("created 2024-07-01T12:00:00Z</title>"));
}

TEST(HistorySvg, TextIsEscaped) {
  HistoryData h = Known();
  h.model = "a&b";
  h.segment = "<E0>";
  h.metric = "log\"loss'";
  const std::string svg = RenderHistorySvg(h);
  EXPECT_THAT(svg, HasSubstr("<title>model a&amp;b [&lt;E0&gt;]: log&quot;loss&apos; per "
                             "version</title>"));
  EXPECT_THAT(svg, Not(HasSubstr("<E0>")));
  const auto all = Parse(svg);
  ASSERT_GT(all.size(), 2u);
  EXPECT_EQ(all[1].text, "model a&b [<E0>]: log\"loss' per version");
  EXPECT_EQ(EscapeXml("x < y && \"q\" > 'p'"),
            "x &lt; y &amp;&amp; &quot;q&quot; &gt; &apos;p&apos;");
}

TEST(HistorySvg, DegenerateHistoriesStillDraw) {
  HistoryData empty;
  empty.model = "goals";
  empty.metric = "poisson_deviance";
  std::string svg = RenderHistorySvg(empty);
  auto all = Parse(svg);
  EXPECT_EQ(OfClass(all, "text", "title")[0].text, "model goals: poisson_deviance per version");
  EXPECT_TRUE(OfClass(all, "circle", "version full").empty());
  EXPECT_TRUE(OfClass(all, "polyline", "trend").empty());
  EXPECT_TRUE(OfClass(all, "text", "note").empty());
  EXPECT_THAT(svg, Not(HasSubstr("nan")));
  EXPECT_THAT(svg, Not(HasSubstr("inf")));

  // One version: no line, a day of time around it, its value in the middle of the ticks.
  HistoryData one = empty;
  one.versions = {Version(7, kJuly1, "full", "production", 1.2)};
  one.periods = {{7, kJuly1, std::nullopt, "promote"}};
  svg = RenderHistorySvg(one);
  all = Parse(svg);
  EXPECT_TRUE(OfClass(all, "polyline", "trend").empty());
  const auto full = OfClass(all, "circle", "version full");
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0].Attr("cx"), "428.0");
  std::vector<std::string> labels;
  for (const auto& e : OfClass(all, "text", "tick-label")) labels.push_back(e.text);
  EXPECT_THAT(labels, ElementsAre("1.10", "1.15", "1.20", "1.25", "1.30", "2024-06-30 23:02",
                                  "2024-07-01 05:31", "2024-07-01 12:00", "2024-07-01 18:28",
                                  "2024-07-02 00:57"));
  EXPECT_THAT(svg, Not(HasSubstr("nan")));

  // No value at all: every version counted in the note.
  HistoryData none = Known();
  for (auto& v : none.versions) v.metric.reset();
  all = Parse(RenderHistorySvg(none));
  EXPECT_TRUE(OfClass(all, "circle", "version incremental").empty());
  ASSERT_EQ(OfClass(all, "text", "note").size(), 1u);
  EXPECT_EQ(OfClass(all, "text", "note")[0].text, "4 versions without log_loss not drawn");
  EXPECT_EQ(OfClass(all, "rect", "production").size(), 2u);
}

}  // namespace
}  // namespace mlcron
