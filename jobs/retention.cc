#include "jobs/retention.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "jobs/fault_point.h"

namespace mlcron {
namespace {

namespace fs = std::filesystem;

std::string Errno(int err) { return std::strerror(err); }

// A rename or unlink is durable only once its folder is fsynced.
Status SyncFolder(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Error("cannot open folder " + dir + ": " + Errno(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::Error("fsync of folder " + dir + " failed: " + Errno(err));
  return Status::Ok();
}

std::string KeepText(int keep) { return "keep " + std::to_string(keep); }

// The file as found before the row is marked: a later change of inode or time means another
// process stored the same bytes again (StoreModelFile refreshes a reused file's time) and is
// about to register them, so the file must stay.
struct FileState {
  bool present = false;
  dev_t dev = 0;
  ino_t ino = 0;
  timespec mtime{};

  bool operator==(const FileState& o) const {
    return present == o.present && dev == o.dev && ino == o.ino && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

// ENOENT is "absent"; any other failure counts as present so the later step reports it.
FileState StatFile(const std::string& path) {
  struct stat st {};
  FileState f;
  if (::stat(path.c_str(), &st) != 0) {
    f.present = errno != ENOENT;
    return f;
  }
  f.present = true;
  f.dev = st.st_dev;
  f.ino = st.st_ino;
  f.mtime = st.st_mtim;
  return f;
}

// The live rows naming each file, for a dry run's simulation of the shared-file rule.
Result<std::map<std::string, std::set<std::int64_t>>> LiveUsers(Registry& registry) {
  SqliteStatement st =
      registry.db().Prepare("SELECT id, file FROM model_versions WHERE status != 'deleted'");
  std::map<std::string, std::set<std::int64_t>> users;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return users;
    users[st.Text(1)].insert(st.Int64(0));
  }
}

// What MarkDeleted decided; `note` is what the reason says after "retention: <why>; ".
struct Marked {
  FileFate fate = FileFate::kNone;
  std::string note;
};

// The short write transaction: re-checks the row (another process may have promoted, pinned
// or deleted it since the plan), then marks it deleted with the reason that names what will
// happen to its file.
Result<Marked> MarkDeleted(Registry& registry, const RetentionEntry& e, const FileState& file,
                           const std::string& archive_to, int keep) {
  SqliteDb& db = registry.db();
  Marked m;
  Status s = db.Transaction([&]() -> Status {
    {
      SqliteStatement st = db.Prepare(
          "SELECT v.status, v.pinned, (SELECT count(*) FROM model_production p WHERE "
          "p.version_id = v.id) FROM model_versions v WHERE v.id = ?1");
      st.Bind(1, e.version);
      Result<bool> row = st.Step();
      if (!row.ok()) return row.status();
      if (!*row || st.Text(0) == "deleted") {
        m = {FileFate::kSkipped, "already deleted by another process"};
        return Status::Ok();
      }
      if (st.Int64(1) != 0) m = {FileFate::kSkipped, "kept: pinned since the plan was made"};
      if (st.Int64(2) != 0) m = {FileFate::kSkipped, "kept: production since the plan was made"};
      if (m.fate == FileFate::kSkipped) return Status::Ok();
    }
    std::optional<std::int64_t> shared;
    {
      SqliteStatement st = db.Prepare(
          "SELECT max(id) FROM model_versions WHERE file = ?1 AND status != 'deleted' AND "
          "id != ?2");
      st.Bind(1, e.file).Bind(2, e.version);
      Result<bool> row = st.Step();
      if (!row.ok()) return row.status();
      if (*row) shared = st.OptInt64(0);
    }
    if (shared) {
      m = {FileFate::kShared,
           "file kept: version " + std::to_string(*shared) + " uses the same file"};
    } else if (!file.present) {
      m = {FileFate::kMissing, "file already missing"};
    } else if (!archive_to.empty()) {
      m = {FileFate::kArchived, "file archived to " + archive_to};
    } else {
      m = {FileFate::kRemoved, "file removed"};
    }
    SqliteStatement st = db.Prepare(
        "UPDATE model_versions SET status = 'deleted', reason = ?2 WHERE id = ?1 AND status != "
        "'deleted'");
    st.Bind(1, e.version).Bind(2, "retention: beyond " + KeepText(keep) + "; " + m.note);
    return st.Run();
  });
  if (!s.ok()) return s;
  return m;
}

}  // namespace

size_t RetentionPlan::Removals() const {
  return static_cast<size_t>(std::count_if(entries.begin(), entries.end(),
                                           [](const RetentionEntry& e) { return e.remove; }));
}

bool RetentionResult::failed() const {
  return std::any_of(outcomes.begin(), outcomes.end(),
                     [](const RetentionOutcome& o) { return !o.error.empty(); });
}

const char* FileFateName(FileFate fate) {
  switch (fate) {
    case FileFate::kNone:
      return "";
    case FileFate::kRemoved:
      return "removed";
    case FileFate::kArchived:
      return "archived";
    case FileFate::kShared:
      return "shared";
    case FileFate::kMissing:
      return "missing";
    case FileFate::kLeft:
      return "left";
    case FileFate::kSkipped:
      return "skipped";
  }
  return "";
}

std::vector<RetentionEntry> DecideRetention(std::vector<RetentionEntry> versions, int keep,
                                            std::optional<std::int64_t> production,
                                            std::optional<std::int64_t> previous) {
  std::sort(versions.begin(), versions.end(),
            [](const RetentionEntry& a, const RetentionEntry& b) { return a.version > b.version; });
  int rank = 0;
  for (RetentionEntry& v : versions) {
    std::vector<std::string> reasons;
    if (production == v.version) reasons.push_back("production");
    if (previous == v.version) reasons.push_back("previous production");
    if (v.pinned) reasons.push_back("pinned");
    if (rank++ < keep) reasons.push_back("within " + KeepText(keep));
    v.remove = reasons.empty();
    v.why = v.remove ? "beyond " + KeepText(keep) : "";
    for (size_t i = 0; i < reasons.size(); ++i) v.why += (i ? ", " : "") + reasons[i];
  }
  return versions;
}

Result<RetentionPlan> PlanRetention(Registry& registry, const ModelConfig& model) {
  SqliteDb& db = registry.db();
  RetentionPlan plan;
  plan.model = model.name;
  plan.keep = model.keep;
  std::map<std::string, std::vector<RetentionEntry>> segments;
  {
    SqliteStatement st = db.Prepare(
        "SELECT id, segment, status, file, pinned FROM model_versions WHERE model = ?1 AND "
        "status != 'deleted'");
    st.Bind(1, model.name);
    while (true) {
      Result<bool> row = st.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      RetentionEntry e;
      e.version = st.Int64(0);
      e.model = model.name;
      e.segment = st.Text(1);
      e.status = st.Text(2);
      e.file = st.Text(3);
      e.pinned = st.Int64(4) != 0;
      segments[e.segment].push_back(std::move(e));
    }
  }
  for (auto& [segment, versions] : segments) {
    Result<std::optional<ModelVersion>> production = registry.Production(model.name, segment);
    if (!production.ok()) return production.status();
    std::optional<std::int64_t> prod_id, previous;
    if (*production) {
      prod_id = (*production)->id;
      // Pin rows name a version too; only a promote or a rollback moved the pointer.
      SqliteStatement st = db.Prepare(
          "SELECT from_version FROM model_audit WHERE model = ?1 AND segment = ?2 AND "
          "to_version = ?3 AND action IN ('promote', 'rollback') ORDER BY id DESC LIMIT 1");
      st.Bind(1, model.name).Bind(2, segment).Bind(3, *prod_id);
      Result<bool> row = st.Step();
      if (!row.ok()) return row.status();
      if (*row) previous = st.OptInt64(0);
    }
    for (RetentionEntry& e : DecideRetention(std::move(versions), model.keep, prod_id, previous)) {
      plan.entries.push_back(std::move(e));
    }
  }
  return plan;
}

std::string ArchivePath(const Config& config, const std::string& model, const std::string& file) {
  const fs::path p = fs::path(config.state_dir) / "archive" / model / fs::path(file).filename();
  std::error_code ec;  // state_dir is absolute once loaded; a failure keeps the path as is
  const fs::path abs = fs::absolute(p, ec);
  return (ec ? p : abs).lexically_normal().string();
}

Status RemoveModelFile(const std::string& path) {
  // ENOENT: a concurrent RepairModelStore got there first, which is the same end.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::Error("model file " + path + ": cannot remove: " + Errno(errno));
  }
  return SyncFolder(fs::path(path).parent_path().string());
}

Status ArchiveModelFile(const std::string& path, const std::string& archive_to) {
  const std::string dir = fs::path(archive_to).parent_path().string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Error("archive folder " + dir + ": cannot create: " + ec.message());
  // Same file system (both under state_dir), so the rename is atomic; the same name in the
  // archive holds the same bytes, since names are content hashes.
  if (::rename(path.c_str(), archive_to.c_str()) != 0) {
    if (errno == ENOENT) return Status::Ok();  // moved or removed by a concurrent repair
    return Status::Error("model file " + path + ": cannot move to " + archive_to + ": " +
                         Errno(errno));
  }
  if (Status s = SyncFolder(dir); !s.ok()) return s;
  return SyncFolder(fs::path(path).parent_path().string());
}

Result<RetentionResult> ApplyRetention(Registry& registry, const Config& config,
                                       const ModelConfig& model, bool dry_run) {
  Result<RetentionPlan> plan = PlanRetention(registry, model);
  if (!plan.ok()) return plan.status().WithContext("retention of " + model.name + ": ");
  RetentionResult result;
  result.dry_run = dry_run;
  std::map<std::string, std::set<std::int64_t>> users;
  if (dry_run && plan->Removals() > 0) {
    Result<std::map<std::string, std::set<std::int64_t>>> live = LiveUsers(registry);
    if (!live.ok()) return live.status().WithContext("retention of " + model.name + ": ");
    users = std::move(*live);
  }
  for (const RetentionEntry& e : plan->entries) {
    RetentionOutcome& out = result.outcomes.emplace_back();
    out.entry = e;
    if (!e.remove) continue;
    const std::string archive_to = model.archive ? ArchivePath(config, model.name, e.file) : "";
    const FileState before = StatFile(e.file);
    if (dry_run) {
      std::set<std::int64_t>& named = users[e.file];
      named.erase(e.version);
      if (!named.empty()) {
        out.fate = FileFate::kShared;
        out.note =
            "file would stay: version " + std::to_string(*named.rbegin()) + " uses the same file";
      } else if (!before.present) {
        out.fate = FileFate::kMissing;
        out.note = "file already missing";
      } else if (model.archive) {
        out.fate = FileFate::kArchived;
        out.note = "file would be archived to " + archive_to;
        ++result.files_archived;
      } else {
        out.fate = FileFate::kRemoved;
        out.note = "file would be removed";
        ++result.files_removed;
      }
      ++result.deleted;
      continue;
    }
    Result<Marked> marked = MarkDeleted(registry, e, before, archive_to, model.keep);
    if (!marked.ok()) {
      out.error = "version " + std::to_string(e.version) + " not deleted: " + marked.message();
      continue;
    }
    out.fate = marked->fate;
    out.note = marked->note;
    FaultPoint("after_retention_mark");
    if (out.fate == FileFate::kSkipped) continue;
    ++result.deleted;
    if (out.fate != FileFate::kRemoved && out.fate != FileFate::kArchived) continue;
    const FileState now = StatFile(e.file);
    if (now.present && !(now == before)) {
      out.fate = FileFate::kLeft;
      out.note =
          "file left in place: the same bytes were stored again meanwhile (a repair removes it "
          "if no version names it)";
      continue;
    }
    Status s = out.fate == FileFate::kArchived ? ArchiveModelFile(e.file, archive_to)
                                               : RemoveModelFile(e.file);
    if (!s.ok()) {
      out.error = "version " + std::to_string(e.version) + " is deleted but " + s.message() +
                  " (the next repair retries)";
      continue;
    }
    ++(out.fate == FileFate::kArchived ? result.files_archived : result.files_removed);
  }
  return result;
}

}  // namespace mlcron
