#include "daemon/control_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mlcron {
namespace {

namespace asio = boost::asio;
using asio::local::stream_protocol;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(stream_protocol::socket socket, const ControlServer::Handler* handler)
      : socket_(std::move(socket)), buffer_(kMaxControlLine), handler_(handler) {}

  void Start() {
    auto self = shared_from_this();
    asio::async_read_until(socket_, buffer_, '\n',
                           [self](boost::system::error_code ec, size_t n) { self->OnLine(ec, n); });
  }

 private:
  void OnLine(boost::system::error_code ec, size_t n) {
    nlohmann::json reply;
    if (ec) {
      if (ec != asio::error::not_found) return;  // peer went away
      reply = {{"ok", false}, {"error", "request longer than 64 KiB"}};
    } else {
      std::string line(asio::buffers_begin(buffer_.data()),
                       asio::buffers_begin(buffer_.data()) + static_cast<std::ptrdiff_t>(n));
      auto request = nlohmann::json::parse(line, nullptr, false);
      if (request.is_discarded() || !request.is_object()) {
        reply = {{"ok", false}, {"error", "request is not a JSON object"}};
      } else {
        reply = (*handler_)(request);
      }
    }
    out_ = reply.dump() + "\n";
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(out_),
                      [self](boost::system::error_code, size_t) { self->socket_.close(); });
  }

  stream_protocol::socket socket_;
  asio::streambuf buffer_;
  const ControlServer::Handler* handler_;
  std::string out_;
};

class AsioControlServer final : public ControlServer {
 public:
  AsioControlServer(asio::io_context& io, Handler handler)
      : acceptor_(io), handler_(std::move(handler)) {}

  Status Listen(const std::string& path) {
    path_ = path;
    std::error_code fs_ec;
    std::filesystem::remove(path, fs_ec);  // stale socket: the daemon lock says we own it
    boost::system::error_code ec;
    // Created 0600 from the start: the umask applies at bind time, chmod would race.
    const mode_t old = ::umask(0177);
    acceptor_.open(stream_protocol(), ec);
    if (!ec) acceptor_.bind(stream_protocol::endpoint(path), ec);
    ::umask(old);
    if (!ec) acceptor_.listen(16, ec);
    if (ec) return Status::Error("control socket " + path + ": " + ec.message());
    Accept();
    return Status::Ok();
  }

  ~AsioControlServer() override {
    boost::system::error_code ec;
    acceptor_.close(ec);
    std::error_code fs_ec;
    std::filesystem::remove(path_, fs_ec);
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, stream_protocol::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Session>(std::move(socket), &handler_)->Start();
      Accept();
    });
  }

  stream_protocol::acceptor acceptor_;
  Handler handler_;
  std::string path_;
};

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::Listen(asio::io_context& io,
                                                             const std::string& path,
                                                             Handler handler) {
  auto server = std::make_unique<AsioControlServer>(io, std::move(handler));
  if (Status s = server->Listen(path); !s.ok()) return s;
  return std::unique_ptr<ControlServer>(std::move(server));
}

Result<nlohmann::json> ControlRequest(const std::string& path, const nlohmann::json& request,
                                      int timeout_ms) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return Status::Error(path + ": path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Error(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == ENOENT || err == ECONNREFUSED) {
      return Status::Error(std::string(kDaemonNotRunning) + " (nothing listens on " + path + ")");
    }
    return Status::Error(path + ": " + std::strerror(err));
  }
  const std::string line = request.dump() + "\n";
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    ::close(fd);
    return Status::Error(path + ": send failed");
  }
  std::string reply;
  char buf[4096];
  while (reply.find('\n') == std::string::npos && reply.size() < kMaxControlLine * 16) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) {
      ::close(fd);
      return Status::Error(path + ": no reply from mlcrond within " +
                           std::to_string(timeout_ms / 1000) + "s");
    }
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto json = nlohmann::json::parse(reply, nullptr, false);
  if (json.is_discarded()) return Status::Error(path + ": malformed reply from mlcrond");
  return json;
}

}  // namespace mlcron
