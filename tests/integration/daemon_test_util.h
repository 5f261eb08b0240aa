// A small harness for tests that run the real mlcrond (and mlcron) binaries: a temp dir with a
// config, daemons spawned with posix_spawn and their stderr captured to a file, bounded waits
// that poll with short sleeps up to a deadline, /proc readers, and the run history read
// through StateStore. TearDown kills every daemon and every job process it started (all carry
// the environment tag MLCRON_IT_TAG=<temp dir>), even after a failed assertion.
// Not thread-safe: one fixture per test, used from the test's thread.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/state_store.h"

extern char** environ;

namespace mlcron::integration {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

inline const std::string kMlcrond = MLCRON_BINARY_DIR "/daemon/mlcrond";
inline const std::string kMlcron = MLCRON_BINARY_DIR "/cli/mlcron";
inline constexpr char kTagEnv[] = "MLCRON_IT_TAG";

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `text` to `path` in place (open, truncate, write, close), mode 0600.
inline void WriteFileInPlace(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::fchmod(fd, 0600);  // an existing file keeps its old mode otherwise
  ::close(fd);
}

// Writes `text` beside `path`, then renames it over `path`, as most editors do.
inline void WriteFileByRename(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  WriteFileInPlace(tmp, text);
  ASSERT_EQ(::rename(tmp.c_str(), path.c_str()), 0) << std::strerror(errno);
}

// Polls `done` every 20 ms until it holds or `timeout` passes; one final check at the end.
inline bool WaitUntil(const std::function<bool()>& done, Ms timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(20ms);
  }
}

// ---- /proc ----

struct ProcStat {
  pid_t pid = 0;
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
};

inline std::optional<ProcStat> ReadProcStat(pid_t pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 1));
  ProcStat s;
  s.pid = pid;
  rest >> s.state >> s.ppid >> s.pgrp >> s.session;
  if (!rest) return std::nullopt;
  return s;
}

inline std::vector<pid_t> AllPids() {
  std::vector<pid_t> pids;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return pids;
  while (dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (end != entry->d_name && *end == '\0' && pid > 0) pids.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(dir);
  return pids;
}

inline bool EnvironHas(pid_t pid, const std::string& entry) {
  const std::string env = ReadFile("/proc/" + std::to_string(pid) + "/environ");
  size_t begin = 0;
  while (begin < env.size()) {
    size_t end = env.find('\0', begin);
    if (end == std::string::npos) end = env.size();
    if (env.compare(begin, end - begin, entry) == 0) return true;
    begin = end + 1;
  }
  return false;
}

// Live (not zombie) processes other than us whose environment holds every one of `entries`.
inline std::vector<pid_t> LivePidsWithEnv(const std::vector<std::string>& entries) {
  std::vector<pid_t> found;
  for (pid_t pid : AllPids()) {
    if (pid == ::getpid()) continue;
    auto stat = ReadProcStat(pid);
    if (!stat || stat->state == 'Z') continue;
    if (std::all_of(entries.begin(), entries.end(),
                    [&](const std::string& e) { return EnvironHas(pid, e); })) {
      found.push_back(pid);
    }
  }
  return found;
}

// True once `pid` has exited: no /proc entry, or a zombie awaiting its parent.
inline bool ProcessGone(pid_t pid) {
  auto stat = ReadProcStat(pid);
  return !stat || stat->state == 'Z';
}

// Zombie children of `parent`, i.e. processes it has not reaped.
inline std::vector<pid_t> ZombieChildrenOf(pid_t parent) {
  std::vector<pid_t> zombies;
  for (pid_t pid : AllPids()) {
    auto stat = ReadProcStat(pid);
    if (stat && stat->ppid == parent && stat->state == 'Z') zombies.push_back(pid);
  }
  return zombies;
}

// A config with state_dir, log_dir and test-friendly defaults; `tiers` is YAML for the
// tiers: list.
inline std::string ConfigYaml(const std::string& tiers) {
  return "state_dir: ./state\nlog_dir: ./logs\nmax_parallel: 4\n"
         "defaults: {timeout: 1m, retries: 0, retry_delay: 1s, kill_grace: 1s}\n"
         "tiers:\n" +
         tiers;
}
// One tier `t` (schedule `schedule_yaml`, e.g. `every: 1s`) with one job named `name`, whose
// keys `job_yaml` gives as lines indented by 8 spaces.
inline std::string OneJob(const std::string& schedule_yaml, const std::string& name,
                          const std::string& job_yaml) {
  return ConfigYaml("  - tier: 1\n    name: t\n    " + schedule_yaml +
                    "\n    jobs:\n      - name: " + name + "\n" + job_yaml);
}
// A schedule that never comes due during a test: midnight on 1 January.
inline constexpr char kNever[] = "schedule: \"0 0 1 1 *\"";

// ---- child processes ----

// Decodes a wait status: the exit code, or 128 + signal as a shell reports it.
inline int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

// Spawns argv with `env`, stdin from /dev/null, stdout and stderr appended to the given files.
inline pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                   const std::string& out_path, const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  // A clean signal state: gtest or the shell may have left SIGPIPE ignored or signals blocked.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cargv[0], &actions, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -1;
}

