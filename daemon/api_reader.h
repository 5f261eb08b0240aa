// The API's reads of the state database: run history and the model registry, as the JSON of
// /work/wt/API_CONTRACT.md. It has connections of its own (the registry one read-only) and
// is used only on the API server thread, so no query ever runs on the scheduler's loop.
// Every query is indexed and bounded by a limit. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "daemon/api_metrics.h"
#include "daemon/config.h"
#include "daemon/sqlite_db.h"
#include "daemon/state_store.h"

namespace mlcron {

class ApiReader {
 public:
  static Result<std::unique_ptr<ApiReader>> Open(const std::string& db_path);

  // {"runs": [...]}, newest first.
  Result<nlohmann::json> Runs(const std::optional<std::string>& job, int limit,
                              const Config& config);
  // One run object, or nullopt when there is no such run.
  Result<std::optional<nlohmann::json>> Run(std::int64_t id, const Config& config);
  // The last `tail_bytes` of the run's captured log; nullopt when the run or its log is absent.
  // The path comes from the run's row, never from the request.
  Result<std::optional<std::string>> RunLog(std::int64_t id, std::int64_t tail_bytes);

  Result<nlohmann::json> Production(const Config& config);
  Result<nlohmann::json> Versions(const std::optional<std::string>& model,
                                  const std::optional<std::string>& segment, int limit,
                                  const Config& config);
  Result<nlohmann::json> TrainingHistory(int limit, const Config& config);

  // For /metrics.
  Result<std::vector<ModelGauge>> ModelGauges(const Config& config);
  Result<std::map<std::string, double>> TrainingSeconds();

 private:
  ApiReader(std::unique_ptr<StateStore> runs, std::unique_ptr<SqliteDb> registry)
      : runs_(std::move(runs)), registry_(std::move(registry)) {}
  std::unique_ptr<StateStore> runs_;
  std::unique_ptr<SqliteDb> registry_;
};

// One run as the API shows it (lateness_s for scheduled runs only).
nlohmann::json RunJson(const RunRecord& run, const Config& config);

}  // namespace mlcron
