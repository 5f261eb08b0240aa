#include "daemon/http_server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

namespace mlcron {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

HttpResponse JsonError(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = nlohmann::json{{"error", message}}.dump();
  return r;
}

int ConnectionCap(int max_connections, std::uint64_t nofile) {
  constexpr std::uint64_t kReserve = 128;
  const std::uint64_t room = nofile > kReserve ? nofile - kReserve : 1;
  return static_cast<int>(std::min<std::uint64_t>(static_cast<std::uint64_t>(max_connections),
                                                  std::max<std::uint64_t>(room, 1)));
}

namespace {

// What a refused connection reads before it is closed.
const std::string& BusyReply() {
  static const std::string reply = [] {
    const std::string body = R"({"error":"too many connections; try again later"})";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\nRetry-After: 1\r\n\r\n" + body;
  }();
  return reply;
}

struct Shared {
  HttpServerOptions options;
  HttpServer::Handler handler;
  std::atomic<int> open{0};  // sessions alive; read by the acceptor, any thread may end one
  // Set once the server stops: a late Respond from another thread must not post to a
  // stopped io_context.
  std::mutex mu;
  bool stopped = false;  // guarded by mu
  // Sessions whose handler has not answered yet (server thread only). Respond holds only a
  // weak reference, so a session is always destroyed on the server thread.
  std::set<std::shared_ptr<void>> waiting;
};

template <class Protocol>
class Session : public std::enable_shared_from_this<Session<Protocol>> {
 public:
  using Stream = beast::basic_stream<Protocol>;

  Session(typename Protocol::socket socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    shared_->open.fetch_add(1);
  }
  ~Session() { shared_->open.fetch_sub(1); }

  void Start() { Read(); }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.header_limit));
    parser_->body_limit(shared_->options.body_limit);
    // The whole request must arrive within read_timeout: a slow client holds a slot for
    // that long at most.
    stream_.expires_after(shared_->options.read_timeout);
    auto self = this->shared_from_this();
    http::async_read(stream_, buffer_, *parser_,
                     [self](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return Close();
    }
    if (ec == beast::error::timeout) {
      spdlog::debug("api: closing a connection that sent no whole request within {} ms",
                    shared_->options.read_timeout.count());
      return Close();
    }
    if (ec == asio::error::operation_aborted) return;
    if (ec == http::error::body_limit) {
      return Write(JsonError(413, "request body larger than " +
                                      std::to_string(shared_->options.body_limit) + " bytes"),
                   false);
    }
    if (ec == http::error::header_limit) {
      return Write(JsonError(431, "request headers larger than " +
                                      std::to_string(shared_->options.header_limit) + " bytes"),
                   false);
    }
    if (ec) return Write(JsonError(400, "malformed HTTP request: " + ec.message()), false);

    auto& message = parser_->get();
    keep_alive_ = message.keep_alive();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.authorization = std::string(message[http::field::authorization]);
    request.body = std::move(message.body());
    // No timer runs while the handler works: the request is complete.
    stream_.expires_never();
    auto self = this->shared_from_this();
    shared_->waiting.insert(self);
    std::weak_ptr<Session> weak = self;
    auto shared = shared_;
    auto executor = stream_.get_executor();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    shared_->handler(std::move(request), [weak, shared, executor, answered](HttpResponse response) {
      if (answered->exchange(true)) return;
      std::lock_guard<std::mutex> lock(shared->mu);
      if (shared->stopped) return;
      asio::post(executor, [weak, shared, r = std::move(response)]() mutable {
        auto session = weak.lock();
        if (!session) return;
        shared->waiting.erase(session);
        session->Write(std::move(r), session->keep_alive_);
      });
    });
  }

  void Write(HttpResponse r, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<http::status>(r.status));
    res->set(http::field::server, shared_->options.server_name);
    res->set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res->set(name, value);
    res->keep_alive(keep_alive);
    res->body() = std::move(r.body);
    res->prepare_payload();
    stream_.expires_after(shared_->options.read_timeout);
    auto self = this->shared_from_this();
    http::async_write(stream_, *res, [self, res](beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive()) return self->Close();
      self->Read();
    });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(Protocol::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  Stream stream_;
  std::shared_ptr<Shared> shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = false;
};

template <class Protocol>
class Listener {
 public:
  Listener(asio::io_context& io, std::shared_ptr<Shared> shared, int cap)
      : acceptor_(io), retry_(io), shared_(std::move(shared)), cap_(cap) {}

