#include "daemon/config_replay.h"

#include <set>

#include "daemon/config.h"
#include "daemon/config_job_params.h"

namespace mlcron {
namespace {

std::optional<std::string> Name(MapReader& map, std::string_view key, ErrorSink* errors) {
  const Field* f = map.Find(key);
  if (!f) {
    errors->Add(map.pos(),
                MessagePrefix(map.path()) + "missing required key \"" + std::string(key) + "\"");
    return std::nullopt;
  }
  std::optional<std::string> v = ReadString(*f, errors);
  if (v && !IsSqlIdentifier(*v)) {
    errors->Add(f->pos, f->path + ": " + Quote(*v) +
                            " is not a plain SQL name (letters, digits and \"_\")");
    return std::nullopt;
  }
  return v;
}

std::vector<std::string> Names(MapReader& map, std::string_view key, ErrorSink* errors) {
  const Field* f = map.Find(key);
  if (!f) return {};
  std::optional<std::vector<std::string>> list = ReadStringList(*f, errors);
  if (!list) return {};
  std::set<std::string> seen;
  for (const std::string& name : *list) {
    if (!IsSqlIdentifier(name)) {
      errors->Add(f->pos, f->path + ": " + Quote(name) +
                              " is not a plain SQL name (letters, digits and \"_\")");
    } else if (!seen.insert(name).second) {
      errors->Add(f->pos, f->path + ": " + Quote(name) + " is listed twice");
    }
  }
  return *list;
}

ReplaySource ReadSource(const Field& f, ErrorSink* errors) {
  ReplaySource s;
  s.pos = f.pos;
  if (!ExpectMap(f, errors)) return s;
  MapReader map(f.value, f.path, f.pos, errors);
  if (auto v = Name(map, "table", errors)) s.table = *v;
  if (auto v = Name(map, "time", errors)) s.time = *v;
  s.labels = Names(map, "labels", errors);
  if (!map.Find("labels")) {
    errors->Add(f.pos, MessagePrefix(f.path) +
                           "missing required key \"labels\" (the columns hidden until the end "
                           "of the row's day)");
  } else if (s.labels.empty()) {
    errors->Add(map.Find("labels")->pos, f.path + ".labels: must not be empty");
  }
  for (const std::string& label : s.labels) {
    if (label == s.time) {
      errors->Add(map.Find("labels")->pos,
                  f.path + ".labels: " + Quote(label) + " is the time column");
    }
  }
  if (auto v = map.Duration("reveal_ahead")) s.reveal_ahead = *v;
  s.key = Names(map, "key", errors);
  map.Finish();
  return s;
}

}  // namespace

ReplayConfig ReadReplay(const Field& replay, ErrorSink* errors) {
  ReplayConfig r;
  r.pos = replay.pos;
  if (!ExpectMap(replay, errors)) return r;
  MapReader map(replay.value, replay.path, replay.pos, errors);
  const Field* sources = map.Find("sources");
  map.Finish();
  if (!sources) {
    errors->Add(replay.pos, "replay: missing required key \"sources\"");
    return r;
  }
  std::optional<std::vector<Field>> list = ReadList(*sources, errors);
  if (!list) return r;
  if (list->empty()) errors->Add(sources->pos, "replay.sources: must not be empty");
  std::set<std::string> tables;
  for (const Field& f : *list) {
    ReplaySource s = ReadSource(f, errors);
    if (!s.table.empty() && !tables.insert(s.table).second) {
      errors->Add(f.pos, f.path + ".table: " + Quote(s.table) + " is a source twice");
    }
    r.sources.push_back(std::move(s));
  }
  return r;
}

void CheckReplaySources(const ReplayConfig& replay, const std::vector<JobConfig>& jobs,
                        ErrorSink* errors) {
  for (const ReplaySource& s : replay.sources) {
    if (s.table.empty()) continue;  // already reported
    std::vector<std::string> writers;
    for (const JobConfig& j : jobs) {
      if (j.kind == "import" && j.builtin.table == s.table) writers.push_back(j.name);
    }
    if (writers.size() > 1) {
      errors->Add(s.pos, "replay source " + Quote(s.table) + ": written by " +
                             std::to_string(writers.size()) + " import jobs (" + writers[0] + ", " +
                             writers[1] + "); replay needs exactly one file per table");
    } else if (writers.empty() && s.key.empty()) {
      errors->Add(s.pos, "replay source " + Quote(s.table) +
                             ": no import job writes it, so replay copies it from the data "
                             "database and needs its key: add key: [COLUMN, ...]");
    }
  }
}

}  // namespace mlcron
