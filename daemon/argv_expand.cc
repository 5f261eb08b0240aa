#include "daemon/argv_expand.h"

namespace mlcron {
namespace {

Result<std::string> ExpandOne(const std::string& in, const ArgvVars& vars) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '{' && i + 1 < in.size() && in[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < in.size() && in[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      const size_t end = in.find('}', i);
      if (end == std::string::npos) return Status::Error("unclosed \"{\" in \"" + in + "\"");
      const std::string name = in.substr(i + 1, end - i - 1);
      auto it = vars.find(name);
      if (it == vars.end()) {
        return Status::Error("unknown placeholder {" + name + "} in \"" + in + "\"");
      }
      out += it->second;
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> ExpandArgv(const std::vector<std::string>& argv,
                                            const ArgvVars& vars) {
  std::vector<std::string> out;
  out.reserve(argv.size());
  for (const auto& arg : argv) {
    auto expanded = ExpandOne(arg, vars);
    if (!expanded.ok()) return expanded.status();
    out.push_back(std::move(expanded).value());
  }
  return out;
}

const std::vector<std::string>& KnownPlaceholders() {
  static const std::vector<std::string> kNames = {"date",   "time", "scheduled",
                                                  "run_id", "job",  "status"};
  return kNames;
}

Status CheckPlaceholders(const std::vector<std::string>& argv) {
  ArgvVars vars;
  for (const auto& name : KnownPlaceholders()) vars[name] = "";
  auto expanded = ExpandArgv(argv, vars);
  if (expanded.ok()) return Status::Ok();
  std::string known;
  for (const auto& name : KnownPlaceholders()) known += (known.empty() ? "{" : ", {") + name + "}";
  return Status::Error(expanded.message() + " (known: " + known + ")");
}

}  // namespace mlcron
