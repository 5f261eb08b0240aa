// StateStore::Open and Backup against real files: damaged or foreign files are refused and left
// byte-for-byte untouched, locks and newer schemas are reported, old schemas are migrated, and a
// backup taken while another connection writes is a consistent, openable copy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "daemon/sqlite_db.h"
#include "daemon/state_migrations.h"
#include "daemon/state_store.h"
#include "tests/daemon/state_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::At;
using ::mlcron::testing::ExpectSameRun;
using ::mlcron::testing::Filter;
using ::mlcron::testing::ReadBytes;
using ::mlcron::testing::ScratchDir;
using ::mlcron::testing::Us;
using ::mlcron::testing::WriteBytes;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr auto kShortWait = std::chrono::milliseconds(50);

std::unique_ptr<SqliteDb> RawDb(const std::string& path) {
  auto db = SqliteDb::Open(path, "raw", kShortWait);
  EXPECT_TRUE(db.ok()) << db.message();
  return db.ok() ? std::move(*db) : nullptr;
}

RunRecord SampleRun(int i) {
  RunRecord r;
  r.job = "job" + std::to_string(i % 3);
  r.scheduled = At(1'700'000'000 + 60 * i);
  r.status = RunStatus::kSucceeded;
  r.started = Us(1'700'000'000'000'001 + i);
  r.ended = Us(1'700'000'001'000'002 + i);
  r.exit_code = 0;
  r.log_path = "/logs/" + std::to_string(i) + ".log";
  return r;
}

TEST(StateStoreFilesTest, ReopenKeepsDataAndSchema) {
  ScratchDir dir;
  const std::string path = dir.File("mlcron.db");
  {
    auto store = StateStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.message();
    ASSERT_TRUE((*store)->InsertRun(SampleRun(1)).ok());
  }
  for (int i = 0; i < 2; ++i) {
    auto store = StateStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.message();
    EXPECT_EQ((*store)->SchemaVersion(), LatestStateSchemaVersion());
    EXPECT_EQ((*store)->ListRuns({})->size(), 1u);
  }
  auto raw = RawDb(path);
  EXPECT_EQ(*UserVersion(*raw), LatestStateSchemaVersion());
  SqliteStatement mode = raw->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(*mode.Step());
  EXPECT_EQ(mode.Text(0), "wal");
}

// The number of runs another process sees: the sqlite3 shell (scripts/bootstrap installs it)
// opens its own read-write connection, as `mlcron job` children and the CLI do, and closes it
// (the last connection of a database checkpoints and deletes the WAL). A forked child would
// not do: it inherits this process's SQLite state. -1 if the shell failed.
int RunsSeenByAnotherProcess(const std::string& path) {
  const std::string command = "sqlite3 '" + path + "' 'SELECT count(*) FROM runs' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char line[256] = {};
  const bool read = std::fgets(line, sizeof line, pipe) != nullptr;
  const int status = pclose(pipe);
  if (!read || status != 0) return -1;
  return std::atoi(line);
}

// fcntl locks belong to the process: opening the store a second time in one process (mlcrond
// does, for its API) must not drop the first connection's locks. It did when the header check
// opened and closed the file itself: another process closing its connection then took itself
// for the last one and deleted the WAL under the daemon, whose later commits nobody else saw.
TEST(StateStoreFilesTest, SecondOpenInOneProcessKeepsTheWalSharedWithOtherProcesses) {
  ScratchDir dir;
  const std::string path = dir.File("mlcron.db");
  auto first = StateStore::Open(path);
  ASSERT_TRUE(first.ok()) << first.message();
  ASSERT_TRUE((*first)->InsertRun(SampleRun(1)).ok());
  auto second = StateStore::Open(path);
  ASSERT_TRUE(second.ok()) << second.message();

  EXPECT_EQ(RunsSeenByAnotherProcess(path), 1);
  EXPECT_TRUE(fs::exists(path + "-wal"));
  EXPECT_TRUE(fs::exists(path + "-shm"));
  ASSERT_TRUE((*first)->InsertRun(SampleRun(2)).ok());
  EXPECT_EQ(RunsSeenByAnotherProcess(path), 2);
  EXPECT_EQ((*second)->ListRuns({})->size(), 2u);
}

TEST(StateStoreFilesTest, ForeignFileIsRefusedAndLeftUntouched) {
  ScratchDir dir;
  const std::string path = dir.File("mlcron.db");
  for (const std::string& bytes : {std::string("hello"), std::string(8192, '\x5a'),
                                   std::string("SQLite format 2\0 and more", 25)}) {
    WriteBytes(path, bytes);
    auto store = StateStore::Open(path);
    ASSERT_FALSE(store.ok());
    EXPECT_THAT(store.message(),
                HasSubstr("state database " + path + ": is not a SQLite database, or is corrupt"));
    EXPECT_THAT(store.message(), HasSubstr("left untouched"));
    EXPECT_EQ(ReadBytes(path), bytes);
    EXPECT_FALSE(fs::exists(path + "-wal"));
    EXPECT_FALSE(fs::exists(path + "-shm"));
  }
}

TEST(StateStoreFilesTest, DamagedPagesAreRefusedAndLeftUntouched) {
  ScratchDir dir;
  const std::string path = dir.File("mlcron.db");
  {
    auto store = StateStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.message();
    for (int i = 0; i < 50; ++i) ASSERT_TRUE((*store)->InsertRun(SampleRun(i)).ok());
  }
  // Closing the last connection checkpointed the WAL into the file. Smash page 2 (the runs
  // table) while leaving the header page intact, so only the integrity check can notice.
  std::string bytes = ReadBytes(path);
  ASSERT_GE(bytes.size(), 3u * 4096);
  for (std::size_t i = 4096; i < 2 * 4096; ++i) bytes[i] = static_cast<char>(0xff);
  WriteBytes(path, bytes);

  auto store = StateStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.message(), HasSubstr("state database " + path + ": "));
  EXPECT_THAT(store.message(), HasSubstr("left untouched"));
  EXPECT_EQ(ReadBytes(path), bytes);
}

TEST(StateStoreFilesTest, FailedQuickCheckIsRefusedAndLeftUntouched) {
  ScratchDir dir;
  const std::string path = dir.File("mlcron.db");
  ASSERT_TRUE(StateStore::Open(path).ok());
  // Claim five free pages in the header (bytes 36-39) that the file does not have.
  std::string bytes = ReadBytes(path);
  bytes[39] = 5;
  WriteBytes(path, bytes);

  auto store = StateStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.message(),
            "state database " + path +
                ": failed its integrity check (PRAGMA quick_check: *** in database main *** "
                "Main freelist: size is 0 but should be 5); the file was left untouched (move it "
                "aside or restore a backup made with `mlcron backup`)");
  EXPECT_EQ(ReadBytes(path), bytes);
}

TEST(StateStoreFilesTest, NewerSchemaIsRefused) {
  ScratchDir dir;
  const std::string path = dir.File("mlcron.db");
  const int newer = LatestStateSchemaVersion() + 6;
  {
    auto raw = RawDb(path);
    ASSERT_TRUE(
        raw->Exec("CREATE TABLE future (x); PRAGMA user_version = " + std::to_string(newer)).ok());
  }
  const std::string before = ReadBytes(path);
  auto store = StateStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.message(), "state database " + path + ": schema version " +
                                 std::to_string(newer) + " is newer than this mlcron (" +
                                 std::to_string(LatestStateSchemaVersion()) +
                                 "); upgrade mlcron (the file was left untouched)");
  EXPECT_EQ(ReadBytes(path), before);
}

