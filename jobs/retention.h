// Retention of model files (DESIGN.md §7): per (model, segment) the files of the last `keep`
// versions stay, and never those of production, the previous production or a pinned
// version; every other version's row becomes `deleted` (kept for history and audit) and only
// then is its file removed or archived. RepairModelStore finishes what a crash interrupted.
// Not thread-safe (one Registry per thread); safe against other processes doing the same.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/model_config.h"
#include "daemon/status.h"
#include "jobs/registry.h"

namespace mlcron {

// One version that is not yet `deleted`, and what retention decides for it.
struct RetentionEntry {
  std::int64_t version = 0;
  std::string model;
  std::string segment;
  std::string status;  // as found: candidate | production | rejected | archived
  std::string file;
  bool pinned = false;
  bool remove = false;
  // Why it goes ("beyond keep 10") or every reason it stays, in this order: "production",
  // "previous production", "pinned", "within keep 10" (joined by ", ").
  std::string why;
};

struct RetentionPlan {
  std::string model;
  int keep = 0;
  std::vector<RetentionEntry> entries;  // segment by segment (sorted), newest first

  size_t Removals() const;
};

// Pure: the decision for the live versions of one (model, segment). `previous` is the
// production before the current one. Returns them newest first with remove and why set.
std::vector<RetentionEntry> DecideRetention(std::vector<RetentionEntry> versions, int keep,
                                            std::optional<std::int64_t> production,
                                            std::optional<std::int64_t> previous);

// Reads the model's live versions, production pointers, the audit row that made each
// production (its from_version is the previous production) and the pins, then decides.
Result<RetentionPlan> PlanRetention(Registry& registry, const ModelConfig& model);

// What became of a version's file.
enum class FileFate {
  kNone,      // the version is kept
  kRemoved,   // deleted from state_dir/models/
  kArchived,  // moved to state_dir/archive/<model>/
  kShared,    // another live version names the same file: it stays
  kMissing,   // it was already gone
  kLeft,      // stored again by another process meanwhile: left for RepairModelStore
  kSkipped,   // the row changed since the plan (now production, pinned or deleted): untouched
};
const char* FileFateName(FileFate fate);  // "removed", "archived", ...; "" for kNone

struct RetentionOutcome {
  RetentionEntry entry;
  FileFate fate = FileFate::kNone;
  // For a removed version what the registry reason says after "retention: <why>; ":
  // "file removed", "file archived to /s/archive/result/ab….ubj", "file kept: version 7 uses
  // the same file", "file already missing"; in a dry run "file would be removed", ...
  std::string note;
  std::string error;  // a file step that failed after the row was marked; repair retries it
};

struct RetentionResult {
  bool dry_run = false;
  std::vector<RetentionOutcome> outcomes;  // every planned entry, kept ones included
  int deleted = 0;                         // rows marked (or, in a dry run, to be marked) deleted
  int files_removed = 0;
  int files_archived = 0;

  bool failed() const;
};

// Plans, then for each version to remove: FIRST marks its row `deleted` with the reason
// "retention: beyond keep N; file removed" (or "…; file archived to PATH") in a short
// BEGIN IMMEDIATE transaction that re-checks the row, THEN removes the file or, with
// `archive: true`, renames it into state_dir/archive/<model>/ and fsyncs both folders. A
// file is never gone while a live row names it; a crash in between leaves an unreferenced
// file that RepairModelStore removes. A dry run computes the same outcomes and writes nothing.
Result<RetentionResult> ApplyRetention(Registry& registry, const Config& config,
                                       const ModelConfig& model, bool dry_run);

// state_dir/archive/<model>/<file name>, absolute.
std::string ArchivePath(const Config& config, const std::string& model, const std::string& file);
// Unlink (already gone is fine) and fsync the folder.
Status RemoveModelFile(const std::string& path);
// Rename into the archive (already gone is fine) and fsync both folders.
Status ArchiveModelFile(const std::string& path, const std::string& archive_to);

// A file RepairModelStore removed, moved or left alone, and why.
struct RepairAction {
  std::string path;
  std::string why;
};

// A live version whose file is missing or unreadable: never repaired silently. Also a file
// the repair could not remove (version 0).
struct RepairProblem {
  std::int64_t version = 0;
  std::string path;
  std::string message;  // "version 7 (result [E0], production): model file /s/… is missing"
};

struct RepairReport {
  std::vector<RepairAction> removed;  // includes files moved to the archive
  std::vector<RepairAction> left;     // too new to judge, or not a name mlcron writes
  std::vector<RepairProblem> problems;
};

// Files younger than this may belong to a save in progress in another process (a retrain of
// another model running in the same tier): RepairModelStore leaves them for a later run.
inline constexpr std::chrono::seconds kRepairMinAge{3600};

// Run at the start of each retrain. Under state_dir/models/<model>/ removes the temporary
// files of an interrupted StoreModelFile and every <sha256>.ubj no live row names (a crash
// after marking a row deleted, or after saving a file but before registering it); a file of a
// deleted version of a model with `archive: true` is moved to the archive instead. Files
// younger than `min_age` are left alone. Reports live rows whose file is missing as problems.
// With `only_model`, only that model's folder is repaired: the retrain of a model repairs its
// own folder with min_age 0 at its start, since no other job writes there, while another
// model's save may be in flight in its folder.
Result<RepairReport> RepairModelStore(Registry& registry, const Config& config,
                                      std::chrono::seconds min_age = kRepairMinAge,
                                      const std::string& only_model = "");

}  // namespace mlcron
