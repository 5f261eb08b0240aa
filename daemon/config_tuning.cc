#include "daemon/config_tuning.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>

namespace mlcron {
namespace {

const std::vector<std::string> kMethods = {"grid", "random", "tpe"};
const std::vector<std::string> kBy = {"rows", "time"};
const std::vector<std::string> kPrune = {"none", "median"};

// `[lo, hi]` of an int or float entry, as numbers and as written (for messages).
struct Range {
  double lo = 0, hi = 0;
  std::string lo_text, hi_text;
};

std::optional<Range> ReadRange(const Field& f, bool integers, ErrorSink* errors) {
  const std::string expected = integers ? "[lo, hi] with integers such as [2, 10]"
                                        : "[lo, hi] with numbers such as [0.01, 0.3]";
  if (!f.value.IsSequence() || f.value.size() != 2) {
    errors->Add(f.pos, f.path + ": expected " + expected + ", got " + Describe(f.value));
    return std::nullopt;
  }
  std::optional<std::vector<Field>> items = ReadList(f, errors);
  if (!items) return std::nullopt;
  Range r;
  std::optional<double> lo, hi;
  if (integers) {
    if (auto v = ReadInt((*items)[0], INT64_MIN, INT64_MAX, errors)) lo = static_cast<double>(*v);
    if (auto v = ReadInt((*items)[1], INT64_MIN, INT64_MAX, errors)) hi = static_cast<double>(*v);
  } else {
    lo = ReadNumber((*items)[0], errors);
    hi = ReadNumber((*items)[1], errors);
  }
  if (!lo || !hi) return std::nullopt;
  r.lo = *lo;
  r.hi = *hi;
  r.lo_text = (*items)[0].value.Scalar();
  r.hi_text = (*items)[1].value.Scalar();
  if (r.lo >= r.hi) {
    errors->Add(f.pos,
                f.path + ": lo (" + r.lo_text + ") must be less than hi (" + r.hi_text + ")");
    return std::nullopt;
  }
  return r;
}

void ReadChoices(const Field& f, SpaceParam* p, ErrorSink* errors) {
  std::optional<std::vector<Field>> items = ReadList(f, errors);
  if (!items) return;
  if (items->empty()) errors->Add(f.pos, f.path + ": must list at least one value");
  std::set<std::string> seen;
  for (const Field& item : *items) {
    std::optional<std::string> v = ReadString(item, errors);
    if (!v) continue;
    if (!seen.insert(*v).second) {
      errors->Add(item.pos, item.path + ": " + Quote(*v) + " is listed twice");
      continue;
    }
    p->choices.push_back(*v);
  }
}

SpaceParam ReadSpaceParam(const std::string& name, const Field& f, ErrorSink* errors) {
  SpaceParam p;
  p.name = name;
  p.pos = f.key_pos;
  if (!ExpectMap(f, errors)) return p;
  MapReader map(f.value, f.path, f.pos, errors);
  const Field* kinds[] = {map.Find("int"), map.Find("float"), map.Find("choice")};
  const int given = static_cast<int>(std::count_if(std::begin(kinds), std::end(kinds),
                                                   [](const Field* k) { return k != nullptr; }));
  if (given != 1) {
    // The kind is what is wrong; step and log may well be right for it.
    map.Allow("step");
    map.Allow("log");
  }
  if (given == 0) {
    errors->Add(f.pos, f.path + ": give one of int: [lo, hi], float: [lo, hi] or choice: [...]");
    map.Finish();
    return p;
  }
  if (given > 1) {
    std::vector<const Field*> found;
    for (const Field* k : kinds) {
      if (k) found.push_back(k);
    }
    std::sort(found.begin(), found.end(), [](const Field* a, const Field* b) {
      return std::pair(a->key_pos.line, a->key_pos.col) <
             std::pair(b->key_pos.line, b->key_pos.col);
    });
    const Field* second = found[1];  // in file order
    errors->Add(second->key_pos, f.path + ": give only one of int, float or choice");
    map.Finish();
    return p;
  }
  if (const Field* k = kinds[0]) {
    p.kind = SpaceParam::Kind::kInt;
    if (auto r = ReadRange(*k, true, errors)) {
      p.lo = r->lo;
      p.hi = r->hi;
    }
    if (auto v = map.Int("step", 1, INT64_MAX)) p.step = static_cast<double>(*v);
  } else if (const Field* k = kinds[1]) {
    p.kind = SpaceParam::Kind::kFloat;
    std::optional<Range> r = ReadRange(*k, false, errors);
    if (r) {
      p.lo = r->lo;
      p.hi = r->hi;
    }
    if (const Field* s = map.Find("step")) {
      if (auto v = ReadNumber(*s, errors)) {
        if (*v <= 0) {
          errors->Add(s->pos, s->path + ": must be more than 0, got " + Quote(s->value.Scalar()));
        } else {
          p.step = *v;
        }
      }
    }
    if (const Field* l = map.Find("log")) {
      if (auto v = ReadBool(*l, errors)) p.log = *v;
      if (p.log && map.Find("step")) {
        errors->Add(l->key_pos, f.path + ": give either log: true or step, not both");
      } else if (p.log && r && r->lo <= 0) {
        errors->Add(k->pos, k->path + ": log: true needs lo > 0, got " + r->lo_text);
      }
    }
  } else {
    p.kind = SpaceParam::Kind::kChoice;
    ReadChoices(*kinds[2], &p, errors);
  }
  map.Finish([&](std::string_view key) -> std::string {
    if (key == "log") return ": log is only for float parameters";
    if (key == "step") return ": step is only for int and float parameters";
    return "";
  });
  return p;
}

void ReadSpace(const Field& f, const std::vector<std::string>& reserved, TuningConfig* t,
               ErrorSink* errors) {
  if (!ExpectMap(f, errors)) return;
  if (f.value.size() == 0) {
    errors->Add(f.pos, f.path + ": must name at least one parameter to search");
    return;
  }
  MapReader map(f.value, f.path, f.pos, errors);
  std::set<std::string> seen;
  for (auto it = f.value.begin(); it != f.value.end(); ++it) {
    if (!it->first.IsScalar()) continue;  // reported by MapReader
    const std::string name = it->first.Scalar();
    if (!seen.insert(name).second) continue;  // duplicate, reported by MapReader
    const Field* pf = map.Find(name);
    if (std::find(reserved.begin(), reserved.end(), name) != reserved.end()) {
      errors->Add(pf->key_pos, pf->path + ": set by mlcron; it cannot be tuned");
      continue;
    }
    if (name == "num_class") {
      errors->Add(pf->key_pos, pf->path + ": fixed by the model's labels; it cannot be tuned");
      continue;
    }
    t->space.push_back(ReadSpaceParam(name, *pf, errors));
  }
  map.Finish();
}

}  // namespace

TuningConfig ReadTuning(const Field& tuning, const ModelConfig& model,
                        const std::vector<std::string>& reserved, ErrorSink* errors) {
  TuningConfig t;
  t.pos = tuning.pos;
  t.metric = model.metric;
  if (!ExpectMap(tuning, errors)) return t;
  MapReader map(tuning.value, tuning.path, tuning.pos, errors);
  if (auto v = map.Choice("method", kMethods)) t.method = static_cast<TuningConfig::Method>(*v);
  if (auto v = map.Int("trials", 1, 100000)) t.trials = static_cast<int>(*v);
  if (auto v = map.Int("folds", 2, 1000)) t.folds = static_cast<int>(*v);
  if (auto v = map.Int("gap", 0, INT64_MAX)) t.gap = *v;
  if (auto v = map.Int("test_size", 1, INT64_MAX)) t.test_size = *v;
  if (auto v = map.Int("max_train_size", 1, INT64_MAX)) t.max_train_size = *v;
  if (auto v = map.Choice("by", kBy)) t.by_time = *v == 1;
  // The same check as the model's own `metric:`.
  if (const Field* mf = map.Find("metric")) {
    if (auto v = ReadChoice(*mf, KnownMetrics(), errors)) {
      const std::string& metric = KnownMetrics()[*v];
      if (!model.objective.empty() && IsClassificationMetric(metric) != model.IsClassifier()) {
        errors->Add(mf->pos, mf->path + ": " + Quote(metric) + " does not apply to objective " +
                                 model.objective);
      } else {
        t.metric = metric;
      }
    }
  }
  if (auto v = map.Choice("prune", kPrune)) t.prune = static_cast<TuningConfig::Prune>(*v);
  if (auto v = map.Int("seed", 0, INT64_MAX)) t.seed = static_cast<std::uint64_t>(*v);
  if (const Field* sf = map.Find("space")) {
    ReadSpace(*sf, reserved, &t, errors);
  } else {
    errors->Add(tuning.pos, MessagePrefix(tuning.path) +
                                "missing required key \"space\" (the parameters to search)");
  }
  map.Finish();
  // A grid enumerates each parameter's values, which a continuous range does not have.
  if (t.method == TuningConfig::Method::kGrid) {
    for (const SpaceParam& p : t.space) {
      if (p.kind == SpaceParam::Kind::kFloat && !p.step && p.lo < p.hi) {
        errors->Add(p.pos, JoinPath(JoinPath(tuning.path, "space"), p.name) +
                               ": grid needs a step for float parameter " + p.name);
      }
    }
  }
  return t;
}

}  // namespace mlcron
