#include "daemon/log_capture.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace mlcron {
namespace {

namespace asio = boost::asio;

// Writes all of [data, data+size) to a regular file; false on a real error.
bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Everything a pending read handler touches lives here, owned jointly by the LogCapture and
// by each in-flight handler. Finish() or destruction may run while a read is pending; the
// handler then still finds valid memory, sees `closed`, and returns.
struct CaptureState {
  CaptureState(asio::io_context& io, int read_fd, int file_fd, std::uint64_t max_bytes)
      : pipe(io, read_fd), file_fd(file_fd), max_bytes(max_bytes) {}

  asio::posix::stream_descriptor pipe;
  int file_fd;
  std::uint64_t max_bytes;
  std::uint64_t written = 0;
  std::uint64_t dropped = 0;
  bool last_was_newline = true;
  bool closed = false;
  bool eof = false;
  std::array<char, 64 * 1024> buffer{};

  // Keeps the first max_bytes and counts the rest: the reader must keep consuming so the
  // child never blocks on a full pipe.
  void Append(const char* data, size_t size) {
    std::uint64_t room = max_bytes > written ? max_bytes - written : 0;
    size_t keep = static_cast<size_t>(std::min<std::uint64_t>(room, size));
    if (keep > 0 && WriteAll(file_fd, data, keep)) {
      written += keep;
      last_was_newline = data[keep - 1] == '\n';
    }
    dropped += size - keep;
  }
};

// Reads whatever the pipe holds now, without blocking. Returns false at EOF or on error.
bool DrainAvailable(CaptureState& s, std::size_t limit) {
  const int fd = s.pipe.native_handle();
  std::size_t total = 0;
  while (total < limit) {
    ssize_t n = ::read(fd, s.buffer.data(), s.buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    if (n == 0) {
      s.eof = true;
      return false;
    }
    s.Append(s.buffer.data(), static_cast<std::size_t>(n));
    total += static_cast<std::size_t>(n);
  }
  return true;
}

// We wait for readiness and read ourselves rather than using async_read_some: a completed
// but not yet dispatched async_read_some would hold bytes Finish() can no longer see.
void WaitReadable(const std::shared_ptr<CaptureState>& state) {
  if (state->closed || state->eof) return;
  state->pipe.async_wait(asio::posix::descriptor_base::wait_read,
                         [state](const boost::system::error_code& ec) {
                           if (state->closed || ec) return;  // Finish() ran, or cancelled
                           // Bounded per wake-up so a chatty child cannot starve the loop.
                           if (DrainAvailable(*state, 1 << 20)) WaitReadable(state);
                         });
}

constexpr std::size_t kMaxFinalDrain = 8 << 20;

class PipeLogCapture : public LogCapture {
 public:
  PipeLogCapture(std::shared_ptr<CaptureState> state, int write_fd)
      : state_(std::move(state)), write_fd_(write_fd) {}
  ~PipeLogCapture() override { Finish(); }

  int write_fd() const override { return write_fd_; }

  void CloseWriteEnd() override {
    if (write_fd_ >= 0) ::close(write_fd_);
    write_fd_ = -1;
  }

  void Start() override { WaitReadable(state_); }

  void Finish() override {
    CloseWriteEnd();
    CaptureState& s = *state_;
    if (s.closed) return;
    s.closed = true;
    boost::system::error_code ignored;
    s.pipe.cancel(ignored);
    // Drain only what is already buffered. Waiting for EOF could hang forever: an escaped
    // grandchild may hold the write end open (and the bound stops one that keeps writing).
    if (!s.eof) (void)DrainAvailable(s, kMaxFinalDrain);
    if (s.dropped > 0) {
      std::string notice = s.last_was_newline ? "" : "\n";
      notice += "[mlcron] output truncated at " + std::to_string(s.max_bytes) + " bytes (" +
                std::to_string(s.dropped) + " bytes dropped)\n";
      (void)WriteAll(s.file_fd, notice.data(), notice.size());
    }
    s.pipe.close(ignored);
    ::close(s.file_fd);
    s.file_fd = -1;
  }

  std::uint64_t bytes_written() const override { return state_->written; }

 private:
  std::shared_ptr<CaptureState> state_;
  int write_fd_;
};

Status ErrnoError(const std::string& what, const std::string& path) {
  return Status::Error(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<LogCapture>> LogCapture::Open(asio::io_context& io, const std::string& path,
                                                     std::uint64_t max_bytes) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return Status::Error("log directory " + parent.string() + ": " + ec.message());
  }
  int file_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (file_fd < 0) return ErrnoError("log file", path);

  // Both ends close-on-exec: the launcher dup2()s the write end onto the child's 1 and 2,
  // which clears the flag on those copies only.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    Status error = ErrnoError("pipe for", path);
    ::close(file_fd);
    return error;
  }
  int flags = ::fcntl(fds[0], F_GETFL);
  if (flags < 0 || ::fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) != 0) {
    Status error = ErrnoError("pipe for", path);
    ::close(fds[0]);
    ::close(fds[1]);
    ::close(file_fd);
    return error;
  }

  std::shared_ptr<CaptureState> state;
  try {
    state = std::make_shared<CaptureState>(io, fds[0], file_fd, max_bytes);
  } catch (const std::exception& e) {  // asio could not register the descriptor
    ::close(fds[0]);
    ::close(fds[1]);
    ::close(file_fd);
    return Status::Error("pipe for " + path + ": " + e.what());
  }
  return std::unique_ptr<LogCapture>(new PipeLogCapture(std::move(state), fds[1]));
}

}  // namespace mlcron
