#include "daemon/config_job_params.h"

#include "daemon/config_tiers.h"
#include "daemon/job_kind.h"
#include "daemon/suggest.h"

namespace mlcron {

bool IsSqlIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 128 || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

namespace {

const std::vector<std::string> kColumnTypes = {"integer", "real", "text"};
const std::vector<std::string> kApplyModes = {"better", "always", "never"};

// A required key of this kind; records "missing required key" on the job when absent.
const Field* Required(MapReader& map, std::string_view key, const std::string& kind,
                      ErrorSink* errors) {
  const Field* f = map.Find(key);
  if (!f) {
    errors->Add(map.pos(), MessagePrefix(map.path()) + "missing required key \"" +
                               std::string(key) + "\" for kind " + kind);
  }
  return f;
}

std::optional<std::string> Identifier(const Field& f, ErrorSink* errors) {
  std::optional<std::string> v = ReadString(f, errors);
  if (v && !IsSqlIdentifier(*v)) {
    errors->Add(f.pos,
                f.path + ": " + Quote(*v) + " is not a plain SQL name (letters, digits and \"_\")");
    return std::nullopt;
  }
  return v;
}

void ReadImport(MapReader& map, const std::string& base_dir, BuiltinJobParams* p,
                ErrorSink* errors) {
  if (const Field* f = Required(map, "file", "import", errors)) {
    if (auto v = ReadString(*f, errors)) p->file = ResolvePath(base_dir, *v);
  }
  if (const Field* f = Required(map, "table", "import", errors)) {
    if (auto v = Identifier(*f, errors)) p->table = *v;
  }
  if (const Field* f = Required(map, "key", "import", errors)) {
    if (f->value.IsSequence()) {
      if (auto items = ReadList(*f, errors)) {
        for (const Field& item : *items) {
          if (auto v = Identifier(item, errors)) p->key.push_back(*v);
        }
        if (items->empty()) errors->Add(f->pos, f->path + ": must not be empty");
      }
    } else if (auto v = Identifier(*f, errors)) {
      p->key.push_back(*v);
    }
  }
  if (const Field* f = map.Find("types")) {
    if (!ExpectMap(*f, errors)) return;
    MapReader types(f->value, f->path, f->pos, errors);
    for (auto it = f->value.begin(); it != f->value.end(); ++it) {
      const std::string column = it->first.as<std::string>("");
      const Field* cf = types.Find(column);
      if (!cf) continue;
      if (!IsSqlIdentifier(column)) {
        errors->Add(cf->key_pos, cf->path + ": " + Quote(column) +
                                     " is not a plain SQL name (letters, digits and \"_\")");
        continue;
      }
      if (auto choice = ReadChoice(*cf, kColumnTypes, errors)) {
        p->types[column] = kColumnTypes[*choice];
      }
    }
    types.Finish();
  }
}

void ReadFeatures(MapReader& map, const std::string& base_dir, BuiltinJobParams* p,
                  ErrorSink* errors) {
  const Field* f = Required(map, "sql", "features", errors);
  if (!f) return;
  std::optional<std::string> v = ReadString(*f, errors);
  if (!v) return;
  if (v->find_first_not_of(" \t\r\n") == std::string::npos) {
    errors->Add(f->pos, f->path + ": must not be empty");
    return;
  }
  // A single word ending in .sql is a file; anything else is the SQL itself.
  const bool is_file = v->size() > 4 && v->compare(v->size() - 4, 4, ".sql") == 0 &&
                       v->find_first_of(" \t\r\n") == std::string::npos;
  if (is_file) {
    p->sql_file = ResolvePath(base_dir, *v);
  } else {
    p->sql = *v;
  }
}

void ReadModelRef(MapReader& map, const std::string& kind, JobConfig* job, ErrorSink* errors) {
  if (const Field* f = Required(map, "model", kind, errors)) {
    if (auto v = ReadString(*f, errors)) {
      job->builtin.model = *v;
      job->builtin.model_pos = f->pos;
    }
  }
}

void ReadSignals(MapReader& map, BuiltinJobParams* p, ErrorSink* errors) {
  if (const Field* f = Required(map, "input", "signals", errors)) {
    if (auto v = ReadString(*f, errors)) {
      if (v->find_first_not_of(" \t\r\n") == std::string::npos) {
        errors->Add(f->pos, f->path + ": must not be empty");
      }
      p->input = *v;
    }
  }
  if (const Field* f = Required(map, "output", "signals", errors)) {
    if (auto v = Identifier(*f, errors)) p->output = *v;
  }
}

}  // namespace

void ReadBuiltinParams(MapReader& map, bool kind_known, const std::string& base_dir, JobConfig* job,
                       ErrorSink* errors) {
  if (!kind_known) {
    for (const std::string& kind : KnownJobKinds()) {
      for (const std::string& key : KindSpecificKeys(kind)) map.Allow(key);
    }
    return;
  }
  const std::string& kind = job->kind;
  BuiltinJobParams* p = &job->builtin;
  if (kind == "import") {
    ReadImport(map, base_dir, p, errors);
  } else if (kind == "features") {
    ReadFeatures(map, base_dir, p, errors);
  } else if (kind == "retrain") {
    ReadModelRef(map, kind, job, errors);
    if (auto v = map.Bool("full")) p->full = *v;
  } else if (kind == "signals") {
    ReadModelRef(map, kind, job, errors);
    ReadSignals(map, p, errors);
  } else if (kind == "tune") {
    ReadModelRef(map, kind, job, errors);
    if (const Field* f = map.Find("apply")) {
      if (auto choice = ReadChoice(*f, kApplyModes, errors)) p->apply = kApplyModes[*choice];
    }
  }
}

void CheckModelReferences(const std::vector<JobConfig>& jobs,
                          const std::vector<ModelConfig>& models, ErrorSink* errors) {
  std::vector<std::string> names;
  for (const ModelConfig& m : models) names.push_back(m.name);
  for (const JobConfig& job : jobs) {
    const std::string& model = job.builtin.model;
    if (model.empty()) continue;
    bool found = false;
    for (const std::string& n : names) found = found || n == model;
    if (!found) {
      errors->Add(job.builtin.model_pos, "job " + Quote(job.name) + ": model: no model named " +
                                             Quote(model) +
                                             " in models:" + DidYouMean(model, names));
    } else if (job.kind == "tune") {
      for (const ModelConfig& m : models) {
        if (m.name == model && !m.tuning) {
          errors->Add(job.builtin.model_pos, "job " + Quote(job.name) + ": model: model " +
                                                 Quote(model) +
                                                 " has no tuning: section to search");
        }
      }
    }
  }
}

}  // namespace mlcron
