#include "jobs/replay_report.h"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <cmath>
#include <map>

#include "daemon/snapshot.h"
#include "daemon/time_format.h"
#include "jobs/metrics.h"
#include "jobs/promotion_gate.h"
#include "jobs/replay_chart.h"

namespace mlcron {
namespace {

// RFC 4180: quoted only when needed.
std::string Csv(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string Num(double v) { return fmt::format("{:.6f}", v); }

int Groups(const ReplayLive& live, size_t begin) {
  return live.scores.empty() ? 1 : static_cast<int>(live.scores[begin].prediction.size());
}

}  // namespace

double RowLoss(const ModelConfig& model, float label, const std::vector<float>& prediction) {
  const std::span<const float> y(&label, 1);
  if (model.IsClassifier()) {
    return LogLoss(y, Predictions{prediction, static_cast<int>(prediction.size())});
  }
  if (model.objective == "count:poisson") return MeanPoissonDeviance(y, prediction);
  const double d = static_cast<double>(prediction[0]) - label;
  return d * d;
}

Result<std::vector<WeekRange>> Weeks(const ReplayLive& live, const date::time_zone* tz) {
  std::vector<WeekRange> out;
  for (size_t i = 0; i < live.scores.size(); ++i) {
    Result<Instant> at = ParseInstant(live.scores[i].signal_at, tz);
    if (!at.ok()) return at.status();
    const date::local_days day = date::floor<date::days>(tz->to_local(*at));
    const date::local_days monday = day - (date::weekday(day) - date::Monday);
    std::string week = date::format("%F", monday);
    if (out.empty() || out.back().monday != week) out.push_back({std::move(week), i, i});
    out.back().end = i + 1;
  }
  return out;
}

Result<LiveAggregate> AggregateLive(const ModelConfig& model, const ReplayLive& live, size_t begin,
                                    size_t end) {
  LiveAggregate a;
  a.rows = static_cast<std::int64_t>(end - begin);
  if (begin == end) return a;
  const int groups = Groups(live, begin);
  std::vector<float> labels, predicted, base;
  for (size_t i = begin; i < end; ++i) {
    labels.push_back(live.scores[i].label);
    predicted.insert(predicted.end(), live.scores[i].prediction.begin(),
                     live.scores[i].prediction.end());
    base.insert(base.end(), live.baseline[i].begin(), live.baseline[i].end());
  }
  Result<std::map<std::string, double>> m =
      ComputeMetrics(model.objective, labels, Predictions{predicted, groups});
  if (!m.ok()) return m.status();
  Result<std::map<std::string, double>> b =
      ComputeMetrics(model.objective, labels, Predictions{base, groups});
  if (!b.ok()) return b.status();
  a.live = m->at(model.metric);
  a.baseline = b->at(model.metric);
  if (model.IsClassifier()) a.accuracy = m->at("accuracy");
  return a;
}

std::string DecisionsCsv(const std::vector<PolicyRun>& runs, const date::time_zone* tz) {
  std::string out = "policy,at,job,model,segment,decision,outcome,version,seconds,reasons\n";
  for (const PolicyRun& run : runs) {
    for (const ReplayDecision& d : run.decisions) {
      out += fmt::format("{},{},{},{},{},{},{},{},{:.3f},{}\n", ReplayPolicyName(run.policy),
                         FormatInstant(d.at, tz), Csv(d.job), Csv(d.model), Csv(d.segment),
                         d.decision, Csv(d.outcome), d.version ? std::to_string(*d.version) : "",
                         d.seconds, Csv(d.reasons));
    }
  }
  return out;
}

std::string LiveScoresCsv(const std::vector<PolicyRun>& runs) {
  std::string out =
      "policy,model,segment,key,version,signal_at,label,loss,baseline_loss,correct,prediction\n";
  for (const PolicyRun& run : runs) {
    for (const ReplayLive& live : run.live) {
      for (size_t i = 0; i < live.scores.size(); ++i) {
        const LiveScore& s = live.scores[i];
        std::string correct, prediction;
        if (live.model.IsClassifier()) {
          const std::span<const float> y(&s.label, 1);
          correct =
              Accuracy(y, Predictions{s.prediction, static_cast<int>(s.prediction.size())}) == 1.0
                  ? "1"
                  : "0";
        }
        for (float p : s.prediction)
          prediction += fmt::format("{}{:.6f}", prediction.empty() ? "" : " ", p);
        out +=
            fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", ReplayPolicyName(run.policy),
                        Csv(s.model), Csv(s.segment), Csv(s.key), s.version, s.signal_at, s.label,
                        Num(RowLoss(live.model, s.label, s.prediction)),
                        Num(RowLoss(live.model, s.label, live.baseline[i])), correct, prediction);
      }
    }
  }
  return out;
}

Result<std::string> LiveWeeklyCsv(const std::vector<PolicyRun>& runs, const date::time_zone* tz) {
  std::string out = "policy,model,metric,week,rows,live,baseline,accuracy\n";
  for (const PolicyRun& run : runs) {
    for (const ReplayLive& live : run.live) {
      Result<std::vector<WeekRange>> weeks = Weeks(live, tz);
      if (!weeks.ok()) return weeks.status();
      for (const WeekRange& w : *weeks) {
        Result<LiveAggregate> a = AggregateLive(live.model, live, w.begin, w.end);
        if (!a.ok()) return a.status();
        out += fmt::format("{},{},{},{},{},{},{},{}\n", ReplayPolicyName(run.policy),
                           Csv(live.model.name), live.model.metric, w.monday, a->rows, Num(a->live),
                           Num(a->baseline), a->accuracy ? Num(*a->accuracy) : "");
      }
    }
  }
  return out;
}

Result<std::string> LiveSummaryCsv(const std::vector<PolicyRun>& runs) {
  std::string out = "policy,model,metric,rows,live,baseline,improvement,accuracy\n";
  for (const PolicyRun& run : runs) {
    for (const ReplayLive& live : run.live) {
      Result<LiveAggregate> a = AggregateLive(live.model, live, 0, live.scores.size());
      if (!a.ok()) return a.status();
      // Relative, positive when the model beats the baseline in the metric's direction.
      const double gain =
          a->baseline != 0 ? RelativeImprovement(live.model.metric, a->live, a->baseline) : 0;
      out += fmt::format("{},{},{},{},{},{},{},{}\n", ReplayPolicyName(run.policy),
                         Csv(live.model.name), live.model.metric, a->rows, Num(a->live),
                         Num(a->baseline), Num(gain), a->accuracy ? Num(*a->accuracy) : "");
    }
  }
  return out;
}

std::string SummaryCsv(const std::vector<PolicyRun>& runs) {
  std::string out =
      "policy,occurrences,full,incremental,skip,promoted,rejected,errors,train_seconds,"
      "retrain_cpu_seconds,retrain_seconds,seconds\n";
  for (const PolicyRun& run : runs) {
    std::map<std::string, int> n;
    for (const ReplayDecision& d : run.decisions) {
      ++n[d.decision];
      if (d.outcome == "production") ++n["promoted"];
      if (d.outcome == "rejected") ++n["rejected"];
      if (d.outcome.rfind("error", 0) == 0) ++n["errors"];
    }
    out += fmt::format("{},{},{},{},{},{},{},{},{:.3f},{:.3f},{:.3f},{:.3f}\n",
                       ReplayPolicyName(run.policy), run.occurrences, n["full"], n["incremental"],
                       n["skip"], n["promoted"], n["rejected"], n["errors"], run.TrainSeconds(),
                       run.retrain_cpu_seconds, run.retrain_seconds, run.seconds);
  }
  return out;
}

Result<std::vector<std::string>> WriteReplayOutputs(const std::string& dir,
                                                    const std::vector<PolicyRun>& runs,
                                                    const Config& config) {
  std::vector<std::pair<std::string, std::string>> files;
  files.emplace_back("decisions.csv", DecisionsCsv(runs, config.tz));
  files.emplace_back("live_scores.csv", LiveScoresCsv(runs));
  Result<std::string> weekly = LiveWeeklyCsv(runs, config.tz);
  if (!weekly.ok()) return weekly.status();
  files.emplace_back("live_weekly.csv", *weekly);
  Result<std::string> live = LiveSummaryCsv(runs);
  if (!live.ok()) return live.status();
  files.emplace_back("live_summary.csv", *live);
  files.emplace_back("summary.csv", SummaryCsv(runs));
  if (!runs.empty()) {
    for (const ReplayLive& l : runs.front().live) {
      Result<std::string> svg = LiveChartSvg(runs, l.model.name, config.tz);
      if (!svg.ok()) return svg.status();
      files.emplace_back("live_" + l.model.name + ".svg", *svg);
    }
  }
  std::vector<std::string> written;
  for (const auto& [name, text] : files) {
    const std::string path = dir + "/" + name;
    if (Status s = WriteFileAtomic(path, text, 0644); !s.ok()) return s;
    written.push_back(path);
  }
  return written;
}

}  // namespace mlcron
