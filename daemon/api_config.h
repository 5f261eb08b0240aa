// The `api:` section of the config (issue 7): where mlcrond's HTTP API listens (a TCP
// address or a Unix socket) and its limits. Built and checked by config_api.cc; absent means
// the API is off.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "daemon/source_pos.h"

namespace mlcron {

struct ApiConfig {
  bool enabled = false;
  // Exactly one of these: `listen: HOST:PORT` (an IP literal or "localhost"; port 0 picks a
  // free one, for tests) or `socket: PATH` (absolute after loading).
  std::string host;
  std::uint16_t port = 0;
  std::string socket_path;
  // A client that has not sent a whole request this long after connecting (or after its
  // previous response) is disconnected.
  std::chrono::seconds read_timeout{10};
  // Connections beyond this are answered 503 and closed. Lowered at start to stay below the
  // process's file limit.
  int max_connections = 512;
  SourcePos pos;

  // True for a Unix socket and for 127.0.0.0/8 and ::1: only local clients can connect, so
  // GET requests need no token.
  bool loopback() const;
  // "127.0.0.1:8765", "[::1]:8765" or "unix:/run/mlcron/api.sock".
  std::string ToString() const;
};

}  // namespace mlcron
