#include "daemon/clock_jump.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace mlcron {
namespace {

namespace asio = boost::asio;

bool Arm(int fd) {
  // An absolute expiry far in the future: the timer never fires, it only gets cancelled
  // (read() fails with ECANCELED) when the realtime clock is set.
  itimerspec spec{};
  spec.it_value.tv_sec = 4102444800;  // 2100-01-01
  return ::timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &spec, nullptr) == 0;
}

class TimerfdClockJumpWatch final : public ClockJumpWatch {
 public:
  TimerfdClockJumpWatch(asio::io_context& io, int fd, std::function<void()> cb)
      : stream_(io, fd), on_jump_(std::move(cb)) {}

  void Wait() {
    stream_.async_wait(
        asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
          if (ec) return;
          std::uint64_t expirations;
          ssize_t n = ::read(stream_.native_handle(), &expirations, sizeof(expirations));
          if (n < 0 && errno == ECANCELED) {
            Arm(stream_.native_handle());
            on_jump_();
          }
          Wait();
        });
  }

 private:
  asio::posix::stream_descriptor stream_;
  std::function<void()> on_jump_;
};

}  // namespace

Result<std::unique_ptr<ClockJumpWatch>> ClockJumpWatch::Start(asio::io_context& io,
                                                              std::function<void()> on_jump) {
  int fd = ::timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) return Status::Error(std::string("timerfd_create: ") + std::strerror(errno));
  if (!Arm(fd)) {
    const int err = errno;
    ::close(fd);
    return Status::Error(std::string("timerfd_settime: ") + std::strerror(err));
  }
  auto watch = std::make_unique<TimerfdClockJumpWatch>(io, fd, std::move(on_jump));
  watch->Wait();
  return std::unique_ptr<ClockJumpWatch>(std::move(watch));
}

}  // namespace mlcron
