// The HTTP server's limits against a real socket: keep-alive, the 64 KiB body limit (413),
// the header limit (431), the read timeout closing a slow client, the connection cap
// answering 503, and a Unix socket. The handler echoes the request.
#include "daemon/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

namespace mlcron {
namespace {

using namespace std::chrono_literals;

int ConnectTcp(const std::string& address) {
  const size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void Send(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early (413)
    off += static_cast<size_t>(n);
  }
}

// Reads one response (headers + Content-Length body), or what arrives before EOF/timeout.
std::string ReadResponse(int fd, std::chrono::milliseconds timeout = 3000ms) {
  std::string in;
  char buf[65536];
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const size_t end = in.find("\r\n\r\n");
    if (end != std::string::npos) {
      const size_t cl = in.find("Content-Length: ");
      const size_t len = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
      if (in.size() >= end + 4 + len) return in;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return in;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return in;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return in;
    in.append(buf, static_cast<size_t>(n));
  }
}

// True once the peer has closed (EOF or reset) within `timeout`.
bool ClosedWithin(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, 0) <= 0;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions options = {}) {
    auto server = HttpServer::Start(options, [](HttpRequest r, HttpServer::Respond respond) {
      HttpResponse out;
      out.content_type = "text/plain";
      out.body = r.method + " " + r.target + " auth=" + r.authorization +
                 " body=" + std::to_string(r.body.size());
      // Answer from another thread, as the API does for loop-thread work.
      std::thread([respond, out] { respond(out); }).detach();
    });
    ASSERT_TRUE(server.ok()) << server.message();
    server_ = std::move(server).value();
  }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start();
  int fd = ConnectTcp(server_->address());
  ASSERT_GE(fd, 0);
  Send(fd, "GET /a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n");
  std::string first = ReadResponse(fd);
  EXPECT_TRUE(first.starts_with("HTTP/1.1 200 OK\r\n")) << first;
  EXPECT_NE(first.find("Server: mlcrond\r\n"), std::string::npos) << first;
  EXPECT_TRUE(first.ends_with("\r\n\r\nGET /a auth=Bearer t body=0")) << first;
  Send(fd, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  std::string second = ReadResponse(fd);
  EXPECT_TRUE(second.ends_with("\r\n\r\nPOST /b auth= body=3")) << second;
  ::close(fd);
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413AndClosed) {
  Start();
  int fd = ConnectTcp(server_->address());
  ASSERT_GE(fd, 0);
  const std::string body(64 * 1024 + 1, 'x');
  Send(fd, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n" + body);
  std::string r = ReadResponse(fd);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << r.substr(0, 200);
  EXPECT_TRUE(r.ends_with("{\"error\":\"request body larger than 65536 bytes\"}")) << r;
  EXPECT_TRUE(ClosedWithin(fd, 2000ms));
  ::close(fd);

  // Exactly 64 KiB is fine.
  fd = ConnectTcp(server_->address());
  Send(fd,
       "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n" + std::string(65536, 'x'));
  EXPECT_TRUE(ReadResponse(fd).ends_with("body=65536"));
  ::close(fd);
}

TEST_F(HttpServerTest, HugeHeadersAre431AndGarbageIs400) {
  Start();
  int fd = ConnectTcp(server_->address());
  Send(fd, "GET / HTTP/1.1\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n");
  std::string r = ReadResponse(fd);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n")) << r;
  ::close(fd);
  fd = ConnectTcp(server_->address());
  Send(fd, "NOT HTTP AT ALL\r\n\r\n");
  r = ReadResponse(fd);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 400 Bad Request\r\n")) << r;
  EXPECT_NE(r.find("{\"error\":\"malformed HTTP request: "), std::string::npos) << r;
  ::close(fd);
}

TEST_F(HttpServerTest, ASlowClientIsClosedAfterTheReadTimeout) {
  HttpServerOptions o;
  o.read_timeout = 300ms;
  Start(o);
  int fd = ConnectTcp(server_->address());
  const auto t0 = std::chrono::steady_clock::now();
  Send(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n");  // never finishes its headers
  EXPECT_TRUE(ClosedWithin(fd, 2000ms));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 1500ms);
  ::close(fd);
  // The server still answers others.
  fd = ConnectTcp(server_->address());
  Send(fd, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(ReadResponse(fd).ends_with("GET /fast auth= body=0"));
  ::close(fd);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheCapGet503) {
  HttpServerOptions o;
  o.max_connections = 2;
  Start(o);
  EXPECT_EQ(server_->connection_cap(), 2);
  int a = ConnectTcp(server_->address());
  int b = ConnectTcp(server_->address());
  // Make sure both are accepted before the third arrives.
  Send(a, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  Send(b, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(ReadResponse(a).ends_with("GET /a auth= body=0"));
  ASSERT_TRUE(ReadResponse(b).ends_with("GET /b auth= body=0"));
  int c = ConnectTcp(server_->address());
  std::string r = ReadResponse(c);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 503 Service Unavailable\r\n")) << r;
  EXPECT_TRUE(r.ends_with("{\"error\":\"too many connections; try again later\"}")) << r;
  EXPECT_TRUE(ClosedWithin(c, 2000ms));
  ::close(c);
  ::close(a);
  // A slot is free again once the server sees a's close.
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    int d = ConnectTcp(server_->address());
    Send(d, "GET /d HTTP/1.1\r\nHost: x\r\n\r\n");
    served = ReadResponse(d).ends_with("GET /d auth= body=0");
    ::close(d);
    if (!served) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(served);
  ::close(b);
}

TEST_F(HttpServerTest, ServesAUnixSocketWithMode0660) {
  char pattern[] = "/tmp/mlcron-http-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  HttpServerOptions o;
  o.socket_path = std::string(pattern) + "/api.sock";
  Start(o);
  EXPECT_EQ(server_->address(), "unix:" + o.socket_path);
  EXPECT_EQ(std::filesystem::status(o.socket_path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                std::filesystem::perms::group_read | std::filesystem::perms::group_write);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, o.socket_path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  Send(fd, "GET /u HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(ReadResponse(fd).ends_with("GET /u auth= body=0"));
  ::close(fd);
  server_.reset();
  EXPECT_FALSE(std::filesystem::exists(o.socket_path));
  std::filesystem::remove_all(pattern);
}

TEST(HttpServerCapTest, StaysBelowTheFileLimit) {
  EXPECT_EQ(ConnectionCap(512, 1024), 512);
  EXPECT_EQ(ConnectionCap(512, 600), 472);
  EXPECT_EQ(ConnectionCap(512, 100), 1);
  EXPECT_EQ(ConnectionCap(10, 1 << 20), 10);
}

}  // namespace
}  // namespace mlcron
