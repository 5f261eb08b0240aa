#include "daemon/state_owner.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace mlcron {

Status SwitchToStateOwner(const std::string& state_dir) {
  if (::geteuid() != 0) return Status::Ok();
  struct stat st {};
  if (::stat(state_dir.c_str(), &st) != 0 || st.st_uid == 0) return Status::Ok();
  const std::string owner =
      "state_dir " + state_dir + " belongs to uid " + std::to_string(st.st_uid);
  errno = 0;
  const struct passwd* pw = ::getpwuid(st.st_uid);
  if (pw == nullptr) {
    // Switching to a bare uid would work, but then the service (User=mlcron) and this
    // process would disagree about who owns the state; a removed user is an operator's
    // mistake to fix, not to paper over.
    return Status::Error(owner +
                         ", which has no user (was the mlcron user removed? `systemd-sysusers "
                         "mlcron.conf` creates it again; then `chown -R mlcron:mlcron " +
                         state_dir + "` and the log_dir); refusing to run as root there");
  }
  const std::string name = pw->pw_name;
  // Groups first: after setuid we could no longer change them.
  if (::initgroups(name.c_str(), st.st_gid) != 0 || ::setgid(st.st_gid) != 0 ||
      ::setuid(st.st_uid) != 0) {
    return Status::Error(owner + " (" + name + ") and switching to it failed (" +
                         std::strerror(errno) + "); refusing to write root-owned files there");
  }
  return Status::Ok();
}

}  // namespace mlcron
