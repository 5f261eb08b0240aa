// RepairModelStore (declared in jobs/retention.h): the crash repair of state_dir/models/,
// kept apart from retention because it trusts nothing but the registry and the folder.
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "daemon/duration.h"
#include "jobs/retention.h"
#include "jobs/retrain_plan.h"

namespace mlcron {
namespace {

namespace fs = std::filesystem;

// Rows store absolute paths; an error (no working folder) leaves the path as written.
std::string Normal(const std::string& path) {
  std::error_code ec;
  const fs::path abs = fs::absolute(fs::path(path), ec);
  return (ec ? fs::path(path) : abs).lexically_normal().string();
}

// "<64 lowercase hex>.ubj": the only final name StoreModelFile writes.
bool IsModelFileName(const std::string& name) {
  if (name.size() != 68 || name.substr(64) != ".ubj") return false;
  return name.find_first_not_of("0123456789abcdef") == 64;
}

// ".<sha256>.ubj.tmp.<pid>.<random>": StoreModelFile's temporary name (model_store.cc).
bool IsTempFileName(const std::string& name) {
  return name.size() > 1 && name[0] == '.' && name.find(".ubj.tmp.") != std::string::npos;
}

struct LiveRefs {
  std::set<std::string> paths;                            // normalized
  std::set<std::pair<std::string, std::string>> by_name;  // (model, file name)
};

// Live rows: each is checked for its file, and each protects its file from removal by both
// its path and its (model, <sha256>.ubj), so a state_dir reached by another spelling (a
// symlink, a moved folder) never makes a live file look unreferenced.
Result<LiveRefs> CheckLiveRows(Registry& registry, const Config& config, RepairReport* report) {
  SqliteStatement st = registry.db().Prepare(
      "SELECT id, model, segment, status, file, sha256 FROM model_versions WHERE status != "
      "'deleted' ORDER BY id");
  LiveRefs refs;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return refs;
    const std::int64_t id = st.Int64(0);
    const std::string model = st.Text(1);
    const std::string file = st.Text(4);
    refs.paths.insert(Normal(file));
    refs.by_name.emplace(model, st.Text(5) + ".ubj");
    struct stat info {};
    if (::stat(file.c_str(), &info) == 0) continue;
    const int err = errno;
    std::string message = "version " + std::to_string(id) + " (" + SegmentLabel(model, st.Text(2)) +
                          ", " + st.Text(3) + "): model file " + file;
    if (err == ENOENT) {
      message += " is missing";
      const std::string copy = ArchivePath(config, model, file);
      std::error_code ec;
      if (fs::exists(copy, ec)) message += " (a copy is in the archive: " + copy + ")";
    } else {
      message += ": cannot check: " + std::string(std::strerror(err));
    }
    report->problems.push_back({id, file, std::move(message)});
  }
}

// Deleted rows by normalized path: a file one names was left by an interrupted retention.
Result<std::map<std::string, std::pair<std::int64_t, std::string>>> DeletedRows(
    Registry& registry) {
  SqliteStatement st = registry.db().Prepare(
      "SELECT id, model, file FROM model_versions WHERE status = 'deleted' ORDER BY id");
  std::map<std::string, std::pair<std::int64_t, std::string>> out;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out[Normal(st.Text(2))] = {st.Int64(0), st.Text(1)};
  }
}

// The entries of `dir`, sorted by name so reports read the same on every file system.
Result<std::vector<fs::path>> ListFolder(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> out;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    out.push_back(it->path());
  }
  if (ec) return Status::Error("cannot list " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

bool Archives(const Config& config, const std::string& model) {
  const ModelConfig* m = config.FindModel(model);
  return m != nullptr && m->archive;
}

}  // namespace

Result<RepairReport> RepairModelStore(Registry& registry, const Config& config,
                                      std::chrono::seconds min_age, const std::string& only_model) {
  RepairReport report;
  const std::string what = "model store repair: ";
  // The live set is read before the folder: a file registered after this read was saved
  // moments ago and is younger than min_age, so it is left alone below.
  Result<LiveRefs> live = CheckLiveRows(registry, config, &report);
  if (!live.ok()) return live.status().WithContext(what);
  auto deleted = DeletedRows(registry);
  if (!deleted.ok()) return deleted.status().WithContext(what);

  const fs::path root = Normal(config.state_dir + "/models");
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return report;
  const std::string young = "younger than " + FormatDuration(min_age);
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);

  Result<std::vector<fs::path>> folders = ListFolder(root);
  if (!folders.ok()) return folders.status().WithContext(what);
  for (const fs::path& folder : *folders) {
    const std::string model = folder.filename().string();
    if (!only_model.empty() && model != only_model) continue;
    if (!fs::is_directory(folder, ec)) {
      report.left.push_back({folder.string(), "not in a model folder; left alone"});
      continue;
    }
    // Listed before anything is removed: a folder is never changed under its iterator.
    Result<std::vector<fs::path>> files = ListFolder(folder);
    if (!files.ok()) return files.status().WithContext(what);
    for (const fs::path& file : *files) {
      const std::string path = file.string();
      const std::string name = file.filename().string();
      struct stat info {};
      if (::lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
        report.left.push_back({path, "not a regular file; left alone"});
        continue;
      }
      const bool old = now.tv_sec - info.st_mtim.tv_sec >= min_age.count();
      std::string why;
      std::optional<std::string> archive_to;
      if (IsTempFileName(name)) {
        if (!old) {
          report.left.push_back({path, "temporary file " + young + ": may be a save in progress"});
          continue;
        }
        why = "temporary file of an interrupted save";
      } else if (IsModelFileName(name)) {
        if (live->paths.count(path) || live->by_name.count({model, name})) continue;
        if (!old) {
          report.left.push_back({path, "named by no version but " + young +
                                           ": may be a save about to be registered"});
          continue;
        }
        auto found = deleted->find(path);
        if (found == deleted->end()) {
          why = "named by no version: a save that was never registered";
        } else {
          why = "file of deleted version " + std::to_string(found->second.first) +
                ": a retention that was interrupted";
          if (Archives(config, found->second.second)) {
            archive_to = ArchivePath(config, found->second.second, path);
            why += "; moved to " + *archive_to;
          }
        }
      } else {
        report.left.push_back({path, "not a name mlcron writes; left alone"});
        continue;
      }
      Status s = archive_to ? ArchiveModelFile(path, *archive_to) : RemoveModelFile(path);
      if (!s.ok()) {
        report.problems.push_back({0, path, s.message()});
        continue;
      }
      report.removed.push_back({path, why});
    }
  }
  return report;
}

}  // namespace mlcron
