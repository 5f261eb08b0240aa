#include "daemon/api_token.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mlcron {
namespace {

constexpr size_t kTokenBytes = 32;

Result<std::string> ReadToken(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::Error(path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Error(path + ": not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::Error(path + ": readable by others (mode " +
                         std::to_string((st.st_mode >> 6) & 7) +
                         std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
                         "); chmod 600 it or delete it for a new token");
  }
  char buf[256];
  const ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  if (n < 0) return Status::Error(path + ": " + std::strerror(errno));
  std::string token(buf, static_cast<size_t>(n));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  if (token.size() != 2 * kTokenBytes ||
      token.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Status::Error(path +
                         ": line 1: not a token of 64 hex digits; delete the file for a "
                         "new token");
  }
  return token;
}

}  // namespace

Result<std::string> LoadOrCreateApiToken(const std::string& state_dir) {
  const std::string path = state_dir + "/api.token";
  unsigned char bytes[kTokenBytes];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return Status::Error("api token: no random bytes");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 15]);
  }
  // O_EXCL: a token that exists is never replaced, so clients keep working across restarts.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return ReadToken(path);
    return Status::Error(path + ": " + std::strerror(errno));
  }
  const std::string line = token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status::Error(path + ": cannot write: " + std::strerror(err));
  }
  return token;
}

}  // namespace mlcron
