// A scratch pipeline for retrain and signals tests: a temp folder with a config holding one
// model over table `m` (segmented by `seg`, daily `day` text times, features f0..f2 and a
// binary label), and deterministic rows appended day by day.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "daemon/config_loader.h"
#include "jobs/job_context.h"
#include "jobs/registry.h"

namespace mlcron::testing {

class RetrainFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mlcron-retrain-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Load(ModelYaml());
    auto data = OpenDataDb(*config_);
    ASSERT_TRUE(data.ok()) << data.message();
    data_ = std::move(*data);
    ASSERT_TRUE(data_
                    ->Exec("CREATE TABLE m (id INTEGER PRIMARY KEY, seg TEXT, day TEXT, y REAL, "
                           "f0 REAL, f1 REAL, f2 REAL)")
                    .ok());
    auto registry = Registry::Open(*config_);
    ASSERT_TRUE(registry.ok()) << registry.message();
    registry_ = std::move(*registry);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The model section; tests override keys through `extra` (YAML lines at model level).
  static std::string ModelYaml(const std::string& features = "[f0, f1, f2]",
                               const std::string& extra = "") {
    return R"(models:
  m:
    table: m
    key: id
    time: day
    label: y
    features: )" +
           features + R"(
    segment_by: seg
    objective: binary:logistic
    params: {max_depth: 3, eta: 0.3, nthread: 1}
    rounds: 20
    min_rows: 50
    incremental: {rounds: 5, min_new_rows: 100, max_chain: 3}
    holdout: {fraction: 0.2, min_rows: 20}
)" + extra;
  }

  void Load(const std::string& models) {
    const std::string yaml = "state_dir: " + dir_ + "/state\ndata: " + dir_ + "/data.db\n" +
                             R"(tiers:
  - tier: 1
    name: t
    at: "09:52"
    jobs:
      - {name: retrain_m, kind: retrain, model: m}
      - {name: predict, kind: signals, model: m, input: upcoming, output: signals}
)" + models;
    LoadResult r = LoadConfigText(yaml, dir_ + "/mlcron.yaml");
    ASSERT_TRUE(r.ok()) << r.ErrorText();
    config_ = r.config;
  }

  // `per_day` rows for each of `days` days from 2024-01-01 + first_day, in segment `seg`.
  // Labels follow f0 + f1 > 1 with 10% noise, so a model can learn them.
  void AddRows(const std::string& seg, int first_day, int days, int per_day, bool labelled = true) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(first_day * 7919 + seg.size() * 31 + next_id_));
    std::uniform_real_distribution<double> u(0, 1);
    ASSERT_TRUE(data_->Exec("BEGIN").ok());
    {
      for (int d = first_day; d < first_day + days; ++d) {
        const std::string day = Day(d);
        for (int i = 0; i < per_day; ++i) {
          const double f0 = u(rng), f1 = u(rng), f2 = u(rng);
          double y = (f0 + f1 > 1) ? 1 : 0;
          if (u(rng) < 0.1) y = 1 - y;
          // A fresh loan per row: the cache resets the statement when a loan ends.
          SqliteStatement st = data_->Prepare(
              "INSERT INTO m (id, seg, day, y, f0, f1, f2) VALUES (?, ?, ?, ?, ?, ?, ?)");
          st.Bind(1, next_id_++).Bind(2, std::string_view(seg)).Bind(3, std::string_view(day));
          if (labelled) {
            st.Bind(4, y);
          } else {
            st.BindNull(4);
          }
          st.Bind(5, f0).Bind(6, f1).Bind(7, f2);
          Status ran = st.Run();
          ASSERT_TRUE(ran.ok()) << ran.message();
        }
      }
    }
    Status commit = data_->Exec("COMMIT");
    ASSERT_TRUE(commit.ok()) << commit.message();
  }

  static std::string Day(int d) {
    std::chrono::sys_days day =
        std::chrono::sys_days(std::chrono::year(2024) / std::chrono::January / 1) +
        std::chrono::days(d);
    return IsoUtc(day).substr(0, 10);
  }

  std::string dir_;
  std::shared_ptr<const Config> config_;
  std::unique_ptr<SqliteDb> data_;
  std::unique_ptr<Registry> registry_;
  std::int64_t next_id_ = 1;
};

}  // namespace mlcron::testing
