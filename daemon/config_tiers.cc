#include "daemon/config_tiers.h"

#include <filesystem>

#include "daemon/argv_expand.h"
#include "daemon/config_job_params.h"
#include "daemon/job_kind.h"
#include "daemon/schedule.h"
#include "daemon/suggest.h"

namespace mlcron {

bool IsValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  // "." and ".." would be path components in log_dir/<job>/.
  return name != "." && name != "..";
}

std::string ResolvePath(const std::string& base_dir, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
  std::string out = p.lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

namespace {

const std::vector<std::string> kOverlaps = {"skip", "queue", "replace"};
const std::vector<std::string> kCatchups = {"none", "latest", "all"};
const std::vector<std::string> kTriggers = {"all_success", "all_done"};

std::optional<std::string> ReadName(MapReader& map, ErrorSink* errors) {
  const Field* f = map.Find("name");
  if (!f) {
    errors->Add(map.pos(), MessagePrefix(map.path()) + "missing required key \"name\"");
    return std::nullopt;
  }
  std::optional<std::string> name = ReadString(*f, errors);
  if (name && !IsValidName(*name)) {
    errors->Add(f->pos, f->path + ": " + Quote(*name) +
                            " is not a valid name (use letters, digits, \"_\", \".\" and \"-\")");
  }
  return name;
}

std::vector<GraphRef> ReadAfter(MapReader& map, ErrorSink* errors, std::vector<std::string>* out) {
  std::vector<GraphRef> refs;
  const Field* f = map.Find("after");
  if (!f) return refs;
  std::optional<std::vector<Field>> items = ReadList(*f, errors);
  if (!items) return refs;
  for (const Field& item : *items) {
    std::optional<std::string> name = ReadString(item, errors);
    if (!name) continue;
    out->push_back(*name);
    refs.push_back({std::move(*name), item.pos});
  }
  return refs;
}

// Why a key is unknown on a job, when it is valid on another kind.
std::string KindKeyHint(std::string_view key, const std::string& kind) {
  for (const std::string& other : KnownJobKinds()) {
    const std::vector<std::string>& keys = KindSpecificKeys(other);
    if (other != kind && std::find(keys.begin(), keys.end(), key) != keys.end()) {
      return " for kind " + kind + " (it is a key of kind " + other + ")";
    }
  }
  return "";
}

}  // namespace

void ReadJobSettings(MapReader& map, JobDefaults* d) {
  if (auto v = map.Duration("timeout")) d->timeout = *v;
  if (auto v = map.Int("retries", 0, 1000)) d->retries = static_cast<int>(*v);
  if (auto v = map.Duration("retry_delay")) d->retry_delay = *v;
  if (auto v = map.Duration("kill_grace")) d->kill_grace = *v;
  if (auto v = map.Choice("overlap", kOverlaps)) d->overlap = static_cast<Overlap>(*v);
  if (auto v = map.Choice("catchup", kCatchups)) d->catchup = static_cast<Catchup>(*v);
  if (auto v = map.Duration("catchup_window")) d->catchup_window = *v;
  if (auto v = map.Int("max_catchup", 0, 1000000)) d->max_catchup = static_cast<int>(*v);
  if (auto v = map.Size("log_max")) d->log_max_bytes = *v;
}

namespace {

JobConfig ReadJob(const Field& f, const JobDefaults& defaults, const std::string& base_dir,
                  GraphJob* graph, ErrorSink* errors) {
  JobConfig job;
  graph->path = f.path;
  job.pos = f.pos;
  if (!ExpectMap(f, errors)) return job;
  MapReader map(f.value, f.path, f.pos, errors);
  if (auto name = ReadName(map, errors)) job.name = graph->name = *name;
  if (const Field* name = map.Find("name")) graph->name_pos = name->pos;

  bool kind_known = true;
  if (const Field* kf = map.Find("kind")) {
    if (auto kind = ReadString(*kf, errors)) {
      job.kind = *kind;
      if (!IsKnownJobKind(*kind)) {
        kind_known = false;
        std::string known;
        for (const std::string& k : KnownJobKinds()) known += (known.empty() ? "" : ", ") + k;
        errors->Add(kf->pos, kf->path + ": unknown kind " + Quote(*kind) + " (known: " + known +
                                 ")" + DidYouMean(*kind, KnownJobKinds()));
      }
    }
  }
  const bool is_command = job.kind == "command";

  const Field* argv = map.Find("argv");
  if (auto v = map.Bool("shell")) job.shell = *v;
  if (is_command) {
    if (auto v = map.Bool("replay")) job.replay = *v;
  }
  if (is_command) {
    if (!argv) {
      errors->Add(f.pos, f.path + ": missing required key \"argv\" (kind command runs it)");
    } else if (auto list = ReadStringList(*argv, errors)) {
      job.argv = std::move(*list);
      if (Status s = CheckPlaceholders(job.argv); !s.ok()) {
        errors->Add(argv->pos, argv->path + ": " + s.message());
      }
      if (job.argv.empty()) {
        errors->Add(argv->pos, argv->path + ": must not be empty");
      } else if (job.shell && job.argv.size() != 1) {
        errors->Add(argv->pos, argv->path +
                                   ": with shell: true, argv must be one string (the "
                                   "script for /bin/sh -c), got " +
                                   std::to_string(job.argv.size()));
      }
    }
  } else if (kind_known) {
    if (argv) {
      errors->Add(argv->key_pos, argv->path + ": only kind command takes argv, not " + job.kind);
    }
    if (const Field* shell = map.Find("shell")) {
      errors->Add(shell->key_pos, shell->path + ": only kind command takes shell, not " + job.kind);
    }
    if (const Field* replay = map.Find("replay")) {
      errors->Add(replay->key_pos, replay->path +
                                       ": only kind command takes replay (built-in kinds always "
                                       "run in a replay, import is replaced by the reveal), not " +
                                       job.kind);
    }
  }
  if (auto v = map.StringMap("env")) {
    job.env = std::move(*v);
    // A name with "=" (or empty) would corrupt the child's environment block.
    const Field* ef = map.Find("env");
    for (auto it = ef->value.begin(); it != ef->value.end(); ++it) {
      const std::string& key = it->first.Scalar();
      if (key.empty() || key.find_first_of("=") != std::string::npos ||
          key.find('\0') != std::string::npos) {
        errors->Add(PosOf(it->first),
                    ef->path + ": " + Quote(key) + " is not a valid environment variable name");
      }
    }
  }
  if (auto v = map.String("cwd")) {
    if (v->empty()) {
      errors->Add(map.Find("cwd")->pos, JoinPath(f.path, "cwd") + ": must not be empty");
    } else {
      job.cwd = ResolvePath(base_dir, *v);
    }
  }
  graph->after = ReadAfter(map, errors, &job.after);

  JobDefaults own = defaults;
  ReadJobSettings(map, &own);
  job.timeout = own.timeout;
  job.retries = own.retries;
  job.retry_delay = own.retry_delay;
  job.kill_grace = own.kill_grace;
  job.overlap = own.overlap;
  job.catchup = own.catchup;
  job.catchup_window = own.catchup_window;
  job.max_catchup = own.max_catchup;
  job.log_max_bytes = own.log_max_bytes;

  if (auto v = map.Choice("trigger", kTriggers)) job.trigger = static_cast<Trigger>(*v);
  if (const Field* of = map.Find("on_failure")) {
    if (auto list = ReadStringList(*of, errors)) {
      if (list->empty()) errors->Add(of->pos, of->path + ": must not be empty");
      if (Status s = CheckPlaceholders(*list); !s.ok()) {
        errors->Add(of->pos, of->path + ": " + s.message());
      }
      job.on_failure = std::move(*list);
    }
  }
  if (auto v = map.Int("nice", -20, 19)) job.nice = static_cast<int>(*v);
  if (auto v = map.Size("memory_max")) job.memory_max_bytes = *v;

  ReadBuiltinParams(map, kind_known, base_dir, &job, errors);
  map.Finish([&](std::string_view key) { return KindKeyHint(key, job.kind); });
  return job;
}

// Exactly one of at / schedule / every; `days` only with `at`.
void ReadSchedule(MapReader& map, TierConfig* tier, ErrorSink* errors) {
  const Field* at = map.Find("at");
  const Field* cron = map.Find("schedule");
  const Field* every = map.Find("every");
  const Field* days = map.Find("days");
  std::vector<const Field*> given;
  std::vector<std::string> names;
  for (auto [field, name] : {std::pair{at, "at"}, {cron, "schedule"}, {every, "every"}}) {
    if (field) {
      given.push_back(field);
      names.push_back(name);
    }
  }
  if (given.empty()) {
    errors->Add(map.pos(), MessagePrefix(map.path()) +
                               "missing a schedule: give one of at, schedule or every");
    return;
  }
  if (given.size() > 1) {
    const Field* second = given[0]->key_pos.line < given[1]->key_pos.line ||
                                  (given[0]->key_pos.line == given[1]->key_pos.line &&
                                   given[0]->key_pos.col < given[1]->key_pos.col)
                              ? given[1]
                              : given[0];
    errors->Add(second->key_pos, MessagePrefix(map.path()) +
                                     "give only one of at, schedule or every (found " + names[0] +
                                     " and " + names[1] + ")");
    return;
  }
  if (days && !at) {
    errors->Add(days->key_pos, days->path + ": only allowed with at");
  }
  if (at) {
    std::optional<std::string> time = ReadString(*at, errors);
    std::optional<std::string> day_list = days ? ReadString(*days, errors) : std::string();
    if (!time || !day_list) return;
    Result<Schedule> plain = Schedule::ParseAt(*time, "");
    if (!plain.ok()) {
      errors->Add(at->pos, at->path + ": " + plain.message());
      return;
    }
    Result<Schedule> s = Schedule::ParseAt(*time, *day_list);
    if (!s.ok()) {
      // The path already names the field; drop the schedule's own `days "...": ` prefix.
      std::string_view message = s.message();
      const std::string own_prefix = "days " + Quote(*day_list) + ": ";
      if (message.substr(0, own_prefix.size()) == own_prefix) {
        message.remove_prefix(own_prefix.size());
      }
      errors->Add(days->pos, days->path + ": " + std::string(message));
      return;
    }
    tier->schedule = std::move(*s);
  } else if (cron) {
    std::optional<std::string> expr = ReadString(*cron, errors);
    if (!expr) return;
    Result<Schedule> s = Schedule::ParseCron(*expr);
    if (!s.ok()) {
      errors->Add(cron->pos, cron->path + ": " + s.message());
      return;
    }
    tier->schedule = std::move(*s);
  } else {
    std::optional<std::chrono::seconds> interval = ReadDuration(*every, errors);
    if (!interval) return;
    if (interval->count() <= 0) {
      errors->Add(every->pos, every->path + ": must be greater than zero");
      return;
    }
    Result<Schedule> s = Schedule::Every(*interval);
    if (!s.ok()) {
      errors->Add(every->pos, every->path + ": " + s.message());
      return;
    }
    tier->schedule = std::move(*s);
  }
}

}  // namespace

ParsedTiers ReadTiers(const Field& tiers_field, const JobDefaults& defaults,
                      const std::string& base_dir, ErrorSink* errors) {
  ParsedTiers out;
  std::optional<std::vector<Field>> tiers = ReadList(tiers_field, errors);
  if (!tiers) return out;
  if (tiers->empty()) {
    errors->Add(tiers_field.pos, tiers_field.path + ": must list at least one tier");
    return out;
  }
  for (const Field& tf : *tiers) {
    const size_t t = out.tiers.size();
    // Schedule has no empty state; a tier whose schedule is bad keeps a placeholder, and the
    // loader discards the whole result anyway.
    TierConfig& tier = out.tiers.emplace_back(
        TierConfig{.tier = 0,
                   .name = {},
                   .schedule = Schedule::Every(std::chrono::hours(24)).value(),
                   .after = {},
                   .jobs = {},
                   .pos = {}});
    GraphTier& gt = out.graph.tiers.emplace_back();
    gt.path = tf.path;
    tier.pos = tf.pos;
    if (!ExpectMap(tf, errors)) continue;
    MapReader map(tf.value, tf.path, tf.pos, errors);
    if (const Field* nf = map.Find("tier")) {
      gt.number_pos = nf->pos;
      if (auto n = ReadNumber(*nf, errors)) tier.tier = gt.number = *n;
    } else {
      errors->Add(tf.pos, tf.path + ": missing required key \"tier\" (its number, e.g. 4 or 4.5)");
    }
    if (auto name = ReadName(map, errors)) tier.name = gt.name = *name;
    if (const Field* nf = map.Find("name")) gt.name_pos = nf->pos;
    ReadSchedule(map, &tier, errors);
    gt.after = ReadAfter(map, errors, &tier.after);

    const Field* jf = map.Find("jobs");
    if (!jf) {
      errors->Add(tf.pos, tf.path + ": missing required key \"jobs\"");
    } else if (auto jobs = ReadList(*jf, errors)) {
      if (jobs->empty()) errors->Add(jf->pos, jf->path + ": must list at least one job");
      for (const Field& job_field : *jobs) {
        const size_t j = out.jobs.size();
        GraphJob& gj = out.graph.jobs.emplace_back();
        gj.tier = t;
        JobConfig job = ReadJob(job_field, defaults, base_dir, &gj, errors);
        job.tier_index = t;
        out.jobs.push_back(std::move(job));
        out.tiers[t].jobs.push_back(j);
        out.graph.tiers[t].jobs.push_back(j);
      }
    }
    map.Finish();
  }
  return out;
}

}  // namespace mlcron