TEST(StateStoreFilesTest, WriteLockedBeyondTimeoutIsAnError) {
  ScratchDir dir;
  const std::string path = dir.File("mlcron.db");
  auto daemon = StateStore::Open(path, kShortWait);
  ASSERT_TRUE(daemon.ok()) << daemon.message();
  std::int64_t id = *(*daemon)->InsertRun(SampleRun(1));

  auto holder = RawDb(path);
  ASSERT_TRUE(holder->Exec("BEGIN EXCLUSIVE").ok());
  // In WAL mode readers carry on; every write waits out the busy timeout and then fails.
  EXPECT_EQ((*daemon)->ListRuns({})->size(), 1u);
  Result<std::int64_t> insert = (*daemon)->InsertRun(SampleRun(2));
  ASSERT_FALSE(insert.ok());
  EXPECT_THAT(insert.message(), HasSubstr("state database " + path + ": database is locked"));
  EXPECT_THAT(insert.message(), HasSubstr("after 50 ms"));
  EXPECT_THAT((*daemon)->SetPaused("a", true).message(), HasSubstr("locked"));

  auto cli = StateStore::Open(path, kShortWait);  // opening needs no write lock now
  ASSERT_TRUE(cli.ok()) << cli.message();
  EXPECT_THAT((*cli)->SetLastOccurrence("a", At(1)).message(), HasSubstr("locked"));

  ASSERT_TRUE(holder->Exec("COMMIT").ok());
  EXPECT_TRUE((*daemon)->InsertRun(SampleRun(2)).ok());
  EXPECT_TRUE((*(*cli)->GetRun(id)).has_value());
}

