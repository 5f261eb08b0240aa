#include "daemon/yaml_reader.h"

#include <charconv>
#include <cmath>

#include "daemon/duration.h"
#include "daemon/suggest.h"

namespace mlcron {

void ErrorSink::Add(SourcePos pos, std::string message) {
  errors_.push_back(ConfigError{file_, pos.line, pos.col, std::move(message)});
}

SourcePos PosOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "null";
  }
}

std::string JoinPath(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out(path);
  out += '.';
  out += key;
  return out;
}

std::string MessagePrefix(std::string_view path) {
  return path.empty() ? std::string() : std::string(path) + ": ";
}

std::optional<YAML::Node> ParseYamlDocument(std::string_view text, ErrorSink* errors) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    const SourcePos pos =
        e.mark.is_null() ? SourcePos{} : SourcePos{e.mark.line + 1, e.mark.column + 1};
    errors->Add(pos, "invalid YAML: " + e.msg);
    return std::nullopt;
  }
  if (docs.size() > 1) {
    errors->Add(PosOf(docs[1]), "a config is one YAML document; found " +
                                    std::to_string(docs.size()) + " (remove the \"---\")");
    return std::nullopt;
  }
  if (docs.empty()) return YAML::Node();
  return docs[0];
}

namespace {

Field MakeField(std::string path, const YAML::Node& value, SourcePos key_pos) {
  Field f{std::move(path), value, key_pos, PosOf(value)};
  // yaml-cpp marks an empty (null) value at the next token, often on the next line.
  if (value.IsNull() || f.pos.line == 0) f.pos = key_pos;
  return f;
}

bool ExpectScalar(const Field& f, std::string_view what, ErrorSink* errors) {
  if (f.value.IsScalar()) return true;
  errors->Add(f.pos, f.path + ": expected " + std::string(what) + ", got " + Describe(f.value));
  return false;
}

}  // namespace

std::optional<std::string> ReadString(const Field& f, ErrorSink* errors) {
  if (!ExpectScalar(f, "a string", errors)) return std::nullopt;
  return f.value.Scalar();
}

std::optional<std::int64_t> ReadInt(const Field& f, std::int64_t min, std::int64_t max,
                                    ErrorSink* errors) {
  if (!ExpectScalar(f, "an integer", errors)) return std::nullopt;
  const std::string& s = f.value.Scalar();
  std::int64_t v = 0;
  const char* begin = s.data();
  if (!s.empty() && s[0] == '+') ++begin;
  auto [end, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    errors->Add(f.pos, f.path + ": expected an integer, got " + Quote(s));
    return std::nullopt;
  }
  if (v < min || v > max) {
    std::string range = max == INT64_MAX
                            ? "must be >= " + std::to_string(min)
                            : "must be in " + std::to_string(min) + ".." + std::to_string(max);
    errors->Add(f.pos, f.path + ": " + std::to_string(v) + " is out of range; " + range);
    return std::nullopt;
  }
  return v;
}