// Waits for our child `pid` for at most `timeout`; its wait status, or nullopt if still running.
inline std::optional<int> WaitChild(pid_t pid, Ms timeout) {
  std::optional<int> result;
  WaitUntil(
      [&] {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) result = status;
        return r == pid || (r < 0 && errno == ECHILD);
      },
      timeout);
  return result;
}

// One mlcrond started by the fixture. Its stderr (the log) goes to log_path.
class DaemonProcess {
 public:
  DaemonProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const { return ReadFile(log_path_); }
  bool reaped() const { return wait_status_.has_value(); }

  int CountLog(const std::string& needle) const {
    const std::string log = Log();
    int n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }
  bool WaitForLog(const std::string& needle, Ms timeout = 10s, int count = 1) const {
    return WaitUntil([&] { return CountLog(needle) >= count; }, timeout);
  }
  // The first log line containing `needle`, or "".
  std::string LogLine(const std::string& needle) const {
    std::istringstream in(Log());
    for (std::string line; std::getline(in, line);) {
      if (line.find(needle) != std::string::npos) return line;
    }
    return "";
  }

  void Signal(int sig) const {
    if (!wait_status_) ::kill(pid_, sig);
  }
  // The exit code (128 + signal if killed) once it exits within `timeout`.
  std::optional<int> WaitExit(Ms timeout = 10s) {
    if (!wait_status_) wait_status_ = WaitChild(pid_, timeout);
    if (!wait_status_) return std::nullopt;
    return ExitCodeOf(*wait_status_);
  }
  // SIGTERM, then the exit code within `timeout`.
  std::optional<int> Stop(Ms timeout = 10s) {
    Signal(SIGTERM);
    return WaitExit(timeout);
  }
  // SIGKILL and reap; used for crash tests and by TearDown.
  void Kill() {
    if (wait_status_) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    wait_status_ = status;
  }

