#include "daemon/proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string_view>

#include "daemon/process_launcher.h"

namespace mlcron {
namespace {

// Reads a whole (small, pseudo) file; /proc files report size 0, so read until EOF.
std::optional<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// The fields of /proc/<pid>/stat after the command name, starting with field 3 (state).
// comm may itself contain spaces and ')' so we split after the LAST ')'.
std::optional<std::vector<std::string_view>> StatFieldsAfterComm(const std::string& stat) {
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::vector<std::string_view> fields;
  std::string_view rest(stat);
  rest.remove_prefix(close + 1);
  while (!rest.empty()) {
    size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    size_t end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  return fields;
}

std::optional<std::int64_t> ParseInt(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(copy.c_str(), &end, 10);
  if (errno != 0 || end == copy.c_str() || *end != '\0') return std::nullopt;
  return v;
}

// Every numeric entry of /proc, i.e. every visible process.
std::vector<pid_t> ListPids() {
  std::vector<pid_t> pids;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return pids;
  while (struct dirent* entry = ::readdir(dir)) {
    auto pid = ParseInt(entry->d_name);
    if (pid && *pid > 0) pids.push_back(static_cast<pid_t>(*pid));
  }
  ::closedir(dir);
  return pids;
}

bool EnvironHas(pid_t pid, const std::string& entry) {
  auto environ = ReadWholeFile("/proc/" + std::to_string(pid) + "/environ");
  if (!environ) return false;
  std::string_view rest(*environ);
  while (!rest.empty()) {
    size_t end = rest.find('\0');
    if (rest.substr(0, end) == entry) return true;
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return false;
}

std::optional<pid_t> ReadPgrp(pid_t pid) {
  auto stat = ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  auto fields = StatFieldsAfterComm(*stat);
  if (!fields || fields->size() < 3) return std::nullopt;  // field 5 is index 2
  auto v = ParseInt((*fields)[2]);
  if (!v) return std::nullopt;
  return static_cast<pid_t>(*v);
}

}  // namespace

std::string ReadBootId() {
  // Constant until reboot; read once, since every job start records it.
  static const std::string kBootId = [] {
    auto id = ReadWholeFile("/proc/sys/kernel/random/boot_id");
    if (!id) return std::string();
    while (!id->empty() && (id->back() == '\n' || id->back() == ' ')) id->pop_back();
    return *id;
  }();
  return kBootId;
}

std::optional<std::vector<pid_t>> ListOwnChildren() {
  std::vector<pid_t> children;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return std::nullopt;
  bool any = false;
  while (struct dirent* entry = ::readdir(dir)) {
    if (!ParseInt(entry->d_name)) continue;
    auto text = ReadWholeFile(std::string("/proc/self/task/") + entry->d_name + "/children");
    if (!text) continue;
    any = true;
    std::string_view rest(*text);
    while (!rest.empty()) {
      const size_t space = rest.find(' ');
      auto pid = ParseInt(std::string(rest.substr(0, space)));
      if (pid && *pid > 0) children.push_back(static_cast<pid_t>(*pid));
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
  }
  ::closedir(dir);
  if (!any) return std::nullopt;  // kernel without CONFIG_PROC_CHILDREN
  return children;
}

std::optional<std::uint64_t> ReadStartTicks(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto stat = ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  auto fields = StatFieldsAfterComm(*stat);
  constexpr size_t kStartTimeIndex = 22 - 3;
  if (!fields || fields->size() <= kStartTimeIndex) return std::nullopt;
  auto v = ParseInt((*fields)[kStartTimeIndex]);
  if (!v || *v < 0) return std::nullopt;
  return static_cast<std::uint64_t>(*v);
}

Status BecomeChildSubreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return Status::Error(std::string("prctl(PR_SET_CHILD_SUBREAPER): ") + std::strerror(errno));
  }
  return Status::Ok();
}

std::vector<pid_t> FindProcessesWithEnv(const std::string& name, const std::string& value) {
  const std::string entry = name + "=" + value;
  const pid_t self = ::getpid();
  std::vector<pid_t> found;
  for (pid_t pid : ListPids()) {
    if (pid != self && EnvironHas(pid, entry)) found.push_back(pid);
  }
  return found;
}

int KillRunProcesses(pid_t pgid, std::int64_t run_id, const std::string& state_dir) {
  const pid_t self = ::getpid();
  const pid_t own_group = ::getpgrp();
  // Never signal our own group (or "every process" via pgid <= 1) by mistake.
  const bool group_ok = pgid > 1 && pgid != own_group;
  const std::string entry = std::string(kRunIdEnv) + "=" + std::to_string(run_id);
  const std::string scope = state_dir.empty() ? "" : std::string(kStateDirEnv) + "=" + state_dir;

  std::set<pid_t> killed;
  // A process not yet killed may fork between our scan and its kill, and the new child
  // inherits the marker, so rescan until a pass finds nothing new (bounded).
  for (int pass = 0; pass < 5; ++pass) {
    if (group_ok) ::kill(-pgid, SIGKILL);
    bool any_new = false;
    for (pid_t pid : ListPids()) {
      if (pid == self || killed.count(pid) != 0) continue;
      bool in_group = group_ok && ReadPgrp(pid) == pgid;
      if (!in_group && (!EnvironHas(pid, entry) || (!scope.empty() && !EnvironHas(pid, scope)))) {
        continue;
      }
      if (::kill(pid, SIGKILL) == 0 || in_group) {
        killed.insert(pid);
        any_new = true;
      }
    }
    if (!any_new) break;
  }
  return static_cast<int>(killed.size());
}

}  // namespace mlcron