std::optional<double> ReadNumber(const Field& f, ErrorSink* errors) {
  if (!ExpectScalar(f, "a number", errors)) return std::nullopt;
  const std::string& s = f.value.Scalar();
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(v)) {
    errors->Add(f.pos, f.path + ": expected a number, got " + Quote(s));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> ReadBool(const Field& f, ErrorSink* errors) {
  if (!ExpectScalar(f, "true or false", errors)) return std::nullopt;
  const std::string& s = f.value.Scalar();
  if (s == "true" || s == "True" || s == "TRUE" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "False" || s == "FALSE" || s == "no" || s == "off") return false;
  errors->Add(f.pos, f.path + ": expected true or false, got " + Quote(s));
  return std::nullopt;
}

std::optional<std::chrono::seconds> ReadDuration(const Field& f, ErrorSink* errors) {
  if (!ExpectScalar(f, "a duration", errors)) return std::nullopt;
  Result<std::chrono::seconds> d = ParseDuration(f.value.Scalar());
  if (!d.ok()) {
    errors->Add(f.pos, f.path + ": " + d.message());
    return std::nullopt;
  }
  return *d;
}

std::optional<std::uint64_t> ReadSize(const Field& f, ErrorSink* errors) {
  if (!ExpectScalar(f, "a size", errors)) return std::nullopt;
  Result<std::uint64_t> size = ParseSize(f.value.Scalar());
  if (!size.ok()) {
    errors->Add(f.pos, f.path + ": " + size.message());
    return std::nullopt;
  }
  return *size;
}

std::optional<std::vector<Field>> ReadList(const Field& f, ErrorSink* errors) {
  if (!f.value.IsSequence()) {
    errors->Add(f.pos, f.path + ": expected a list, got " + Describe(f.value));
    return std::nullopt;
  }
  std::vector<Field> out;
  out.reserve(f.value.size());
  size_t i = 0;
  for (const YAML::Node& item : f.value) {
    out.push_back(MakeField(f.path + "[" + std::to_string(i++) + "]", item, f.pos));
  }
  return out;
}

std::optional<std::vector<std::string>> ReadStringList(const Field& f, ErrorSink* errors) {
  if (!f.value.IsSequence()) {
    errors->Add(f.pos, f.path + ": expected a list of strings, got " + Describe(f.value));
    return std::nullopt;
  }
  std::vector<std::string> out;
  out.reserve(f.value.size());
  bool ok = true;
  size_t i = 0;
  for (const YAML::Node& item : f.value) {
    std::optional<std::string> s =
        ReadString(MakeField(f.path + "[" + std::to_string(i++) + "]", item, f.pos), errors);
    if (s) out.push_back(std::move(*s));
    ok = ok && s.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::map<std::string, std::string>> ReadStringMap(const Field& f, ErrorSink* errors) {
  if (!f.value.IsMap()) {
    errors->Add(f.pos, f.path + ": expected a map of strings, got " + Describe(f.value));
    return std::nullopt;
  }
  MapReader map(f.value, f.path, f.pos, errors);
  std::map<std::string, std::string> out;
  bool ok = true;
  for (auto it = f.value.begin(); it != f.value.end(); ++it) {
    if (!it->first.IsScalar()) continue;  // MapReader reported it
    const std::string& key = it->first.Scalar();
    if (out.count(key)) continue;  // duplicate, reported by MapReader
    std::optional<std::string> value = map.String(key);
    if (value) out.emplace(key, std::move(*value));
    ok = ok && value.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<size_t> ReadChoice(const Field& f, const std::vector<std::string>& choices,
                                 ErrorSink* errors) {
  std::optional<std::string> s = ReadString(f, errors);
  if (!s) return std::nullopt;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == *s) return i;
  }
  std::string list;
  for (const std::string& c : choices) list += (list.empty() ? "" : ", ") + c;
  errors->Add(f.pos,
              f.path + ": " + Quote(*s) + " is not one of " + list + DidYouMean(*s, choices));
  return std::nullopt;
}

std::string ValueText(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  if (node.IsNull()) return "";
  YAML::Emitter out;
  out.SetSeqFormat(YAML::Flow);
  out.SetMapFormat(YAML::Flow);
  out << node;
  return out.c_str();
}

bool ExpectMap(const Field& f, ErrorSink* errors) {
  if (f.value.IsMap()) return true;
  errors->Add(f.pos, f.path + ": expected a map, got " + Describe(f.value));
  return false;
}

MapReader::MapReader(const YAML::Node& node, std::string path, SourcePos pos, ErrorSink* errors)
    : path_(std::move(path)), pos_(pos), errors_(errors) {
  entries_.reserve(node.size());
  index_.reserve(node.size());
  for (auto it = node.begin(); it != node.end(); ++it) {
    const SourcePos key_pos = PosOf(it->first);
    if (!it->first.IsScalar()) {
      errors_->Add(key_pos,
                   MessagePrefix(path_) + "a key must be a string, got " + Describe(it->first));
      continue;
    }
    const std::string& key = it->first.Scalar();
    auto [found, inserted] = index_.emplace(key, entries_.size());
    if (!inserted) {
      const SourcePos first = entries_[found->second].field.key_pos;
      errors_->Add(key_pos, MessagePrefix(path_) + "duplicate key " + Quote(key) +
                                " (first at line " + std::to_string(first.line) + ")");
      continue;
    }
    entries_.push_back(Entry{key, MakeField(JoinPath(path_, key), it->second, key_pos)});
  }
}

const Field* MapReader::Find(std::string_view key) {
  valid_keys_.emplace_back(key);
  auto it = index_.find(std::string(key));
  if (it == index_.end()) return nullptr;
  entries_[it->second].used = true;
  return &entries_[it->second].field;
}

std::optional<std::string> MapReader::String(std::string_view key) {
  const Field* f = Find(key);
  return f ? ReadString(*f, errors_) : std::nullopt;
}
std::optional<std::int64_t> MapReader::Int(std::string_view key, std::int64_t min,
                                           std::int64_t max) {
  const Field* f = Find(key);
  return f ? ReadInt(*f, min, max, errors_) : std::nullopt;
}
std::optional<double> MapReader::Number(std::string_view key) {
  const Field* f = Find(key);
  return f ? ReadNumber(*f, errors_) : std::nullopt;
}
std::optional<bool> MapReader::Bool(std::string_view key) {
  const Field* f = Find(key);
  return f ? ReadBool(*f, errors_) : std::nullopt;
}
std::optional<std::chrono::seconds> MapReader::Duration(std::string_view key) {
  const Field* f = Find(key);
  return f ? ReadDuration(*f, errors_) : std::nullopt;
}
std::optional<std::uint64_t> MapReader::Size(std::string_view key) {
  const Field* f = Find(key);
  return f ? ReadSize(*f, errors_) : std::nullopt;
}
std::optional<std::vector<std::string>> MapReader::StringList(std::string_view key) {
  const Field* f = Find(key);
  return f ? ReadStringList(*f, errors_) : std::nullopt;
}
std::optional<std::map<std::string, std::string>> MapReader::StringMap(std::string_view key) {
  const Field* f = Find(key);
  return f ? ReadStringMap(*f, errors_) : std::nullopt;
}
std::optional<size_t> MapReader::Choice(std::string_view key,
                                        const std::vector<std::string>& choices) {
  const Field* f = Find(key);
  return f ? ReadChoice(*f, choices, errors_) : std::nullopt;
}

void MapReader::Finish(const std::function<std::string(std::string_view key)>& hint) {
  for (const Entry& e : entries_) {
    if (e.used) continue;
    std::string message = MessagePrefix(path_) + "unknown key " + Quote(e.key);
    if (e.key == "<<") {
      message += ": YAML merge keys are not supported";
    } else if (std::string h = hint ? hint(e.key) : ""; !h.empty()) {
      message += h;
    } else {
      message += DidYouMean(e.key, valid_keys_);
    }
    errors_->Add(e.field.key_pos, std::move(message));
  }
}

}  // namespace mlcron
