// Typed, position-aware reading of a YAML document for the config loader: each read checks
// the node's type and value, and on a problem records a ConfigError at that node's
// FILE:LINE:COL naming the field path (`tiers[1].jobs[0].timeout: ...`). This is the yaml-cpp
// adapter: nothing here throws. One ErrorSink per load; not thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/config.h"
#include "daemon/config_loader.h"

namespace mlcron {

// Collects every error of one load, in the order found.
class ErrorSink {
 public:
  explicit ErrorSink(std::string file) : file_(std::move(file)) {}
  void Add(SourcePos pos, std::string message);
  bool empty() const { return errors_.empty(); }
  const std::string& file() const { return file_; }
  std::vector<ConfigError> Take() { return std::move(errors_); }

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

// 1-based position of a node ({0, 0} when yaml-cpp has none).
SourcePos PosOf(const YAML::Node& node);
// How a value reads in "got ..." messages: `"two"`, "a list", "a map" or "null".
std::string Describe(const YAML::Node& node);
std::string Quote(std::string_view text);
// "tiers[1]" + "at" -> "tiers[1].at"; "" + "timezone" -> "timezone".
std::string JoinPath(std::string_view path, std::string_view key);
// "tiers[1]: " (or "" at the top level): the prefix of a message about a whole map.
std::string MessagePrefix(std::string_view path);

// Parses exactly one YAML document. On a syntax error records it (1-based position) and
// returns nullopt.
std::optional<YAML::Node> ParseYamlDocument(std::string_view text, ErrorSink* errors);

// A value found in a map, with the path and position used in messages about it.
struct Field {
  std::string path;  // "tiers[0].jobs[1].timeout"
  YAML::Node value;
  SourcePos key_pos;
  SourcePos pos;  // of the value; of the key when the value is null (yaml-cpp has no mark)
};

// Typed reads of one value; each records an error and returns nullopt on a bad value.
std::optional<std::string> ReadString(const Field& f, ErrorSink* errors);
std::optional<std::int64_t> ReadInt(const Field& f, std::int64_t min, std::int64_t max,
                                    ErrorSink* errors);
std::optional<double> ReadNumber(const Field& f, ErrorSink* errors);
std::optional<bool> ReadBool(const Field& f, ErrorSink* errors);
std::optional<std::chrono::seconds> ReadDuration(const Field& f, ErrorSink* errors);
std::optional<std::uint64_t> ReadSize(const Field& f, ErrorSink* errors);
std::optional<std::vector<std::string>> ReadStringList(const Field& f, ErrorSink* errors);
// Elements of a list with their own paths ("after[2]") and positions.
std::optional<std::vector<Field>> ReadList(const Field& f, ErrorSink* errors);
std::optional<std::map<std::string, std::string>> ReadStringMap(const Field& f, ErrorSink* errors);
// Index into `choices` of the value, or an error listing them with a suggestion.
std::optional<size_t> ReadChoice(const Field& f, const std::vector<std::string>& choices,
                                 ErrorSink* errors);
// A scalar as written, or a collection as flow-style YAML (for kind-specific keys).
std::string ValueText(const YAML::Node& node);

// A YAML map under validation. Each lookup marks its key as valid here; Finish() reports
// every other key as unknown, suggesting the nearest valid one. Duplicate keys (which
// yaml-cpp 0.7 accepts silently) are reported on construction.
class MapReader {
 public:
  // `node` must be a map (see ExpectMap).
  MapReader(const YAML::Node& node, std::string path, SourcePos pos, ErrorSink* errors);

  // nullptr when absent. Marks `key` as valid either way.
  const Field* Find(std::string_view key);
  void Allow(std::string_view key) { (void)Find(key); }

  std::optional<std::string> String(std::string_view key);
  std::optional<std::int64_t> Int(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<double> Number(std::string_view key);
  std::optional<bool> Bool(std::string_view key);
  std::optional<std::chrono::seconds> Duration(std::string_view key);
  std::optional<std::uint64_t> Size(std::string_view key);
  std::optional<std::vector<std::string>> StringList(std::string_view key);
  std::optional<std::map<std::string, std::string>> StringMap(std::string_view key);
  std::optional<size_t> Choice(std::string_view key, const std::vector<std::string>& choices);

  // Reports the keys never looked up. `hint` may explain a key valid elsewhere (e.g. for
  // another job kind); it returns "" when it has nothing to say.
  void Finish(const std::function<std::string(std::string_view key)>& hint = nullptr);

  const std::string& path() const { return path_; }
  SourcePos pos() const { return pos_; }
  ErrorSink* errors() const { return errors_; }

 private:
  struct Entry {
    std::string key;
    Field field;
    bool used = false;
  };
  std::string path_;
  SourcePos pos_;
  ErrorSink* errors_;
  std::vector<Entry> entries_;  // file order
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::string> valid_keys_;  // looked-up keys, for suggestions
};

// Records `expected a map, got ...` unless the field is a map.
bool ExpectMap(const Field& f, ErrorSink* errors);

}  // namespace mlcron
