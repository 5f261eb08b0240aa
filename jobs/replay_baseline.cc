#include "jobs/replay_baseline.h"

#include <date/date.h>

#include <map>

#include "daemon/time_format.h"
#include "jobs/dataset.h"
#include "jobs/replay_source.h"

namespace mlcron {
namespace {

// Running label statistics of one segment (or of all).
struct Tally {
  std::vector<double> classes;  // counts per class (classifiers)
  double sum = 0;
  double n = 0;

  void Add(float label, bool classifier) {
    if (classifier) {
      const size_t c = static_cast<size_t>(label);
      if (classes.size() <= c) classes.resize(c + 1, 0.0);
      classes[c] += 1;
    }
    sum += label;
    n += 1;
  }

  std::vector<float> Predict(size_t groups, bool classifier) const {
    std::vector<float> p(groups, 0.0f);
    if (!classifier) {
      if (n > 0) p[0] = static_cast<float>(sum / n);
      return p;
    }
    if (groups == 1) {  // binary: P(label = 1)
      p[0] = n > 0 ? static_cast<float>(sum / n) : 0.5f;
      return p;
    }
    for (size_t c = 0; c < groups; ++c) {
      const double count = c < classes.size() ? classes[c] : 0.0;
      p[c] = n > 0 ? static_cast<float>(count / n) : 1.0f / static_cast<float>(groups);
    }
    return p;
  }
};

// When a row's label became known: a date (a whole UTC day, as the loader turns
// "2016-08-13" into unix seconds) at the end of that date in tz; a time at the end of its
// local day.
std::int64_t LabelKnownAt(std::int64_t t, const date::time_zone* tz) {
  if (t % 86400 == 0) {
    const date::sys_days day{date::days{t / 86400}};
    if (Result<Instant> end = ParseInstant(date::format("%F", day + date::days{1}), tz); end.ok()) {
      return end->time_since_epoch().count();
    }
  }
  return EndOfLocalDay(Instant(std::chrono::seconds(t)), tz).time_since_epoch().count();
}

}  // namespace

Result<std::vector<std::vector<float>>> PriorBaseline(SqliteDb& data, const ModelConfig& model,
                                                      const std::vector<LiveScore>& scores,
                                                      const date::time_zone* tz) {
  DatasetSpec spec = DatasetSpec::FromModel(model);
  spec.features.clear();
  Result<Dataset> rows = LoadDataset(data, spec, RowFilter{});
  if (!rows.ok()) return rows.status();
  const bool classifier = model.IsClassifier();

  std::vector<std::int64_t> known(rows->rows);
  for (size_t r = 0; r < rows->rows; ++r) known[r] = LabelKnownAt(rows->time[r], tz);
  std::vector<size_t> order(rows->rows);
  for (size_t r = 0; r < order.size(); ++r) order[r] = r;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return known[a] < known[b]; });

  std::map<std::string, Tally> by_segment;
  Tally all;
  size_t next = 0;
  std::vector<std::vector<float>> out;
  out.reserve(scores.size());
  for (const LiveScore& s : scores) {
    Result<Instant> at = ParseInstant(s.signal_at, tz);
    if (!at.ok()) return Status::Error("live score of key " + s.key + ": " + at.message());
    const std::int64_t t = at->time_since_epoch().count();
    for (; next < order.size() && known[order[next]] <= t; ++next) {
      const size_t r = order[next];
      by_segment[rows->segments[r]].Add(rows->y[r], classifier);
      all.Add(rows->y[r], classifier);
    }
    auto it = by_segment.find(s.segment);
    const Tally& tally = it != by_segment.end() && it->second.n > 0 ? it->second : all;
    out.push_back(tally.Predict(s.prediction.size(), classifier));
  }
  return out;
}

}  // namespace mlcron
