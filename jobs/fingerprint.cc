#include "jobs/fingerprint.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <set>

#include "daemon/sha256.h"

namespace mlcron {
namespace {

using nlohmann::json;

// Thread count (n_jobs is XGBoost 1.7's alias of nthread) and log level: neither changes
// a tree. seed stays in: with subsample or colsample it changes the model.
constexpr std::array<std::string_view, 3> kRuntimeOnlyParams = {"nthread", "n_jobs", "verbosity"};

// Keys of the canonical form, in the order their changes are described.
constexpr std::array<std::string_view, 4> kScalarKeys = {"objective", "label", "segment_by",
                                                         "xgboost"};

json Parse(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : json();
}

// Strings as they are; anything else (a missing key, a future field) as compact JSON.
std::string Show(const json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    return s.empty() ? "(none)" : s;
  }
  if (v.is_null()) return "(none)";
  return v.dump();
}

const json& Field(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::vector<std::string> Strings(const json& v) {
  std::vector<std::string> out;
  if (!v.is_array()) return out;
  for (const json& e : v) out.push_back(e.is_string() ? e.get<std::string>() : e.dump());
  return out;
}

void DescribeFeatures(const json& before, const json& after, std::vector<std::string>* out) {
  const std::vector<std::string> a = Strings(before);
  const std::vector<std::string> b = Strings(after);
  const std::set<std::string> in_a(a.begin(), a.end());
  const std::set<std::string> in_b(b.begin(), b.end());
  for (const std::string& f : a) {
    if (!in_b.count(f)) out->push_back("feature " + f + " removed");
  }
  for (const std::string& f : b) {
    if (!in_a.count(f)) out->push_back("feature " + f + " added");
  }
  // The order of the features both have: a model reads columns by position.
  std::vector<std::string> common_a, common_b;
  std::copy_if(a.begin(), a.end(), std::back_inserter(common_a),
               [&](const std::string& f) { return in_b.count(f) > 0; });
  std::copy_if(b.begin(), b.end(), std::back_inserter(common_b),
               [&](const std::string& f) { return in_a.count(f) > 0; });
  if (common_a != common_b) out->push_back("features reordered");
}

void DescribeParams(const json& before, const json& after, std::vector<std::string>* out) {
  const json empty = json::object();
  const json& a = before.is_object() ? before : empty;
  const json& b = after.is_object() ? after : empty;
  std::set<std::string> names;
  for (auto it = a.begin(); it != a.end(); ++it) names.insert(it.key());
  for (auto it = b.begin(); it != b.end(); ++it) names.insert(it.key());
  for (const std::string& name : names) {
    const auto ia = a.find(name);
    const auto ib = b.find(name);
    if (ia == a.end()) {
      out->push_back("param " + name + " added (" + Show(*ib) + ")");
    } else if (ib == b.end()) {
      out->push_back("param " + name + " removed (" + Show(*ia) + ")");
    } else if (*ia != *ib) {
      out->push_back("params." + name + " " + Show(*ia) + " → " + Show(*ib));
    }
  }
}

}  // namespace

bool IsRuntimeOnlyParam(std::string_view name) {
  return std::find(kRuntimeOnlyParams.begin(), kRuntimeOnlyParams.end(), name) !=
         kRuntimeOnlyParams.end();
}

Fingerprint ComputeFingerprint(const ModelConfig& model, std::string_view xgb_version) {
  json params = json::object();  // a std::map: sorted by name, so file order does not count
  // A name given twice counts as XGBoost applies it: the last value wins.
  for (const auto& [name, value] : model.params) {
    if (!IsRuntimeOnlyParam(name)) params[name] = value;
  }
  json j = {
      {"objective", model.objective},        {"label", model.label},
      {"features", model.features},          {"segment_by", model.segment_by},
      {"xgboost", std::string(xgb_version)}, {"params", std::move(params)},
  };
  Fingerprint fp;
  fp.canonical = j.dump();  // compact, keys sorted
  fp.hash = Sha256Hex(fp.canonical);
  return fp;
}

std::vector<std::string> DescribeFingerprintChange(std::string_view old_canonical,
                                                   std::string_view new_canonical) {
  std::vector<std::string> out;
  if (old_canonical == new_canonical) return out;
  const json a = Parse(old_canonical);
  const json b = Parse(new_canonical);
  if (a.is_null() || b.is_null()) {
    out.push_back(a.is_null() ? "stored fingerprint unreadable" : "new fingerprint unreadable");
    return out;
  }
  if (a == b) return out;

  for (std::string_view key : kScalarKeys) {
    const json& va = Field(a, key);
    const json& vb = Field(b, key);
    if (va == vb) continue;
    const std::string label = key == "xgboost" ? "XGBoost" : std::string(key);
    out.push_back(label + " " + Show(va) + " → " + Show(vb));
  }
  DescribeFeatures(Field(a, "features"), Field(b, "features"), &out);
  DescribeParams(Field(a, "params"), Field(b, "params"), &out);

  // Keys this version does not know (written by a newer mlcron) still count as changes.
  std::set<std::string> other;
  for (const json* j : {&a, &b}) {
    for (auto it = j->begin(); it != j->end(); ++it) other.insert(it.key());
  }
  for (const std::string& key : other) {
    if (key == "features" || key == "params" ||
        std::find(kScalarKeys.begin(), kScalarKeys.end(), key) != kScalarKeys.end()) {
      continue;
    }
    const json& va = Field(a, key);
    const json& vb = Field(b, key);
    if (va != vb) out.push_back(key + " " + Show(va) + " → " + Show(vb));
  }
  // Only a malformed field (a number among the features) can differ without a phrase.
  if (out.empty()) out.push_back("fingerprint differs");
  return out;
}

}  // namespace mlcron
