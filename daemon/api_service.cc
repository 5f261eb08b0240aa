#include "daemon/api_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <mutex>

#include "daemon/api_reader.h"
#include "daemon/api_token.h"
#include "daemon/version.h"
#include "daemon/web_assets.h"

namespace mlcron {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using Respond = HttpServer::Respond;

HttpResponse Json(const json& body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse Internal(const Status& s) {
  spdlog::error("api: {}", s.message());
  return JsonError(500, s.message());
}

// The message a failed `mlcron ...` printed, without its "mlcron models promote: " prefix.
std::string CliMessage(const std::string& err) {
  std::string line = err.substr(0, err.find('\n'));
  const size_t colon = line.find(": ");
  if (line.starts_with("mlcron ") && colon != std::string::npos) line = line.substr(colon + 2);
  return line.empty() ? "mlcron exited without a message" : line;
}

class Service final : public ApiService {
 public:
  Service(asio::io_context& loop_io, ApiLoopSide* loop, std::shared_ptr<const Config> config,
          std::shared_ptr<RunMetrics> metrics, std::string token, std::unique_ptr<ApiReader> reader)
      : loop_io_(loop_io),
        loop_(loop),
        config_(std::move(config)),
        metrics_(std::move(metrics)),
        token_(std::move(token)),
        reader_(std::move(reader)),
        loopback_(config_->api.loopback()) {}

  Status Listen() {
    const ApiConfig& api = config_->api;
    HttpServerOptions o;
    o.host = api.host;
    o.port = api.port;
    o.socket_path = api.socket_path;
    o.read_timeout = api.read_timeout;
    o.max_connections = api.max_connections;
    o.server_name = std::string("mlcrond/") + Version();
    auto server = HttpServer::Start(
        o, [this](HttpRequest request, Respond respond) { Handle(request, std::move(respond)); });
    if (!server.ok()) return server.status();
    server_ = std::move(server).value();
    return Status::Ok();
  }

  ~Service() override { server_.reset(); }  // first: no handler may run on a half-destroyed us

  void SetConfig(std::shared_ptr<const Config> config) override {
    std::lock_guard<std::mutex> lock(config_mu_);
    config_ = std::move(config);
  }
  std::string address() const override { return server_->address(); }
  int connection_cap() const override { return server_->connection_cap(); }

 private:
  std::shared_ptr<const Config> config() {
    std::lock_guard<std::mutex> lock(config_mu_);
    return config_;
  }

  // Server thread.
  void Handle(const HttpRequest& request, Respond respond) {
    auto parsed = ParseApiCall(request);
    if (auto* error = std::get_if<HttpResponse>(&parsed)) return respond(std::move(*error));
    const ApiCall& call = std::get<ApiCall>(parsed);
    if (auto denied = CheckToken(request, call, token_, loopback_)) {
      if (call.mutating) {
        spdlog::warn("api: {} {}: refused: no or wrong token", request.method, request.target);
      }
      return respond(std::move(*denied));
    }
    const auto config = this->config();
    switch (call.endpoint) {
      case ApiEndpoint::kHealthz:
        return respond(Json({{"ok", true}}));
      case ApiEndpoint::kIndex:
        return respond(Asset("index.html"));
      case ApiEndpoint::kStatic:
        return respond(Asset(call.name));
      case ApiEndpoint::kMetrics:
        return respond(Metrics(*config));
      case ApiEndpoint::kStatus:
        return GetStatus(std::move(respond));
      case ApiEndpoint::kRuns:
        return respond(Reply(reader_->Runs(call.job, call.limit, *config)));
      case ApiEndpoint::kRun: {
        auto run = reader_->Run(call.id, *config);
        if (!run.ok()) return respond(Internal(run.status()));
        if (!*run) return respond(JsonError(404, "no run " + std::to_string(call.id)));
        return respond(Json(**run));
      }
      case ApiEndpoint::kRunLog: {
        auto log = reader_->RunLog(call.id, call.tail_bytes);
        if (!log.ok()) return respond(Internal(log.status()));
        if (!*log) return respond(JsonError(404, "no log for run " + std::to_string(call.id)));
        HttpResponse r;
        r.content_type = "text/plain; charset=utf-8";
        r.body = std::move(**log);
        r.headers.emplace_back("Cache-Control", "no-store");
        return respond(std::move(r));
      }
      case ApiEndpoint::kProduction:
        return respond(Reply(reader_->Production(*config)));
      case ApiEndpoint::kVersions:
        return respond(Reply(reader_->Versions(call.model, call.segment, call.limit, *config)));
      case ApiEndpoint::kTrainingHistory:
        return respond(Reply(reader_->TrainingHistory(call.limit, *config)));
      case ApiEndpoint::kRetrain:
        asio::post(loop_io_,
                   [this, call, respond = std::move(respond)] { respond(loop_->Retrain(call)); });
        return;
      case ApiEndpoint::kPromote:
      case ApiEndpoint::kRollback:
      case ApiEndpoint::kCompare:
        return RunCli(call, *config, std::move(respond));
    }
  }

  static HttpResponse Reply(const Result<json>& body) {
    return body.ok() ? Json(*body) : Internal(body.status());
  }

  static HttpResponse Asset(const std::string& name) {
    const WebAsset* asset = FindWebAsset(name);
    if (!asset) return JsonError(404, "no such file: " + json(name).dump());
    HttpResponse r;
    r.content_type = std::string(asset->content_type);
    r.body = std::string(asset->data);
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return r;
  }

  HttpResponse Metrics(const Config& config) {
    std::string text = metrics_->Render();
    auto gauges = reader_->ModelGauges(config);
    auto seconds = reader_->TrainingSeconds();
    if (!gauges.ok()) return Internal(gauges.status());
    if (!seconds.ok()) return Internal(seconds.status());
    text += RenderModelMetrics(*gauges, *seconds);
    text +=
        "# HELP mlcron_build_info The running mlcrond's version.\n"
        "# TYPE mlcron_build_info gauge\n"
        "mlcron_build_info{version=\"" +
        std::string(Version()) + "\"} 1\n";
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = std::move(text);
    return r;
  }

  // Concurrent /status requests share one snapshot: at most one is being built on the loop
  // at a time, however many clients ask.
  void GetStatus(Respond respond) {
    {
      std::lock_guard<std::mutex> lock(status_mu_);
      status_waiters_.push_back(std::move(respond));
      if (status_in_flight_) return;
      status_in_flight_ = true;
    }
    asio::post(loop_io_, [this] {
      const std::string body = loop_->StatusJson().dump();
      std::vector<Respond> waiters;
      {
        std::lock_guard<std::mutex> lock(status_mu_);
        waiters.swap(status_waiters_);
        status_in_flight_ = false;
      }
      for (auto& w : waiters) {
        HttpResponse r;
        r.body = body;
        r.headers.emplace_back("Cache-Control", "no-store");
        w(std::move(r));
      }
    });
  }

  void RunCli(const ApiCall& call, const Config& config, Respond respond) {
    std::vector<std::string> args = {"models"};
    const bool move = call.endpoint != ApiEndpoint::kCompare;
    if (call.endpoint == ApiEndpoint::kPromote) {
      args.insert(args.end(), {"promote", std::to_string(call.id)});
      if (!call.reason.empty()) args.push_back("--reason=" + call.reason);
      if (call.force) args.push_back("--force");
    } else if (call.endpoint == ApiEndpoint::kRollback) {
      args.insert(args.end(), {"rollback", call.name});
      if (call.segment) args.push_back("--segment=" + *call.segment);
    } else {
      args.insert(args.end(), {"compare", std::to_string(call.id), std::to_string(call.other)});
    }
    args.insert(args.end(), {"--config", config.path, "--json"});
    if (move) args.push_back("--actor=api");
    asio::post(loop_io_, [this, args, move, respond = std::move(respond)] {
      loop_->RunCli(args, [args, move, respond](const ProcessExecutor::ToolResult& result) {
        HttpResponse r = CliResponse(result);
        if (move) {
          spdlog::info("api: mlcron {} (actor api): {} {}", fmt::join(args, " "), r.status,
                       r.status == 200 ? "done" : r.body);
        }
        respond(std::move(r));
      });
    });
  }

  asio::io_context& loop_io_;
  ApiLoopSide* loop_;
  std::mutex config_mu_;
  std::shared_ptr<const Config> config_;  // guarded by config_mu_
  std::shared_ptr<RunMetrics> metrics_;
  const std::string token_;
  std::unique_ptr<ApiReader> reader_;  // server thread only
  const bool loopback_;
  std::mutex status_mu_;
  std::vector<Respond> status_waiters_;  // guarded by status_mu_
  bool status_in_flight_ = false;        // guarded by status_mu_
  std::unique_ptr<HttpServer> server_;
};

}  // namespace

HttpResponse CliResponse(const ProcessExecutor::ToolResult& result) {
  if (result.exit.exit_code == 0) {
    json body = json::parse(result.out, nullptr, false);
    if (body.is_discarded()) return JsonError(500, "mlcron printed no JSON: " + result.out);
    return Json(body);
  }
  if (!result.exit.exit_code) {
    return JsonError(
        500, "mlcron was killed by signal " + std::to_string(result.exit.signal.value_or(0)));
  }
  const std::string message = CliMessage(result.err);
  if (message.starts_with("no version") || message.find("has no versions") != std::string::npos ||
      message.find("has no segment") != std::string::npos ||
      message.find("no models trained yet") != std::string::npos) {
    return JsonError(404, message);
  }
  if (*result.exit.exit_code == 2) return JsonError(400, message);
  // Exit 1 on a well-formed request: the registry refused it in its current state (already
  // production, nothing to roll back, versions of different segments to compare, ...).
  return JsonError(409, message);
}

Result<std::unique_ptr<ApiService>> ApiService::Start(asio::io_context& loop_io, ApiLoopSide* loop,
                                                      std::shared_ptr<const Config> config,
                                                      std::shared_ptr<RunMetrics> metrics) {
  auto token = LoadOrCreateApiToken(config->state_dir);
  if (!token.ok()) return token.status();
  auto reader = ApiReader::Open(config->state_dir + "/mlcron.db");
  if (!reader.ok()) return reader.status();
  auto service = std::make_unique<Service>(loop_io, loop, std::move(config), std::move(metrics),
                                           std::move(token).value(), std::move(reader).value());
  if (Status s = service->Listen(); !s.ok()) return s;
  return std::unique_ptr<ApiService>(std::move(service));
}

}  // namespace mlcron