TEST(StateStoreFilesTest, OpenLockedBeyondTimeoutIsAnError) {
  // A file still in rollback-journal mode (e.g. restored from a backup) whose writer holds an
  // exclusive lock blocks even the first read of Open.
  ScratchDir dir;
  const std::string path = dir.File("mlcron.db");
  auto holder = RawDb(path);
  ASSERT_TRUE(holder->Exec("CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)").ok());
  auto store = StateStore::Open(path, kShortWait);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.message(), HasSubstr("state database " + path + ": database is locked"));
  ASSERT_TRUE(holder->Exec("COMMIT").ok());
  EXPECT_TRUE(StateStore::Open(path, kShortWait).ok());
}

// A frozen copy of the v1 schema as it shipped, filled by hand. It must open and read back
// after every later migration; when adding one, also assert here what it did to this data.
constexpr const char* kHandMadeV1 = R"sql(
CREATE TABLE runs (id INTEGER PRIMARY KEY, job TEXT NOT NULL, scheduled INTEGER NOT NULL,
  "trigger" TEXT NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '', started_us INTEGER, ended_us INTEGER, exit_code INTEGER,
  signal INTEGER, pid INTEGER, pid_start_ticks INTEGER, boot_id TEXT NOT NULL DEFAULT '',
  log_path TEXT NOT NULL DEFAULT '', cpu_user_s REAL NOT NULL DEFAULT 0,
  cpu_sys_s REAL NOT NULL DEFAULT 0, config_sha TEXT NOT NULL DEFAULT '');
CREATE INDEX runs_job_scheduled ON runs (job, scheduled);
CREATE INDEX runs_status ON runs (status);
CREATE INDEX runs_ended ON runs (ended_us);
CREATE TABLE job_state (job TEXT PRIMARY KEY, last_occurrence INTEGER NOT NULL);
CREATE TABLE paused (name TEXT PRIMARY KEY, since_us INTEGER NOT NULL);
INSERT INTO runs VALUES (7, 'train', 1700000000, 'retry', 2, 'timed_out', 'timeout 1h',
  1700000000000001, 1700003600000002, NULL, 9, 31337, 4444, 'boot', '/l/7.log', 12.5, 1.5,
  'cafe');
INSERT INTO job_state VALUES ('train', 1700000000);
INSERT INTO paused VALUES ('tier5', 1);
PRAGMA user_version = 1;
)sql";

