// mlcrond's HTTP API (issue 7, /work/wt/API_CONTRACT.md): routes each request of the
// HttpServer to the right thread. Reads of runs and the registry, /metrics and the web page
// are answered on the server thread; /status and POST /models/retrain are posted to the
// scheduler's loop and take microseconds there; promote, rollback and compare run
// `mlcron models ...` as a child process (XGBoost stays out of the daemon). Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon/api_metrics.h"
#include "daemon/api_request.h"
#include "daemon/config.h"
#include "daemon/http_server.h"
#include "daemon/process_executor.h"

namespace boost::asio {
class io_context;
}

namespace mlcron {

// What the API asks of the daemon. Every method is called on the loop thread.
class ApiLoopSide {
 public:
  virtual ~ApiLoopSide() = default;
  virtual nlohmann::json StatusJson() = 0;
  virtual HttpResponse Retrain(const ApiCall& call) = 0;
  // Runs `mlcron <args>`; `done` is called on the loop thread when it exits.
  virtual void RunCli(const std::vector<std::string>& args,
                      std::function<void(const ProcessExecutor::ToolResult&)> done) = 0;
};

class ApiService {
 public:
  // Loads (or creates) the token, opens the reader and starts listening on config->api.
  static Result<std::unique_ptr<ApiService>> Start(boost::asio::io_context& loop_io,
                                                   ApiLoopSide* loop,
                                                   std::shared_ptr<const Config> config,
                                                   std::shared_ptr<RunMetrics> metrics);
  virtual ~ApiService() = default;
  // After a reload (loop thread). The listening address stays until a restart.
  virtual void SetConfig(std::shared_ptr<const Config> config) = 0;
  virtual std::string address() const = 0;
  virtual int connection_cap() const = 0;
};

// Maps a finished `mlcron models promote|rollback|compare ... --json` to the response:
// its JSON on exit 0; otherwise its message, as 404 (no such version, model or segment),
// 400 (bad usage) or 409 (refused by the registry in its current state).
HttpResponse CliResponse(const ProcessExecutor::ToolResult& result);

}  // namespace mlcron
