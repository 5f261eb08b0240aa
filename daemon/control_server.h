// The daemon's control socket: state_dir/control.sock, mode 0600, one JSON request per line
// and one JSON reply per line (see docs/cli-reference.md). Runs on the loop's io_context; the
// handler is called on the loop thread, so it may touch scheduler state directly.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "daemon/status.h"

namespace boost::asio {
class io_context;
}

namespace mlcron {

class ControlServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;
  static Result<std::unique_ptr<ControlServer>> Listen(boost::asio::io_context& io,
                                                       const std::string& path, Handler handler);
  virtual ~ControlServer() = default;
};

// The client side, for the CLI: sends one request and waits up to `timeout_ms` for the reply.
// Errors name the socket ("mlcrond is not running (no /x/control.sock)").
Result<nlohmann::json> ControlRequest(const std::string& path, const nlohmann::json& request,
                                      int timeout_ms = 10000);

inline constexpr size_t kMaxControlLine = 64 * 1024;
// ControlRequest's error when nothing listens on the socket starts with this.
inline constexpr char kDaemonNotRunning[] = "mlcrond is not running";

}  // namespace mlcron
