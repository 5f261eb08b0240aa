#include "daemon/config_api.h"

#include <boost/asio/ip/address.hpp>

#include "daemon/config_tiers.h"

namespace mlcron {
namespace {

// "127.0.0.1:8765", "[::1]:8765", "localhost:8765". Returns an error message or "".
std::string ParseListen(const std::string& text, ApiConfig* api) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return Quote(text) + " is not HOST:PORT (e.g. 127.0.0.1:8765)";
  }
  std::string host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec || host.empty()) {
    return Quote(text) + ": " + Quote(host) + " is not an IP address (or localhost)";
  }
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) > 65535) {
    return Quote(text) + ": " + Quote(port) + " is not a port (0-65535)";
  }
  api->host = address.to_string();
  api->port = static_cast<std::uint16_t>(std::stoi(port));
  return "";
}

}  // namespace

bool ApiConfig::loopback() const {
  if (!socket_path.empty()) return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

std::string ApiConfig::ToString() const {
  if (!socket_path.empty()) return "unix:" + socket_path;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

ApiConfig ReadApi(const Field& f, const std::string& base_dir, ErrorSink* errors) {
  ApiConfig api;
  api.pos = f.pos;
  if (!ExpectMap(f, errors)) return api;
  MapReader map(f.value, f.path, f.pos, errors);
  const Field* listen = map.Find("listen");
  const Field* socket = map.Find("socket");
  if (listen && socket) {
    errors->Add(socket->pos, "api: give listen: or socket:, not both");
  } else if (!listen && !socket) {
    errors->Add(f.pos, "api: missing required key \"listen\" (HOST:PORT) or \"socket\" (a path)");
  } else if (listen) {
    if (auto text = ReadString(*listen, errors)) {
      if (std::string why = ParseListen(*text, &api); !why.empty()) {
        errors->Add(listen->pos, "api.listen: " + why);
      }
    }
  } else if (auto path = ReadString(*socket, errors)) {
    if (path->empty()) {
      errors->Add(socket->pos, "api.socket: must not be empty");
    } else {
      api.socket_path = ResolvePath(base_dir, *path);
      // sockaddr_un holds 108 bytes with the terminating NUL.
      if (api.socket_path.size() > 107) {
        errors->Add(socket->pos, "api.socket: " + Quote(api.socket_path) +
                                     " is longer than a Unix socket path may be (107 bytes)");
      }
    }
  }
  if (const Field* t = map.Find("read_timeout")) {
    if (auto v = ReadDuration(*t, errors)) {
      if (v->count() < 1 || v->count() > 3600) {
        errors->Add(t->pos, "api.read_timeout: must be between 1s and 1h");
      } else {
        api.read_timeout = *v;
      }
    }
  }
  if (auto v = map.Int("max_connections", 1, 65536)) api.max_connections = static_cast<int>(*v);
  map.Finish();
  api.enabled = api.port != 0 || !api.host.empty() || !api.socket_path.empty();
  return api;
}

}  // namespace mlcron
