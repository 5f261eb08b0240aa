// What the model job kinds (retrain, signals, tune) open before their work: the job's model,
// the data database and the registry. One place, so their start-up errors read alike.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "daemon/model_config.h"
#include "daemon/sqlite_db.h"
#include "jobs/job_context.h"
#include "jobs/registry.h"

namespace mlcron {

struct ModelJob {
  const ModelConfig* model = nullptr;
  std::unique_ptr<SqliteDb> data;
  std::unique_ptr<Registry> registry;
};

// On failure prints "<label>: <why>" to the run's log and returns nothing (the job exits 1).
// `label` is "retrain retrain_m", "signals predict", ...
std::optional<ModelJob> OpenModelJob(const JobContext& ctx, const std::string& label);

}  // namespace mlcron
