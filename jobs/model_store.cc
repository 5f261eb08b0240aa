#include "jobs/model_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "daemon/sha256.h"

namespace mlcron {
namespace {

namespace fs = std::filesystem;

// Far above any booster mlcron trains; a bigger file is not a model we wrote.
constexpr std::uintmax_t kMaxModelBytes = std::uintmax_t{4} << 30;

std::string Errno(int err) { return std::strerror(err); }

// The model name becomes a folder name, so it must stay one path component.
Status CheckModelName(const std::string& model) {
  if (model.empty() || model == "." || model == ".." ||
      model.find_first_of(std::string("/\0", 2)) != std::string::npos) {
    return Status::Error("model store: \"" + model + "\" cannot be a folder name");
  }
  return Status::Ok();
}

// fsync of the folder makes the rename itself durable; without it a power loss could leave
// the registry row pointing at a name the folder never recorded.
Status SyncFolder(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Error(Errno(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::Error(Errno(err));
  return Status::Ok();
}

// Opens a fresh temporary file beside the final name. O_EXCL with a random suffix: two
// writers (or a stale file left by a crash) can never share one.
Result<std::pair<int, std::string>> CreateTemp(const std::string& dir, const std::string& base) {
  std::random_device rd;
  for (int attempt = 0; attempt < 16; ++attempt) {
    const std::string tmp = dir + "/." + base + ".tmp." + std::to_string(::getpid()) + "." +
                            std::to_string(rd() & 0xffffff);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd >= 0) return std::make_pair(fd, tmp);
    if (errno != EEXIST) return Status::Error(tmp + ": cannot create: " + Errno(errno));
  }
  return Status::Error(dir + ": cannot create a temporary file (names taken)");
}

}  // namespace

Status WriteAllToFd(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(Errno(errno));
    if (n == 0) return Status::Error("write returned 0 bytes");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Result<StoredModel> StoreModelFile(const std::string& models_dir, const std::string& model,
                                   std::string_view bytes, const ModelWriter& writer) {
  if (Status s = CheckModelName(model); !s.ok()) return s;
  std::error_code ec;
  const fs::path root = fs::absolute(models_dir, ec);
  if (ec) return Status::Error("model store " + models_dir + ": " + ec.message());
  const std::string dir = (root / model).lexically_normal().string();
  StoredModel stored;
  stored.sha256 = Sha256Hex(bytes);
  stored.path = dir + "/" + stored.sha256 + ".ubj";
  const std::string what = "model file " + stored.path + ": ";

  fs::create_directories(dir, ec);
  if (ec) return Status::Error(what + "cannot create " + dir + ": " + ec.message());

  // Content-addressed: the same bytes already stored are the same model. A file of that name
  // with other contents was damaged after it was written; it is never overwritten.
  if (fs::exists(stored.path, ec)) {
    Result<std::string> found = Sha256File(stored.path);
    if (!found.ok()) return Status::Error(what + found.message());
    if (*found != stored.sha256) {
      return Status::Error(what + "exists with other contents (SHA-256 " + found->substr(0, 12) +
                           "…); it is never overwritten: move it aside and retrain");
    }
    // A reused file is as new as a freshly written one: retention and RepairModelStore leave
    // a recently touched file alone, since a row naming it may be about to be registered.
    if (::utimensat(AT_FDCWD, stored.path.c_str(), nullptr, 0) != 0) {
      return Status::Error(what + "cannot refresh its time: " + Errno(errno));
    }
    return stored;
  }

  Result<std::pair<int, std::string>> temp = CreateTemp(dir, stored.sha256 + ".ubj");
  if (!temp.ok()) return Status::Error(what + temp.message());
  const int fd = temp->first;
  const std::string tmp = temp->second;
  // Every failure removes the temporary file: nothing half-written is ever left behind.
  auto fail = [&](const std::string& step, const std::string& why, bool close_fd) -> Status {
    if (close_fd) ::close(fd);
    ::unlink(tmp.c_str());
    return Status::Error(what + step + " failed: " + why);
  };
  if (Status s = writer(fd, bytes); !s.ok()) return fail("writing", s.message(), true);
  if (::fsync(fd) != 0) return fail("fsync", Errno(errno), true);
  if (::close(fd) != 0) return fail("closing", Errno(errno), false);
  if (::rename(tmp.c_str(), stored.path.c_str()) != 0) {
    return fail("renaming " + tmp, Errno(errno), false);
  }
  if (Status s = SyncFolder(dir); !s.ok()) {
    // Not durable means not stored: the registry must never name a file a power loss can lose.
    ::unlink(stored.path.c_str());
    return Status::Error(what + "fsync of " + dir + " failed: " + s.message());
  }
  return stored;
}

Result<std::string> LoadVerifiedModel(const std::string& path, const std::string& expected_sha256) {
  const std::string what = "model file " + path + ": ";
  if (expected_sha256.empty()) return Status::Error(what + "no SHA-256 registered; not loaded");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(what + "cannot open: " + Errno(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::Error(what + "cannot stat: " + Errno(err));
  }
  if (static_cast<std::uintmax_t>(st.st_size) > kMaxModelBytes) {
    ::close(fd);
    return Status::Error(what + "is " + std::to_string(st.st_size) +
                         " bytes, over the 4 GiB a model file may have; not loaded");
  }
  // Hash exactly the bytes returned: re-reading after the check would let a change slip
  // in between.
  std::string bytes;
  bytes.resize(static_cast<size_t>(st.st_size));
  size_t off = 0;
  while (true) {
    if (off == bytes.size()) bytes.resize(bytes.size() + 65536);  // the file grew
    const ssize_t n = ::read(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::Error(what + "reading failed: " + Errno(err));
    }
    if (n == 0) break;
    off += static_cast<size_t>(n);
    if (off > kMaxModelBytes) {
      ::close(fd);
      return Status::Error(what + "grew past 4 GiB while being read; not loaded");
    }
  }
  ::close(fd);
  bytes.resize(off);
  const std::string found = Sha256Hex(bytes);
  if (found != expected_sha256) {
    return Status::Error(what + "SHA-256 mismatch (registered " + expected_sha256.substr(0, 12) +
                         "…, found " + found.substr(0, 12) +
                         "…): the file changed after it was registered; nothing was loaded");
  }
  return bytes;
}

}  // namespace mlcron
