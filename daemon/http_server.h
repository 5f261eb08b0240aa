// A small HTTP/1.1 server (Boost.Beast) for mlcrond's API, on a thread and io_context of its
// own so that no client can delay the scheduler's loop. It enforces the limits of issue 7:
// header and body sizes, a read timeout per request, and a cap on open connections beyond
// which a client gets 503 and is closed. What a request means is the handler's business.
// The handler runs on the server thread; its Respond may be called once, from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daemon/status.h"

namespace mlcron {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // "/runs?job=a&limit=5"
  std::string authorization;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra, e.g. Cache-Control
};

struct HttpServerOptions {
  // TCP when socket_path is empty.
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (see HttpServer::address)
  std::string socket_path;
  std::chrono::milliseconds read_timeout{10000};
  int max_connections = 512;
  std::size_t body_limit = 64 * 1024;
  std::size_t header_limit = 8 * 1024;
  std::string server_name = "mlcrond";
};

class HttpServer {
 public:
  using Respond = std::function<void(HttpResponse)>;
  using Handler = std::function<void(HttpRequest request, Respond respond)>;

  // Binds and starts the server thread. Errors name the address.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   Handler handler);
  virtual ~HttpServer() = default;  // stops the thread and closes every connection

  // Where it listens: "127.0.0.1:41234" (the real port) or "unix:/run/mlcron/api.sock".
  virtual std::string address() const = 0;
  // The connection cap in force (max_connections, lowered below the file limit).
  virtual int connection_cap() const = 0;
};

// max_connections lowered so that the API alone cannot exhaust the process's file limit
// (`nofile`): a reserve of 128 descriptors is kept for jobs, logs and databases.
int ConnectionCap(int max_connections, std::uint64_t nofile);

// The JSON error body every failure carries: {"error": "message"}.
HttpResponse JsonError(int status, const std::string& message);

}  // namespace mlcron
