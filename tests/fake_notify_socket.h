// FakeNotifySocket plays systemd's side of $NOTIFY_SOCKET in tests: a bound AF_UNIX datagram
// socket whose path() goes into NOTIFY_SOCKET, and Receive() returns one notification.
// Header-only so any test target can use it. Not thread-safe.
#pragma once

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace mlcron {

class FakeNotifySocket {
 public:
  // kPath binds a socket file in a fresh temp directory; kAbstract binds a Linux abstract
  // name, spelled "@name" in NOTIFY_SOCKET as systemd does for some containers.
  enum class Kind { kPath, kAbstract };

  explicit FakeNotifySocket(Kind kind = Kind::kPath) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socklen_t len = 0;
    if (kind == Kind::kPath) {
      // /tmp rather than $TMPDIR: sun_path holds only 108 bytes.
      char dir[] = "/tmp/mlcron-notify-XXXXXX";
      if (mkdtemp(dir) == nullptr) {
        throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
      }
      dir_ = dir;
      path_ = dir_ + "/notify";
      std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path_.size() + 1);
    } else {
      static std::atomic<int> counter{0};
      const std::string name =
          "mlcron-notify-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
      path_ = "@" + name;
      // Abstract names start with a NUL byte and are not NUL-terminated.
      std::memcpy(addr.sun_path + 1, name.data(), name.size());
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    }
    if (bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
      const std::string error = std::strerror(errno);
      Cleanup();
      throw std::runtime_error("bind " + path_ + ": " + error);
    }
  }
  FakeNotifySocket(const FakeNotifySocket&) = delete;
  FakeNotifySocket& operator=(const FakeNotifySocket&) = delete;
  ~FakeNotifySocket() { Cleanup(); }

  // The value for NOTIFY_SOCKET.
  const std::string& path() const { return path_; }

  // One datagram (one notification, e.g. "READY=1\nSTATUS=…"), or nullopt after `timeout`.
  std::optional<std::string> Receive(std::chrono::milliseconds timeout) {
    pollfd pfd{fd_, POLLIN, 0};
    int ready = 0;
    do {
      ready = poll(&pfd, 1, static_cast<int>(timeout.count()));
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0) return std::nullopt;
    std::vector<char> buffer(64 * 1024);  // systemd accepts notifications up to this size
    const ssize_t n = recv(fd_, buffer.data(), buffer.size(), 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer.data(), static_cast<size_t>(n));
  }

 private:
  void Cleanup() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  int fd_ = -1;
  std::string path_;
  std::string dir_;  // the temp directory of a kPath socket, removed on destruction
};

}  // namespace mlcron
