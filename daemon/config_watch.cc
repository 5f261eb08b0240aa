#include "daemon/config_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mlcron {
namespace {

namespace asio = boost::asio;

class InotifyConfigWatch final : public ConfigWatch {
 public:
  InotifyConfigWatch(asio::io_context& io, int fd, std::string name, std::function<void()> cb)
      : stream_(io, fd), name_(std::move(name)), on_change_(std::move(cb)) {}

  void Read() {
    stream_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [this](boost::system::error_code ec) {
                         if (ec) return;
                         bool ours = false;
                         for (;;) {
                           ssize_t n = ::read(stream_.native_handle(), buf_.data(), buf_.size());
                           if (n <= 0) break;
                           for (ssize_t off = 0; off < n;) {
                             auto* ev = reinterpret_cast<inotify_event*>(buf_.data() + off);
                             if (ev->len > 0 && name_ == ev->name) ours = true;
                             off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
                           }
                         }
                         if (ours) on_change_();
                         Read();
                       });
  }

 private:
  asio::posix::stream_descriptor stream_;
  std::string name_;
  std::function<void()> on_change_;
  alignas(inotify_event) std::array<char, 8192> buf_{};
};

}  // namespace

Result<std::unique_ptr<ConfigWatch>> ConfigWatch::Start(asio::io_context& io,
                                                        const std::string& path,
                                                        std::function<void()> on_change) {
  const std::filesystem::path file(path);
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Status::Error(std::string("inotify: ") + std::strerror(errno));
  const std::string dir = file.parent_path().string();
  if (::inotify_add_watch(fd, dir.c_str(),
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB) < 0) {
    const int err = errno;
    ::close(fd);
    return Status::Error("inotify on " + dir + ": " + std::strerror(err));
  }
  auto watch =
      std::make_unique<InotifyConfigWatch>(io, fd, file.filename().string(), std::move(on_change));
  watch->Read();
  return std::unique_ptr<ConfigWatch>(std::move(watch));
}

}  // namespace mlcron