 private:
  pid_t pid_;
  std::string log_path_;
  std::optional<int> wait_status_;
};

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The fixture. Each test gets a fresh directory under /tmp (short: the control socket's path
// must fit in sun_path) holding mlcron.yaml, state/ and logs/.
class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/mlcron-it-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr) << std::strerror(errno);
    dir_ = pattern;
    config_path_ = dir_ + "/mlcron.yaml";
  }

  void TearDown() override {
    for (auto& daemon : daemons_) daemon->Kill();
    KillTagged();
    if (subreaper_) {
      ReapStrays();
      ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    }
    // A failed test keeps its directory (config, daemon logs, state) for inspection, as does
    // every test with MLCRON_IT_KEEP=1 in the environment.
    const bool keep = HasFailure() || std::getenv("MLCRON_IT_KEEP") != nullptr;
    std::error_code ec;
    if (!keep) fs::remove_all(dir_, ec);
    if (keep) std::cerr << "[ keeping  ] " << dir_ << " for inspection\n";
  }

  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  std::string state_dir() const { return dir_ + "/state"; }
  std::string db_path() const { return dir_ + "/state/mlcron.db"; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string TagEntry() const { return std::string(kTagEnv) + "=" + dir_; }

  void WriteConfig(const std::string& text) { WriteFileInPlace(config_path_, text); }

  // Starts mlcrond on `config` (default config_path()) with `args`; the environment is ours
  // minus systemd's variables, plus the tag and `extra_env`.
  DaemonProcess* StartDaemon(const std::vector<std::string>& args = {},
                             const std::vector<std::string>& extra_env = {},
                             const std::string& config = "") {
    std::vector<std::string> argv = {kMlcrond, "--config", config.empty() ? config_path_ : config,
                                     "--log-level", "debug"};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log = dir_ + "/mlcrond." + std::to_string(daemons_.size() + 1) + ".log";
    const pid_t pid = Spawn(argv, DaemonEnv(extra_env), log, log);
    EXPECT_GT(pid, 0) << "cannot spawn " << kMlcrond;
    daemons_.push_back(std::make_unique<DaemonProcess>(pid, log));
    return daemons_.back().get();
  }

  // Starts mlcrond and waits for its "ready" line.
  DaemonProcess* StartReady(const std::vector<std::string>& args = {},
                            const std::vector<std::string>& extra_env = {},
                            const std::string& config = "") {
    DaemonProcess* d = StartDaemon(args, extra_env, config);
    EXPECT_TRUE(d->WaitForLog(" ready: ", 15s)) << d->Log();
    return d;
  }

  std::vector<std::string> DaemonEnv(const std::vector<std::string>& extra) const {
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
      const std::string entry(*e);
      const std::string name = entry.substr(0, entry.find('='));
      if (name == "NOTIFY_SOCKET" || name == "WATCHDOG_USEC" || name == "WATCHDOG_PID" ||
          name == "JOURNAL_STREAM" || name.starts_with("LISTEN_") || name == kTagEnv) {
        continue;
      }
      env.push_back(entry);
    }
    env.push_back(TagEntry());
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
  }

  // Runs the mlcron CLI to completion (bounded).
  CliResult RunCli(const std::vector<std::string>& args, Ms timeout = 20s) {
    std::vector<std::string> argv = {kMlcron};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string n = std::to_string(++cli_runs_);
    const std::string out = dir_ + "/cli." + n + ".out", err = dir_ + "/cli." + n + ".err";
    CliResult result;
    const pid_t pid = Spawn(argv, DaemonEnv({}), out, err);
    if (pid <= 0) return result;
    auto status = WaitChild(pid, timeout);
    if (!status) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    } else {
      result.exit_code = ExitCodeOf(*status);
    }
    result.out = ReadFile(out);
    result.err = ReadFile(err);
    return result;
  }

  // Every run recorded in state/mlcron.db, oldest first. Only once a daemon created it.
  std::vector<RunRecord> Runs(const std::string& job = "", const std::string& db = "") const {
    auto store = StateStore::Open(db.empty() ? db_path() : db);
    if (!store.ok()) {
      ADD_FAILURE() << store.message();
      return {};
    }
    RunFilter filter;
    if (!job.empty()) filter.job = job;
    filter.limit = 0;
    auto runs = (*store)->ListRuns(filter);
    if (!runs.ok()) {
      ADD_FAILURE() << runs.message();
      return {};
    }
    std::reverse(runs->begin(), runs->end());
    return *runs;
  }
  std::optional<RunRecord> Run(std::int64_t id) const {
    for (auto& r : Runs()) {
      if (r.id == id) return r;
    }
    return std::nullopt;
  }
  // Waits until some run satisfies `pred`; returns it.
  std::optional<RunRecord> WaitForRun(const std::function<bool(const RunRecord&)>& pred,
                                      Ms timeout = 10s) {
    std::optional<RunRecord> found;
    WaitUntil(
        [&] {
          if (subreaper_) ReapStrays();
          if (!fs::exists(db_path())) return false;
          for (const auto& r : Runs()) {
            if (pred(r)) {
              found = r;
              return true;
            }
          }
          return false;
        },
        timeout);
    return found;
  }
  std::optional<RunRecord> WaitForRunning(const std::string& job, Ms timeout = 10s) {
    return WaitForRun(
        [&](const RunRecord& r) {
          return r.job == job && r.status == RunStatus::kRunning && r.pid > 0;
        },
        timeout);
  }
  std::optional<RunRecord> WaitForSettled(std::int64_t id, Ms timeout = 10s) {
    return WaitForRun(
        [&](const RunRecord& r) { return r.id == id && r.status != RunStatus::kRunning; }, timeout);
  }

  // Job processes of a run started by this test's daemons.
  std::vector<pid_t> RunProcesses(std::int64_t run_id) const {
    return LivePidsWithEnv({"MLCRON_RUN_ID=" + std::to_string(run_id), TagEntry()});
  }
  // Every live process of this test other than the daemons we hold handles to.
  std::vector<pid_t> TaggedJobProcesses() const {
    std::vector<pid_t> pids = LivePidsWithEnv({TagEntry()});
    std::erase_if(pids, [&](pid_t pid) {
      return std::any_of(daemons_.begin(), daemons_.end(),
                         [&](const auto& d) { return d->pid() == pid && !d->reaped(); });
    });
    return pids;
  }

  // Orphans of a SIGKILLed daemon are reparented to the nearest subreaper. Becoming one makes
  // them ours, so the test can see them die (and reaps them: see ReapStrays) instead of
  // leaving them to whatever runs as PID 1 here.
  void BecomeSubreaper() {
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0) << std::strerror(errno);
    subreaper_ = true;
  }
  // Reaps our zombie children that are not daemons we track (their status is kept for them).
  void ReapStrays() {
    for (pid_t pid : ZombieChildrenOf(::getpid())) {
      const bool tracked = std::any_of(daemons_.begin(), daemons_.end(),
                                       [&](const auto& d) { return d->pid() == pid; });
      if (!tracked) ::waitpid(pid, nullptr, WNOHANG);
    }
  }

 private:
  // SIGKILLs every live process carrying our tag until none is left (bounded).
  void KillTagged() {
    const bool clean = WaitUntil(
        [&] {
          if (subreaper_) ReapStrays();
          auto pids = LivePidsWithEnv({TagEntry()});
          for (pid_t pid : pids) ::kill(pid, SIGKILL);
          return pids.empty();
        },
        5s);
    if (!clean) ADD_FAILURE() << "processes tagged " << TagEntry() << " survived SIGKILL";
  }

  std::string dir_;
  std::string config_path_;
  std::vector<std::unique_ptr<DaemonProcess>> daemons_;
  int cli_runs_ = 0;
  bool subreaper_ = false;
};

}  // namespace mlcron::integration
