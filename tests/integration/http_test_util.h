// A minimal blocking HTTP/1.1 client for tests of mlcrond's API: one request per
// connection (Connection: close), or raw bytes on a socket for the limit tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace mlcron::testing {

struct HttpReply {
  int status = 0;                              // 0: no (complete) response
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

// "127.0.0.1:8765" → a connected TCP socket, or -1.
inline int HttpConnect(const std::string& address) {
  const size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool HttpSendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Parses one response from `raw`; status 0 while incomplete.
inline HttpReply HttpParse(const std::string& raw) {
  HttpReply r;
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos || raw.size() < 12) return r;
  size_t length = 0;
  size_t at = raw.find("\r\n") + 2;
  while (at < end) {
    const size_t eol = raw.find("\r\n", at);
    const std::string line = raw.substr(at, eol - at);
    const size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = line.substr(colon + 2);
    at = eol + 2;
  }
  if (auto it = r.headers.find("content-length"); it != r.headers.end()) {
    length = std::stoul(it->second);
  }
  if (raw.size() < end + 4 + length) return r;
  r.body = raw.substr(end + 4, length);
  r.status = std::stoi(raw.substr(9, 3));
  return r;
}

// Reads one response, waiting at most `timeout`.
inline HttpReply HttpRead(int fd, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  std::string raw;
  char buf[65536];
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    HttpReply r = HttpParse(raw);
    if (r.status != 0) return r;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return r;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return r;
    raw.append(buf, static_cast<size_t>(n));
  }
}

inline std::string HttpRequestText(const std::string& method, const std::string& target,
                                   const std::string& body = "", const std::string& token = "") {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() || method == "POST") {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return req + "\r\n" + body;
}

// One request on a fresh connection.
inline HttpReply Http(const std::string& address, const std::string& method,
                      const std::string& target, const std::string& body = "",
                      const std::string& token = "") {
  const int fd = HttpConnect(address);
  if (fd < 0) return {};
  HttpSendAll(fd, HttpRequestText(method, target, body, token));
  HttpReply r = HttpRead(fd);
  ::close(fd);
  return r;
}

}  // namespace mlcron::testing
