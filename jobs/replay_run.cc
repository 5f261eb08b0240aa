#include "jobs/replay_run.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "daemon/time_format.h"
#include "jobs/features_job.h"
#include "jobs/job_context.h"
#include "jobs/replay_baseline.h"
#include "jobs/replay_command.h"
#include "jobs/replay_reveal.h"
#include "jobs/retrain_job.h"
#include "jobs/signals_job.h"

namespace mlcron {
namespace {

double CpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::chrono::system_clock::time_point TimePoint(Instant at) {
  return std::chrono::system_clock::time_point(at.time_since_epoch());
}

// The replay's copy of the config: the same graph and models, but every path the jobs write
// points into the scratch folder.
Config ScratchConfig(const Config& config, const std::string& dir) {
  Config c = config;
  c.state_dir = dir + "/state";
  c.log_dir = dir + "/logs";
  c.data_path = dir + "/data.db";
  return c;
}

// Everything one pass holds open.
struct Pass {
  const Config& config;  // the scratch config
  const PolicyRequest& request;
  SqliteDb& data;
  Registry& registry;
  PolicyRun& run;
  int runs = 0;
};

Status RunRetrain(Pass& p, const JobConfig& job, Instant at, const std::string& run_id) {
  const ModelConfig* model = p.config.FindModel(job.builtin.model);
  if (!model) return Status::Error("no model \"" + job.builtin.model + "\"");
  RetrainRequest r;
  r.now = TimePoint(at);
  r.run_id = run_id;
  r.policy = p.request.policy;
  r.out = p.request.log;
  if (job.builtin.full) r.forced = "job full: true";
  const double cpu = CpuSeconds();
  const auto wall = std::chrono::steady_clock::now();
  Result<RetrainResult> result = RetrainModel(p.config, *model, p.data, p.registry, r);
  p.run.retrain_cpu_seconds += CpuSeconds() - cpu;
  p.run.retrain_seconds += Since(wall);
  if (!result.ok()) return result.status();
  for (const SegmentResult& s : result->segments) {
    ReplayDecision d;
    d.at = at;
    d.job = job.name;
    d.model = model->name;
    d.segment = s.segment;
    d.decision = std::string(DecisionName(s.decision.kind));
    d.reasons = s.decision.Summary();
    d.version = s.version;
    if (!s.error.empty()) {
      d.outcome = "error: " + s.error;
    } else if (s.version) {
      Result<std::optional<ModelVersion>> v = p.registry.Get(*s.version);
      if (!v.ok()) return v.status();
      if (*v) {
        d.outcome = (*v)->status;
        d.seconds = (*v)->duration_s;
      }
    }
    p.run.decisions.push_back(std::move(d));
  }
  return Status::Ok();
}

Status RunSignals(Pass& p, const JobConfig& job, Instant at, const std::string& run_id) {
  const ModelConfig* model = p.config.FindModel(job.builtin.model);
  if (!model) return Status::Error("no model \"" + job.builtin.model + "\"");
  SignalsRequest r;
  r.input = job.builtin.input;
  r.output = job.builtin.output;
  r.now = TimePoint(at);
  r.scheduled = IsoUtc(TimePoint(at));
  r.run_id = run_id;
  Result<SignalsStats> stats = ScoreSignals(*model, p.data, p.registry, r);
  if (!stats.ok()) return stats.status();
  // ScoreSignals first scores the earlier signals whose labels have arrived (live scores).
  *p.request.log << "signals " << job.name << ": " << stats->scored
                 << " rows scored; live: " << stats->live.scored << " scored, "
                 << stats->live.awaiting << " awaiting\n";
  return Status::Ok();
}

Status RunJob(Pass& p, const JobConfig& job, Instant at) {
  const std::string run_id =
      fmt::format("replay-{}-{}", ReplayPolicyName(p.request.policy), ++p.runs);
  std::ostream& log = *p.request.log;
  if (job.kind == "import") return Status::Ok();  // replaced by the reveal
  if (job.kind == "features") {
    Result<FeaturesStats> s = RunFeatures(p.data, job, at, run_id);
    if (!s.ok()) return s.status();
    log << "features " << job.name << ": " << s->statements << " statements, " << s->changes
        << " rows changed\n";
    return Status::Ok();
  }
  if (job.kind == "retrain") return RunRetrain(p, job, at, run_id);
  if (job.kind == "signals") return RunSignals(p, job, at, run_id);
  if (job.kind == "command") {
    if (!job.replay) return Status::Ok();  // only those marked replay: true
    return RunReplayCommand(p.config, job, at, run_id,
                            std::string(ReplayPolicyName(p.request.policy)),
                            p.config.log_dir + "/" + run_id + ".log", log);
  }
  log << job.kind << " " << job.name << ": not run in a replay\n";
  return Status::Ok();
}

// The final scoring: labels revealed after the last signals run are scored too.
Status CollectLive(Pass& p) {
  for (const ModelConfig& model : p.config.models) {
    std::vector<std::string> outputs;
    for (const JobConfig& j : p.config.jobs) {
      if (j.kind == "signals" && j.builtin.model == model.name &&
          std::find(outputs.begin(), outputs.end(), j.builtin.output) == outputs.end()) {
        outputs.push_back(j.builtin.output);
      }
    }
    if (outputs.empty()) continue;
    for (const std::string& out : outputs) {
      Result<LiveScoringStats> s =
          ScoreArrivedLabels(model, p.data, p.registry, out, TimePoint(p.request.to));
      if (!s.ok()) return s.status();
    }
    ReplayLive live;
    live.model = model;
    Result<std::vector<LiveScore>> scores = ReadLiveScores(p.registry, model.name);
    if (!scores.ok()) return scores.status();
    live.scores = std::move(*scores);
    Result<std::vector<std::vector<float>>> base =
        PriorBaseline(p.data, model, live.scores, p.config.tz);
    if (!base.ok()) return base.status();
    live.baseline = std::move(*base);
    p.run.live.push_back(std::move(live));
  }
  return Status::Ok();
}

}  // namespace

double PolicyRun::TrainSeconds() const {
  double total = 0;
  for (const ReplayDecision& d : decisions) total += d.seconds;
  return total;
}

std::vector<ReplayOccurrence> ReplayOccurrences(const Config& config, Instant from, Instant to) {
  std::vector<ReplayOccurrence> out;
  for (size_t t = 0; t < config.tiers.size(); ++t) {
    Instant cursor = from - std::chrono::seconds(1);
    while (true) {
      std::optional<Instant> next = config.tiers[t].schedule.NextAfter(cursor, config.tz);
      if (!next || *next >= to) break;
      out.push_back({*next, t});
      cursor = *next;
    }
  }
  // Tiers are in ascending tier order, so a stable sort by time keeps 4 before 4.5 at a tie.
  std::stable_sort(
      out.begin(), out.end(),
      [](const ReplayOccurrence& a, const ReplayOccurrence& b) { return a.at < b.at; });
  return out;
}

Result<PolicyRun> RunReplayPolicy(const Config& base, const ReplaySources& sources,
                                  const PolicyRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  const Config config = ScratchConfig(base, request.scratch_dir);
  std::error_code ec;
  std::filesystem::create_directories(config.log_dir, ec);
  if (ec) return Status::Error(config.log_dir + ": " + ec.message());
  Result<std::unique_ptr<SqliteDb>> data = OpenDataDb(config);
  if (!data.ok()) return data.status();
  Result<std::unique_ptr<Registry>> registry = Registry::Open(config);
  if (!registry.ok()) return registry.status();
  // Scratch databases: an interrupted replay starts over, so fsyncs buy nothing.
  for (SqliteDb* db : {data->get(), &(*registry)->db()}) {
    if (Status s = db->Exec("PRAGMA synchronous = OFF"); !s.ok()) return s;
  }
  Result<Revealer> revealer = Revealer::Create(**data, sources);
  if (!revealer.ok()) return revealer.status();

  PolicyRun run;
  run.policy = request.policy;
  Pass pass{config, request, **data, **registry, run};
  for (const ReplayOccurrence& occ : ReplayOccurrences(config, request.from, request.to)) {
    Result<RevealStats> shown = revealer->RevealUpTo(occ.at);
    if (!shown.ok()) return shown.status();
    run.rows_revealed += shown->rows;
    run.labels_revealed += shown->labels;
    ++run.occurrences;
    const TierConfig& tier = config.tiers[occ.tier];
    *request.log << "== " << FormatInstant(occ.at, config.tz) << " tier " << tier.name << " ("
                 << shown->rows << " rows and " << shown->labels << " labels revealed)\n";
    for (size_t j : tier.jobs) {
      const JobConfig& job = config.jobs[j];
      if (Status s = RunJob(pass, job, occ.at); !s.ok()) {
        return Status::Error(
            fmt::format("policy {} stopped at {}, {} job {}: {}", ReplayPolicyName(request.policy),
                        FormatInstant(occ.at, config.tz), job.kind, job.name, s.message()));
      }
    }
  }
  Result<RevealStats> rest = revealer->RevealUpTo(request.to);
  if (!rest.ok()) return rest.status();
  run.labels_revealed += rest->labels;
  if (Status s = CollectLive(pass); !s.ok()) return s;
  run.seconds = Since(start);
  return run;
}

}  // namespace mlcron
