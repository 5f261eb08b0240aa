// Helpers shared by the process tests: temp dirs, /proc readers, and bounded waits that
// poll the io_context and the reaper with short sleeps up to a deadline (never one long sleep).
#pragma once

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/proc.h"
#include "daemon/process_launcher.h"
#include "daemon/reaper.h"

namespace mlcron::testing_util {

using namespace std::chrono_literals;

inline std::map<std::string, std::string> BaseEnv() { return {{"PATH", "/usr/bin:/bin"}}; }

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh directory under $TMPDIR, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mlcron-proc-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) ? pattern : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Polls `done` (and the io_context, if given) every few ms until it holds or time runs out.
inline bool PollUntil(const std::function<bool()>& done, boost::asio::io_context* io = nullptr,
                      std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (io) {
      io->restart();
      io->poll();
    }
    if (done()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

// Remembers every ExitInfo the reaper hands out, so waiting for one pid does not lose
// another reaped in the same sweep.
class ExitLog {
 public:
  void Sweep() {
    for (const ExitInfo& info : ReapExited()) exits_[info.pid] = info;
  }
  std::optional<ExitInfo> Get(pid_t pid) const {
    auto it = exits_.find(pid);
    if (it == exits_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<ExitInfo> WaitFor(pid_t pid, boost::asio::io_context* io = nullptr,
                                  std::chrono::milliseconds timeout = 10s) {
    PollUntil(
        [&] {
          Sweep();
          return exits_.count(pid) != 0;
        },
        io, timeout);
    return Get(pid);
  }

 private:
  std::map<pid_t, ExitInfo> exits_;
};

// Fields of /proc/<pid>/stat from field 3 on (index 0 is the state), split after the
// last ')'. Empty if the process is gone.
inline std::vector<std::string> StatFields(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  std::vector<std::string> fields;
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return fields;
  std::istringstream in(stat.substr(close + 1));
  for (std::string f; in >> f;) fields.push_back(f);
  return fields;
}

// "Key:\tvalue" line of /proc/<pid>/status.
inline std::string StatusField(pid_t pid, const std::string& key) {
  std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) == 0) {
      std::string value = line.substr(key.size() + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  }
  return "";
}

// Our children that are zombies (exited, not yet reaped).
inline std::vector<pid_t> ZombieChildren() {
  std::vector<pid_t> zombies;
  const std::string self = std::to_string(::getpid());
  DIR* dir = ::opendir("/proc");
  if (!dir) return zombies;
  while (struct dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    auto fields = StatFields(static_cast<pid_t>(pid));
    if (fields.size() > 1 && fields[0] == "Z" && fields[1] == self) {
      zombies.push_back(static_cast<pid_t>(pid));
    }
  }
  ::closedir(dir);
  return zombies;
}

// Kills whatever a test run left behind, even when an assertion returned early.
class RunCleanup {
 public:
  RunCleanup(std::int64_t run_id) : run_id_(run_id) {}
  void set_pgid(pid_t pgid) { pgid_ = pgid; }
  ~RunCleanup() {
    KillRunProcesses(pgid_, run_id_);
    PollUntil([&] {
      ReapExited();
      return FindProcessesWithEnv(kRunIdEnv, std::to_string(run_id_)).empty();
    });
  }

 private:
  std::int64_t run_id_;
  pid_t pgid_ = 0;
};

// Distinct per test process so parallel ctest runs never see each other's markers.
inline std::int64_t UniqueRunId(int salt) {
  return static_cast<std::int64_t>(::getpid()) * 1000 + salt;
}

}  // namespace mlcron::testing_util
