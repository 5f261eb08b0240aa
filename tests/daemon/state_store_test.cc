// The StateStore API on a fresh database: what goes in comes out, filters, ordering, and the
// scheduler-state rules. File-level behaviour (corruption, locks, migrations, backup) is in
// state_store_files_test.cc.
#include "daemon/state_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/daemon/state_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::At;
using ::mlcron::testing::ExpectSameRun;
using ::mlcron::testing::Filter;
using ::mlcron::testing::ScratchDir;
using ::mlcron::testing::Us;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenStore(); }

  std::unique_ptr<StateStore> OpenStore() {
    auto store = StateStore::Open(path_, std::chrono::milliseconds(200));
    EXPECT_TRUE(store.ok()) << store.message();
    return store.ok() ? std::move(*store) : nullptr;
  }

  // Inserts a run and returns it with its id filled in.
  RunRecord Insert(RunRecord run) {
    Result<std::int64_t> id = store_->InsertRun(run);
    EXPECT_TRUE(id.ok()) << id.message();
    run.id = id.ok() ? *id : -1;
    return run;
  }

  static RunRecord Run(const std::string& job, std::int64_t scheduled, RunStatus status,
                       int attempt = 1) {
    RunRecord r;
    r.job = job;
    r.scheduled = At(scheduled);
    r.status = status;
    r.attempt = attempt;
    return r;
  }

  std::vector<std::int64_t> Ids(const RunFilter& filter) {
    Result<std::vector<RunRecord>> runs = store_->ListRuns(filter);
    EXPECT_TRUE(runs.ok()) << runs.message();
    std::vector<std::int64_t> ids;
    if (runs.ok()) {
      for (const RunRecord& r : *runs) ids.push_back(r.id);
    }
    return ids;
  }

  ScratchDir dir_;
  std::string path_ = dir_.File("mlcron.db");
  std::unique_ptr<StateStore> store_;
};

TEST_F(StateStoreTest, FreshDatabaseIsAtLatestSchema) {
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->SchemaVersion(), 5);
}

