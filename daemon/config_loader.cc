#include "daemon/config_loader.h"

#include <date/tz.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "daemon/config_api.h"
#include "daemon/config_graph.h"
#include "daemon/config_job_params.h"
#include "daemon/config_models.h"
#include "daemon/config_replay.h"
#include "daemon/config_tiers.h"
#include "daemon/sha256.h"
#include "daemon/suggest.h"
#include "daemon/time_format.h"
#include "daemon/yaml_reader.h"

namespace mlcron {

std::string ConfigError::ToString() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + message;
}

std::string LoadResult::ErrorText() const {
  std::string out;
  for (const ConfigError& e : errors) out += e.ToString() + "\n";
  return out;
}

namespace {

std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  if (ec) p = path;
  return p.lexically_normal().string();
}

LoadResult FileError(const std::string& file, std::string message) {
  LoadResult r;
  r.errors.push_back(ConfigError{file, 0, 0, std::move(message)});
  return r;
}

// Only on the error path: ~600 names.
std::string SuggestZone(std::string_view name) {
  try {
    std::vector<std::string> names;
    const date::tzdb& db = date::get_tzdb();
    for (const date::time_zone& z : db.zones) names.emplace_back(z.name());
    return DidYouMean(name, names);
  } catch (const std::exception&) {
    return "";
  }
}

void ReadTimezone(MapReader& top, Config* c, ErrorSink* errors) {
  const Field* f = top.Find("timezone");
  if (f) {
    std::optional<std::string> name = ReadString(*f, errors);
    if (!name) return;
    c->timezone_name = *name;
  }
  Result<const date::time_zone*> tz = FindZone(c->timezone_name);
  if (!tz.ok()) {
    errors->Add(f ? f->pos : SourcePos{},
                "timezone: " + tz.message() + SuggestZone(c->timezone_name));
    return;
  }
  c->tz = *tz;
}

std::optional<std::string> ReadPath(MapReader& top, std::string_view key, ErrorSink* errors,
                                    const std::string& base_dir) {
  const Field* f = top.Find(key);
  if (!f) return std::nullopt;
  std::optional<std::string> s = ReadString(*f, errors);
  if (!s) return std::nullopt;
  if (s->empty()) {
    errors->Add(f->pos, f->path + ": must not be empty");
    return std::nullopt;
  }
  return ResolvePath(base_dir, *s);
}

void ReadDefaults(MapReader& top, JobDefaults* d, ErrorSink* errors) {
  const Field* f = top.Find("defaults");
  if (!f || !ExpectMap(*f, errors)) return;
  MapReader map(f->value, f->path, f->pos, errors);
  ReadJobSettings(map, d);
  map.Finish();
}

// Puts tiers and jobs in graph order and rewrites every index to match.
void Assemble(ParsedTiers parsed, const ResolvedGraph& graph, Config* c) {
  std::vector<size_t> new_tier(parsed.tiers.size()), new_job(parsed.jobs.size());
  for (size_t k = 0; k < graph.tier_order.size(); ++k) new_tier[graph.tier_order[k]] = k;
  for (size_t k = 0; k < graph.job_order.size(); ++k) new_job[graph.job_order[k]] = k;
  c->tiers.reserve(parsed.tiers.size());
  for (size_t t : graph.tier_order) {
    c->tiers.push_back(std::move(parsed.tiers[t]));
    c->tiers.back().jobs.clear();
  }
  c->jobs.reserve(parsed.jobs.size());
  for (size_t j : graph.job_order) {
    JobConfig& job = c->jobs.emplace_back(std::move(parsed.jobs[j]));
    job.tier_index = new_tier[job.tier_index];
    job.upstream.reserve(graph.upstream[j].size());
    for (size_t u : graph.upstream[j]) job.upstream.push_back(new_job[u]);
    // Jobs are renumbered tier by tier, so a whole lower tier usually stays in order.
    if (!std::is_sorted(job.upstream.begin(), job.upstream.end())) {
      std::sort(job.upstream.begin(), job.upstream.end());
    }
    c->tiers[job.tier_index].jobs.push_back(c->jobs.size() - 1);
  }
  c->tier_index.reserve(c->tiers.size());
  for (size_t t = 0; t < c->tiers.size(); ++t) c->tier_index.emplace(c->tiers[t].name, t);
  c->job_index.reserve(c->jobs.size());
  for (size_t j = 0; j < c->jobs.size(); ++j) c->job_index.emplace(c->jobs[j].name, j);
}