TEST(StateStoreFilesTest, HandMadeV1FileIsMigratedForward) {
  ScratchDir dir;
  const std::string path = dir.File("mlcron.db");
  ASSERT_TRUE(RawDb(path)->Exec(kHandMadeV1).ok());

  auto store = StateStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.message();
  EXPECT_EQ((*store)->SchemaVersion(), LatestStateSchemaVersion());
  RunRecord want;
  want.id = 7;
  want.job = "train";
  want.scheduled = At(1'700'000'000);
  want.trigger = "retry";
  want.attempt = 2;
  want.status = RunStatus::kTimedOut;
  want.reason = "timeout 1h";
  want.started = Us(1'700'000'000'000'001);
  want.ended = Us(1'700'003'600'000'002);
  want.signal = 9;
  want.pid = 31337;
  want.pid_start_ticks = 4444;
  want.boot_id = "boot";
  want.log_path = "/l/7.log";
  want.cpu_user_s = 12.5;
  want.cpu_sys_s = 1.5;
  want.config_sha = "cafe";
  auto got = (*store)->GetRun(7);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.message();
  ExpectSameRun(want, **got);
  EXPECT_EQ(**(*store)->LastOccurrence("train"), At(1'700'000'000));
  EXPECT_THAT(*(*store)->PausedNames(), ::testing::ElementsAre("tier5"));
  EXPECT_EQ(*(*store)->InsertRun(SampleRun(1)), 8);
  // v2 added the model registry's tables, empty, and changed nothing else.
  auto raw = RawDb(path);
  SqliteStatement st = raw->Prepare(
      "SELECT (SELECT count(*) FROM model_versions) + (SELECT count(*) FROM model_production) + "
      "(SELECT count(*) FROM model_audit) + (SELECT count(*) FROM retrain_decisions)");
  ASSERT_TRUE(*st.Step());
  EXPECT_EQ(st.Int64(0), 0);
  // v3 added live_scores, empty.
  SqliteStatement live = raw->Prepare("SELECT count(*) FROM live_scores");
  ASSERT_TRUE(*live.Step());
  EXPECT_EQ(live.Int64(0), 0);
  // v4 added the tuning tables, empty.
  SqliteStatement tuning = raw->Prepare(
      "SELECT (SELECT count(*) FROM tuning_studies) + (SELECT count(*) FROM tuning_trials) + "
      "(SELECT count(*) FROM model_tuned_params)");
  ASSERT_TRUE(*tuning.Step());
  EXPECT_EQ(tuning.Int64(0), 0);
}

TEST(StateStoreFilesTest, EveryIntermediateVersionMigratesToLatest) {
  const auto migrations = StateMigrations();
  for (std::size_t k = 0; k <= migrations.size(); ++k) {
    SCOPED_TRACE("starting at version " + std::to_string(k));
    ScratchDir dir;
    const std::string path = dir.File("mlcron.db");
    ASSERT_EQ(*ApplyMigrations(*RawDb(path), migrations.first(k)), static_cast<int>(k));
    auto store = StateStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.message();
    EXPECT_EQ((*store)->SchemaVersion(), LatestStateSchemaVersion());
    EXPECT_TRUE((*store)->InsertRun(SampleRun(1)).ok());
  }
}

TEST(StateStoreFilesTest, BackupIsConsistentWhileAnotherConnectionWrites) {
  ScratchDir dir;
  const std::string path = dir.File("mlcron.db");
  const std::string dest = dir.File("backup.db");
  auto store = StateStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.message();
  std::vector<RunRecord> first;
  for (int i = 0; i < 3; ++i) {
    first.push_back(SampleRun(i));
    first.back().id = *(*store)->InsertRun(first.back());
  }
  WriteBytes(dest, "an older backup, replaced");

  auto writer_store = StateStore::Open(path);
  ASSERT_TRUE(writer_store.ok()) << writer_store.message();
  std::atomic<int> written{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 3; !stop && i < 100'000; ++i) {
      if (!(*writer_store)->InsertRun(SampleRun(i)).ok()) return;
      ++written;
    }
  });
  while (written < 20) std::this_thread::yield();  // bounded by the writer's 100k rows
  Status s = (*store)->Backup(dest);
  stop = true;
  writer.join();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_FALSE(fs::exists(dest + ".tmp"));
  EXPECT_EQ(ReadBytes(dest).substr(18, 2), std::string("\x01\x01", 2));  // rollback journal

  auto copy = StateStore::Open(dest);
  ASSERT_TRUE(copy.ok()) << copy.message();
  std::vector<RunRecord> copied = *(*copy)->ListRuns(Filter(std::nullopt, std::nullopt, 0));
  std::vector<RunRecord> source = *(*store)->ListRuns(Filter(std::nullopt, std::nullopt, 0));
  ASSERT_GE(copied.size(), 3u + 20u);
  ASSERT_LE(copied.size(), source.size());
  // A snapshot: exactly the oldest rows of the source, with no gaps.
  for (std::size_t i = 0; i < copied.size(); ++i) {
    ExpectSameRun(source[source.size() - copied.size() + i], copied[i]);
  }
  for (int i = 0; i < 3; ++i) ExpectSameRun(first[i], copied[copied.size() - 1 - i]);
}

TEST(StateStoreFilesTest, BackupIntoMissingDirectoryIsAnError) {
  ScratchDir dir;
  auto store = StateStore::Open(dir.File("mlcron.db"));
  ASSERT_TRUE(store.ok()) << store.message();
  const std::string dest = dir.File("nope/b.db");
  EXPECT_EQ((*store)->Backup(dest).message(),
            "backup to " + dest + ": directory " + dir.File("nope") + " does not exist");
}

}  // namespace
}  // namespace mlcron