TEST_F(StateStoreTest, EveryFieldRoundTrips) {
  RunRecord full;
  full.job = "features";
  full.scheduled = At(1'700'000'000);
  full.trigger = "catchup";
  full.attempt = 3;
  full.status = RunStatus::kFailed;
  full.reason = "exit 2: \"quoted\" and unicode \u00e9";
  full.started = Us(1'700'000'000'123'456);
  full.ended = Us(1'700'000'042'000'001);
  full.exit_code = 2;
  full.signal = 9;
  full.pid = 4242;
  full.pid_start_ticks = 987'654'321'012ULL;
  full.boot_id = "0b2c3d4e-aaaa-bbbb-cccc-111122223333";
  full.log_path = "/var/log/mlcron/features/1.log";
  full.cpu_user_s = 1.25;
  full.cpu_sys_s = 0.5;
  full.config_sha = "ab12";
  full = Insert(full);

  RunRecord bare = Insert(Run("signals", 1'700'000'060, RunStatus::kRunning));
  EXPECT_EQ(bare.id, full.id + 1);

  auto got = store_->GetRun(full.id);
  ASSERT_TRUE(got.ok()) << got.message();
  ASSERT_TRUE(got->has_value());
  ExpectSameRun(full, **got);

  got = store_->GetRun(bare.id);
  ASSERT_TRUE(got.ok() && got->has_value());
  ExpectSameRun(bare, **got);  // absent optionals stay absent, zeros stay zero
  EXPECT_EQ((*got)->trigger, "schedule");

  got = store_->GetRun(999);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_F(StateStoreTest, ProcessThenFinishFillsTheRunningRow) {
  RunRecord run = Insert(Run("train", 1'700'000'000, RunStatus::kRunning));
  ASSERT_TRUE(
      store_->SetRunProcess(run.id, 777, 123'456, "boot-1", Us(1'700'000'000'000'007)).ok());

  RunRecord done = run;
  done.status = RunStatus::kSucceeded;
  done.reason = "";
  done.ended = Us(1'700'000'010'500'000);
  done.exit_code = 0;
  done.cpu_user_s = 3.5;
  done.cpu_sys_s = 0.25;
  done.log_path = "/logs/train/1.log";
  done.started = Us(5);  // ignored: SetRunProcess already recorded the start
  ASSERT_TRUE(store_->FinishRun(done).ok());

  RunRecord want = done;
  want.pid = 777;
  want.pid_start_ticks = 123'456;
  want.boot_id = "boot-1";
  want.started = Us(1'700'000'000'000'007);
  ExpectSameRun(want, **store_->GetRun(run.id));

  // Settling again without a log path keeps the stored one.
  done.status = RunStatus::kKilled;
  done.signal = 15;
  done.exit_code.reset();
  done.log_path.clear();
  ASSERT_TRUE(store_->FinishRun(done).ok());
  RunRecord got = **store_->GetRun(run.id);
  EXPECT_EQ(got.status, RunStatus::kKilled);
  EXPECT_EQ(got.signal, 15);
  EXPECT_EQ(got.exit_code, std::nullopt);
  EXPECT_EQ(got.log_path, "/logs/train/1.log");
}

TEST_F(StateStoreTest, UpdatingAMissingRunIsAnError) {
  Status s = store_->SetRunProcess(41, 1, 1, "b", Us(1));
  EXPECT_EQ(s.message(), "state database " + path_ + ": no run with id 41");
  RunRecord r = Run("x", 1, RunStatus::kFailed);
  r.id = 42;
  EXPECT_EQ(store_->FinishRun(r).message(), "state database " + path_ + ": no run with id 42");
}

TEST_F(StateStoreTest, ListRunsFiltersNewestFirstWithLimit) {
  std::int64_t a1 = Insert(Run("a", 100, RunStatus::kSucceeded)).id;
  std::int64_t b1 = Insert(Run("b", 100, RunStatus::kFailed)).id;
  std::int64_t a2 = Insert(Run("a", 200, RunStatus::kFailed)).id;
  std::int64_t a3 = Insert(Run("a", 200, RunStatus::kSucceeded, 2)).id;
  std::int64_t b2 = Insert(Run("b", 300, RunStatus::kRunning)).id;

  EXPECT_THAT(Ids({}), ElementsAre(b2, a3, a2, b1, a1));
  EXPECT_THAT(Ids(Filter(std::nullopt, std::nullopt, 2)), ElementsAre(b2, a3));
  EXPECT_THAT(Ids(Filter(std::nullopt, std::nullopt, 0)), ElementsAre(b2, a3, a2, b1, a1));
  EXPECT_THAT(Ids(Filter(std::nullopt, std::nullopt, -1)), ElementsAre(b2, a3, a2, b1, a1));
  EXPECT_THAT(Ids(Filter("a", std::nullopt, 50)), ElementsAre(a3, a2, a1));
  EXPECT_THAT(Ids(Filter(std::nullopt, RunStatus::kFailed, 50)), ElementsAre(a2, b1));
  EXPECT_THAT(Ids(Filter("a", RunStatus::kSucceeded, 1)), ElementsAre(a3));
  EXPECT_THAT(Ids(Filter("zzz", std::nullopt, 50)), IsEmpty());
}

TEST_F(StateStoreTest, ListRunsDefaultsToFiftyNewest) {
  for (int i = 0; i < 60; ++i) Insert(Run("a", i, RunStatus::kSucceeded));
  std::vector<std::int64_t> ids = Ids({});
  ASSERT_EQ(ids.size(), 50u);
  EXPECT_EQ(ids.front(), 60);
  EXPECT_EQ(ids.back(), 11);
}

TEST_F(StateStoreTest, OccurrenceRunsAreAllAttemptsOldestFirst) {
  std::int64_t first = Insert(Run("a", 100, RunStatus::kFailed, 1)).id;
  Insert(Run("a", 160, RunStatus::kSucceeded));
  Insert(Run("b", 100, RunStatus::kSucceeded));
  std::int64_t second = Insert(Run("a", 100, RunStatus::kSucceeded, 2)).id;

  auto runs = store_->OccurrenceRuns("a", At(100));
  ASSERT_TRUE(runs.ok()) << runs.message();
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].id, first);
  EXPECT_EQ((*runs)[0].attempt, 1);
  EXPECT_EQ((*runs)[1].id, second);
  EXPECT_EQ((*runs)[1].attempt, 2);
  EXPECT_THAT(*store_->OccurrenceRuns("a", At(130)), IsEmpty());
}

TEST_F(StateStoreTest, LatestRunAtOrBeforePicksNewestOccurrenceThenLatestAttempt) {
  Insert(Run("up", 100, RunStatus::kSucceeded));
  std::int64_t t200_a1 = Insert(Run("up", 200, RunStatus::kFailed, 1)).id;
  std::int64_t t300 = Insert(Run("up", 300, RunStatus::kSucceeded)).id;
  std::int64_t t200_a2 = Insert(Run("up", 200, RunStatus::kSucceeded, 2)).id;  // retried late
  Insert(Run("other", 250, RunStatus::kSucceeded));

  auto id_at = [&](std::int64_t t) -> std::int64_t {
    auto r = store_->LatestRunAtOrBefore("up", At(t));
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() && r->has_value() ? (*r)->id : 0;
  };
  EXPECT_EQ(id_at(99), 0);
  EXPECT_EQ(id_at(299), t200_a2);
  EXPECT_EQ(id_at(200), t200_a2);
  EXPECT_EQ(id_at(300), t300);
  EXPECT_EQ(id_at(1'000'000), t300);
  EXPECT_NE(t200_a1, t200_a2);
  EXPECT_FALSE(store_->LatestRunAtOrBefore("nobody", At(1'000))->has_value());
}

TEST_F(StateStoreTest, LastOccurrenceNeverMovesBackwards) {
  EXPECT_FALSE(store_->LastOccurrence("a")->has_value());
  ASSERT_TRUE(store_->SetLastOccurrence("a", At(500)).ok());
  EXPECT_EQ(**store_->LastOccurrence("a"), At(500));
  ASSERT_TRUE(store_->SetLastOccurrence("a", At(400)).ok());
  EXPECT_EQ(**store_->LastOccurrence("a"), At(500));
  ASSERT_TRUE(store_->SetLastOccurrence("a", At(600)).ok());
  EXPECT_EQ(**store_->LastOccurrence("a"), At(600));
  EXPECT_FALSE(store_->LastOccurrence("b")->has_value());
}

TEST_F(StateStoreTest, PausedNamesAreSortedAndIdempotent) {
  ASSERT_TRUE(store_->SetPaused("tier5", true).ok());
  ASSERT_TRUE(store_->SetPaused("features", true).ok());
  ASSERT_TRUE(store_->SetPaused("features", true).ok());
  EXPECT_THAT(*store_->PausedNames(), ElementsAre("features", "tier5"));
  ASSERT_TRUE(store_->SetPaused("features", false).ok());
  ASSERT_TRUE(store_->SetPaused("never-paused", false).ok());
  EXPECT_THAT(*store_->PausedNames(), ElementsAre("tier5"));
}

TEST_F(StateStoreTest, PruneDeletesOldSettledRunsAndReturnsTheirLogs) {
  const std::int64_t cutoff_us = 1'000'000'000'000;  // 1e6 s
  auto run = [&](RunStatus status, std::optional<std::int64_t> ended_us, std::int64_t sched,
                 std::string log) {
    RunRecord r = Run("j", sched, status);
    if (ended_us) r.ended = Us(*ended_us);
    r.log_path = std::move(log);
    return Insert(r).id;
  };
  run(RunStatus::kSucceeded, cutoff_us - 1, 900'000, "/l/old-ok.log");
  std::int64_t at_cutoff = run(RunStatus::kFailed, cutoff_us, 900'000, "/l/at-cutoff.log");
  run(RunStatus::kInterrupted, cutoff_us - 5, 900'000, "/l/interrupted.log");
  std::int64_t old_running = run(RunStatus::kRunning, std::nullopt, 1, "/l/running.log");
  run(RunStatus::kMissed, std::nullopt, 999'999, "");  // no log, ages by scheduled
  std::int64_t new_skip = run(RunStatus::kSkipped, std::nullopt, 1'000'000, "");
  std::int64_t recent = run(RunStatus::kSucceeded, cutoff_us + 1, 1'000'000, "/l/new.log");

  auto logs = store_->PruneRuns(Us(cutoff_us));
  ASSERT_TRUE(logs.ok()) << logs.message();
  EXPECT_THAT(*logs, ::testing::UnorderedElementsAre("/l/old-ok.log", "/l/interrupted.log"));
  EXPECT_THAT(Ids(Filter(std::nullopt, std::nullopt, 0)),
              ElementsAre(recent, new_skip, old_running, at_cutoff));
  EXPECT_THAT(*store_->PruneRuns(Us(cutoff_us)), IsEmpty());
}

TEST_F(StateStoreTest, TwoStoresOnOneFileSeeEachOthersWrites) {
  std::unique_ptr<StateStore> cli = OpenStore();
  ASSERT_NE(cli, nullptr);
  std::int64_t id = Insert(Run("a", 100, RunStatus::kRunning)).id;
  auto seen = cli->GetRun(id);
  ASSERT_TRUE(seen.ok() && seen->has_value()) << seen.message();
  EXPECT_EQ((*seen)->job, "a");

  ASSERT_TRUE(cli->SetPaused("a", true).ok());
  ASSERT_TRUE(cli->SetLastOccurrence("a", At(100)).ok());
  EXPECT_THAT(*store_->PausedNames(), ElementsAre("a"));
  EXPECT_EQ(**store_->LastOccurrence("a"), At(100));

  RunRecord done = **cli->GetRun(id);
  done.status = RunStatus::kSucceeded;
  ASSERT_TRUE(cli->FinishRun(done).ok());
  EXPECT_EQ((**store_->GetRun(id)).status, RunStatus::kSucceeded);
}

}  // namespace
}  // namespace mlcron