void Validate(const YAML::Node& root, Config* c, ErrorSink* errors) {
  if (!root.IsMap()) {
    errors->Add(root.IsNull() ? SourcePos{} : PosOf(root),
                root.IsNull() ? "the config is empty; expected a map with at least \"tiers\""
                              : "expected a map at the top level, got " + Describe(root));
    return;
  }
  MapReader top(root, "", PosOf(root), errors);
  ReadTimezone(top, c, errors);
  c->state_dir =
      ReadPath(top, "state_dir", errors, c->base_dir).value_or(ResolvePath(c->base_dir, "state"));
  c->log_dir =
      ReadPath(top, "log_dir", errors, c->base_dir).value_or(ResolvePath(c->state_dir, "logs"));
  c->data_path =
      ReadPath(top, "data", errors, c->base_dir).value_or(ResolvePath(c->state_dir, "data.db"));
  if (auto v = top.Int("max_parallel", 1, 4096)) c->max_parallel = static_cast<int>(*v);
  if (const Field* f = top.Find("history_keep")) {
    if (auto v = ReadDuration(*f, errors)) {
      if (v->count() == 0) {
        errors->Add(f->pos, "history_keep: must be greater than zero");
      } else {
        c->history_keep = *v;
      }
    }
  }
  ReadDefaults(top, &c->defaults, errors);
  // Sections other issues validate; only their shape is checked here.
  if (const Field* f = top.Find("models")) c->models = ReadModels(*f, errors);
  if (const Field* f = top.Find("replay")) c->replay = ReadReplay(*f, errors);
  if (const Field* f = top.Find("api")) c->api = ReadApi(*f, c->base_dir, errors);

  const Field* tiers = top.Find("tiers");
  top.Finish();
  if (!tiers) {
    errors->Add(PosOf(root), "missing required key \"tiers\"");
    return;
  }
  ParsedTiers parsed = ReadTiers(*tiers, c->defaults, c->base_dir, errors);
  CheckModelReferences(parsed.jobs, c->models, errors);
  CheckReplaySources(c->replay, parsed.jobs, errors);
  ResolvedGraph graph = ResolveGraph(parsed.graph);
  for (GraphProblem& p : graph.problems) errors->Add(p.pos, std::move(p.message));
  if (errors->empty()) Assemble(std::move(parsed), graph, c);
}

}  // namespace

LoadResult LoadConfigText(std::string_view text, const std::string& path) {
  auto config = std::make_shared<Config>();
  config->path = AbsolutePath(path);
  config->base_dir = std::filesystem::path(config->path).parent_path().string();
  config->text = std::string(text);
  config->sha256 = Sha256Hex(text);
  ErrorSink errors(config->path);
  if (text.size() > kMaxConfigBytes) {
    return FileError(config->path, "the config is " + std::to_string(text.size()) +
                                       " bytes; the limit is " + std::to_string(kMaxConfigBytes));
  }
  try {
    if (std::optional<YAML::Node> root = ParseYamlDocument(text, &errors)) {
      Validate(*root, config.get(), &errors);
    }
  } catch (const std::exception& e) {  // a yaml-cpp surprise: report, never escape
    errors.Add({}, std::string("internal error while reading the config: ") + e.what());
  }
  LoadResult result;
  result.errors = errors.Take();
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const ConfigError& a, const ConfigError& b) {
                     return std::pair(a.line, a.col) < std::pair(b.line, b.col);
                   });
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

LoadResult LoadConfigFile(const std::string& path, const LoadOptions& options) {
  const std::string abs = AbsolutePath(path);
  const int fd = ::open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return FileError(abs, std::string("cannot open: ") + std::strerror(errno));
  // Checks go through the open descriptor, so the file checked is the file read.
  struct stat st {};
  std::string text;
  std::string problem;
  if (::fstat(fd, &st) != 0) {
    problem = std::string("cannot stat: ") + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    problem = "not a regular file";
  } else if (options.check_permissions && (st.st_mode & 022) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    problem = std::string("refusing a group- or world-writable config (mode ") + mode +
              "); run chmod go-w";
  } else if (options.check_permissions && st.st_uid != 0 && st.st_uid != ::geteuid()) {
    problem = "refusing a config owned by uid " + std::to_string(st.st_uid) +
              " (only root or uid " + std::to_string(::geteuid()) + " may own it); run chown";
  } else if (static_cast<std::uint64_t>(st.st_size) > kMaxConfigBytes) {
    problem = "the config is " + std::to_string(st.st_size) + " bytes; the limit is " +
              std::to_string(kMaxConfigBytes);
  } else {
    // Read at most one byte past the cap, in case the file grows under us.
    text.resize(kMaxConfigBytes + 1);
    size_t got = 0;
    while (got < text.size()) {
      const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        problem = std::string("cannot read: ") + std::strerror(errno);
        break;
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    text.resize(got);
  }
  ::close(fd);
  if (!problem.empty()) return FileError(abs, std::move(problem));
  return LoadConfigText(text, abs);
}

}  // namespace mlcron
