#include "jobs/job_context.h"

#include <date/date.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/config_loader.h"
#include "daemon/time_format.h"
#include "jobs/builtin_job.h"

namespace mlcron {

Result<JobContext> MakeJobContext(const BuiltinJobArgs& args, std::ostream* out) {
  std::ifstream in(args.snapshot, std::ios::binary);
  if (!in) return Status::Error("config snapshot " + args.snapshot + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  // The snapshot's bytes, but paths resolve as in the file it was taken of.
  LoadResult loaded = LoadConfigText(text.str(), args.origin.empty() ? args.snapshot : args.origin);
  if (!loaded.ok()) return Status::Error(loaded.ErrorText());

  JobContext ctx;
  ctx.config = loaded.config;
  ctx.out = out;
  ctx.now = std::chrono::system_clock::now();
  ctx.scheduled = std::chrono::floor<std::chrono::seconds>(ctx.now);
  if (!args.job.empty()) {
    ctx.job = ctx.config->FindJob(args.job);
    if (!ctx.job) return Status::Error("no job named \"" + args.job + "\" in " + args.snapshot);
    if (ctx.job->kind != args.kind) {
      return Status::Error("job \"" + args.job + "\" is of kind " + ctx.job->kind + ", not " +
                           args.kind);
    }
  }
  if (const char* s = std::getenv("MLCRON_SCHEDULED"); s && *s) {
    Result<Instant> t = ParseInstant(s, ctx.config->tz);
    if (!t.ok()) return Status::Error("MLCRON_SCHEDULED: " + t.message());
    ctx.scheduled = *t;
  }
  if (const char* s = std::getenv("MLCRON_RUN_ID")) ctx.run_id = s;
  if (const char* s = std::getenv("MLCRON_FORCE_FULL"); s && std::string(s) == "1") {
    ctx.forced_by = "MLCRON_FORCE_FULL=1";
  }
  // Set by the daemon for one queued retrain (POST /models/retrain with a segment).
  if (const char* s = std::getenv("MLCRON_SEGMENT"); s && *s) ctx.segment = s;
  return ctx;
}

std::string IsoUtc(std::chrono::system_clock::time_point t) {
  return date::format("%FT%TZ", std::chrono::floor<std::chrono::seconds>(t));
}

Result<std::unique_ptr<SqliteDb>> OpenDataDb(const Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(config.data_path).parent_path(), ec);
  if (ec) {
    return Status::Error("data database " + config.data_path +
                         ": cannot create its folder: " + ec.message());
  }
  auto db = SqliteDb::Open(config.data_path, "data database", std::chrono::seconds(30));
  if (!db.ok()) return db.status();
  // WAL so signals and the CLI can read while features write; NORMAL is durable across
  // crashes in WAL mode (see the state store).
  if (Status s = (*db)->Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL"); !s.ok()) {
    return s;
  }
  return std::move(*db);
}

}  // namespace mlcron