  typename Protocol::acceptor& acceptor() { return acceptor_; }

  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, typename Protocol::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        // Out of descriptors (or similar): wait a little rather than spin on the error.
        spdlog::warn("api: accept: {}", ec.message());
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait([this](beast::error_code e) {
          if (!e) Accept();
        });
        return;
      }
      if (shared_->open.load() >= cap_) {
        Refuse(socket);
      } else {
        std::make_shared<Session<Protocol>>(std::move(socket), shared_)->Start();
      }
      Accept();
    });
  }

  void Close() {
    beast::error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
  }

 private:
  // Beyond the cap: a short 503 written without waiting (it fits any socket buffer), then
  // close. The client sees an answer, not a reset.
  static void Refuse(typename Protocol::socket& socket) {
    beast::error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(asio::buffer(BusyReply()), ec);
    socket.shutdown(Protocol::socket::shutdown_send, ec);
    // Read what the client already sent: closing with unread input would reset the
    // connection, and the client could lose the 503 before reading it.
    char sink[4096];
    for (int i = 0; i < 16 && !ec; ++i) socket.read_some(asio::buffer(sink), ec);
    socket.close(ec);
  }

  typename Protocol::acceptor acceptor_;
  asio::steady_timer retry_;
  std::shared_ptr<Shared> shared_;
  int cap_;
};

class BeastHttpServer final : public HttpServer {
 public:
  BeastHttpServer(const HttpServerOptions& options, Handler handler)
      : work_(io_.get_executor()), shared_(std::make_shared<Shared>()) {
    shared_->options = options;
    shared_->handler = std::move(handler);
    rlimit rl{};
    const std::uint64_t nofile =
        ::getrlimit(RLIMIT_NOFILE, &rl) == 0 ? static_cast<std::uint64_t>(rl.rlim_cur) : 1024;
    cap_ = ConnectionCap(options.max_connections, nofile);
  }

  ~BeastHttpServer() override {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->stopped = true;
    }
    asio::post(io_, [this] {
      if (tcp_) tcp_->Close();
      if (unix_) unix_->Close();
      io_.stop();
    });
    work_.reset();
    if (thread_.joinable()) thread_.join();
    shared_->waiting.clear();  // before io_ goes: their sockets belong to it
    if (!shared_->options.socket_path.empty()) {
      std::error_code ec;
      std::filesystem::remove(shared_->options.socket_path, ec);
    }
  }

  Status Bind() {
    const HttpServerOptions& o = shared_->options;
    beast::error_code ec;
    if (o.socket_path.empty()) {
      using asio::ip::tcp;
      auto address = asio::ip::make_address(o.host, ec);
      if (ec) return Status::Error("api listen " + o.host + ": " + ec.message());
      tcp_ = std::make_unique<Listener<tcp>>(io_, shared_, cap_);
      auto& a = tcp_->acceptor();
      const tcp::endpoint endpoint(address, o.port);
      a.open(endpoint.protocol(), ec);
      if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) a.bind(endpoint, ec);
      if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return Status::Error("api listen " + Join(o.host, o.port) + ": " + ec.message());
      const auto bound = a.local_endpoint(ec);
      address_ = Join(bound.address().to_string(), bound.port());
      tcp_->Accept();
    } else {
      using asio::local::stream_protocol;
      std::error_code fs_ec;
      std::filesystem::remove(o.socket_path, fs_ec);  // stale: the daemon lock says we own it
      unix_ = std::make_unique<Listener<stream_protocol>>(io_, shared_, cap_);
      auto& a = unix_->acceptor();
      // 0660 from the start: a reverse proxy in the socket's group may connect.
      const mode_t old = ::umask(0117);
      a.open(stream_protocol(), ec);
      if (!ec) a.bind(stream_protocol::endpoint(o.socket_path), ec);
      ::umask(old);
      if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return Status::Error("api socket " + o.socket_path + ": " + ec.message());
      address_ = "unix:" + o.socket_path;
      unix_->Accept();
    }
    thread_ = std::thread([this] { io_.run(); });
    return Status::Ok();
  }

  std::string address() const override { return address_; }
  int connection_cap() const override { return cap_; }

 private:
  static std::string Join(const std::string& host, std::uint16_t port) {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }

  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::shared_ptr<Shared> shared_;
  int cap_ = 0;
  std::unique_ptr<Listener<asio::ip::tcp>> tcp_;
  std::unique_ptr<Listener<asio::local::stream_protocol>> unix_;
  std::string address_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      Handler handler) {
  auto server = std::make_unique<BeastHttpServer>(options, std::move(handler));
  if (Status s = server->Bind(); !s.ok()) return s;
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace mlcron
