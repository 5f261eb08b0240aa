// Helpers for the `mlcron` CLI integration tests: run the real binaries without a shell
// (posix_spawn), capture their output with a timeout, write configs into a temporary
// folder, and run a background mlcrond. Every process a test starts carries the variable
// MLCRON_TEST_TAG=<its temp dir>, inherited by the jobs it spawns, so cleanup can kill all of
// them even when an assertion fails midway. Not thread-safe.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace mlcron::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline const fs::path kMlcron = fs::path(MLCRON_BINARY_DIR) / "cli" / "mlcron";
inline const fs::path kMlcrond = fs::path(MLCRON_BINARY_DIR) / "daemon" / "mlcrond";
inline const fs::path kSourceDir = MLCRON_SOURCE_DIR;
inline constexpr const char* kTagVar = "MLCRON_TEST_TAG";

// Sanitizer builds start slowly; every wait in these tests is bounded by this much or less.
inline constexpr auto kTimeout = std::chrono::seconds(20);

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal or the timeout
  std::string out;
  std::string err;
  bool timed_out = false;
};

inline std::ostream& operator<<(std::ostream& os, const RunResult& r) {
  return os << "exit " << r.exit_code << (r.timed_out ? " (timed out)" : "") << "\n--- stdout\n"
            << r.out << "--- stderr\n"
            << r.err;
}

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteFile(const fs::path& path, const std::string& text, fs::perms mode) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  fs::permissions(path, mode);
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Polls `done` every 20 ms until it holds or `timeout` passes. The bounded wait that stands
// in for sleeping (STYLE.md point 8).
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout =
                        std::chrono::duration_cast<std::chrono::milliseconds>(kTimeout)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

// Kills every process whose environment carries MLCRON_TEST_TAG=tag: the binaries a test
// started, their jobs, and anything those left behind.
inline int KillTagged(const std::string& tag) {
  const std::string needle = std::string(kTagVar) + "=" + tag;
  int killed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (pid == ::getpid()) continue;
    const std::string env = ReadFile(entry.path() / "environ");
    size_t pos = 0;
    while (pos < env.size()) {
      const size_t end = env.find('\0', pos);
      const std::string var = env.substr(pos, end == std::string::npos ? end : end - pos);
      if (var == needle) {
        if (::kill(pid, SIGKILL) == 0) ++killed;
        break;
      }
      if (end == std::string::npos) break;
      pos = end + 1;
    }
  }
  return killed;
}

// A process started in the background; killed (with everything tagged) if still alive on
// destruction.
class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { Kill(); }

  // stdout and stderr go to `output` (appended); stdin is /dev/null.
  static std::unique_ptr<Process> Start(const std::vector<std::string>& argv,
                                        const std::string& tag, const fs::path& output) {
    auto p = std::unique_ptr<Process>(new Process());
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    p->pid_ = Spawn(argv, tag, &actions);
    posix_spawn_file_actions_destroy(&actions);
    return p;
  }

  pid_t pid() const { return pid_; }

  // Waits up to `timeout` for the exit; returns the exit code, or nullopt if still running.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    WaitFor([&] { return Poll(); }, timeout);
    return exit_code_;
  }

  // Sends SIGTERM and waits for the exit; the exit code, or nullopt after SIGKILL.
  std::optional<int> Stop(std::chrono::milliseconds timeout = 10s) {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, SIGTERM);
    if (auto rc = Wait(timeout)) return rc;
    Kill();
    return std::nullopt;
  }

  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = 0;
  }

  // Spawns argv without a shell, with MLCRON_TEST_TAG=tag added to this environment.
  static pid_t Spawn(const std::vector<std::string>& argv, const std::string& tag,
                     const posix_spawn_file_actions_t* actions) {
    std::vector<std::string> env_strings = {std::string(kTagVar) + "=" + tag};
    for (char** e = environ; *e != nullptr; ++e) {
      if (!std::string_view(*e).starts_with(std::string(kTagVar) + "=")) env_strings.push_back(*e);
    }
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> c_argv;
    for (auto& s : args) c_argv.push_back(s.data());
    c_argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, c_argv[0], actions, nullptr, c_argv.data(), envp.data());
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
      return 0;
    }
    return pid;
  }

 private:
  bool Poll() {
    if (pid_ <= 0) return true;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r != pid_) return false;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    pid_ = 0;
    return true;
  }

  pid_t pid_ = 0;
  std::optional<int> exit_code_;
};

// Runs argv to completion (killing it after `timeout`) and captures stdout and stderr.
inline RunResult RunBinary(const std::vector<std::string>& argv, const std::string& tag,
                           std::chrono::milliseconds timeout =
                               std::chrono::duration_cast<std::chrono::milliseconds>(kTimeout)) {
  RunResult result;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  const pid_t pid = Process::Spawn(argv, tag, &actions);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Read until the child has exited and both pipes are drained. Never wait for EOF alone:
  // a descendant that inherited a pipe could hold it open.
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  bool exited = pid <= 0;
  int status = 0;
  while (true) {
    if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) exited = true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!exited && left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      exited = true;
    }
    // Once exited, only drain what is already buffered.
    const int wait_ms = exited ? 0 : static_cast<int>(std::min<long>(left.count(), 20));
    const int ready = ::poll(fds, 2, wait_ms);
    if (ready < 0 && errno != EINTR) break;
    bool read_any = false;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
        read_any = true;
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
    if (exited && !read_any) break;
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) ::close(fd.fd);
  }
  if (pid > 0 && !result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

// A fresh folder under /tmp for one test: its config, state and scripts. Removed, and every
// process tagged with it killed, on destruction.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mlcron-cli-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr) << std::strerror(errno);
    dir_ = tmpl;
  }

  void TearDown() override {
    daemon_.reset();
    KillTagged(dir_.string());
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  const fs::path& dir() const { return dir_; }
  fs::path config_path() const { return dir_ / "mlcron.yaml"; }
  fs::path state_dir() const { return dir_ / "state"; }

  // Writes mlcron.yaml (mode 0600) with the given tiers, a UTC zone, state in ./state and
  // short grace periods. `tiers_yaml` is the YAML of the `tiers:` list.
  // Writes to `path` instead when given.
  void WriteConfig(const std::string& tiers_yaml, const std::string& extra = "",
                   const fs::path& path = {}) {
    WriteFile(path.empty() ? config_path() : path,
              "timezone: UTC\n"
              "state_dir: ./state\n"
              "log_dir: ./state/logs\n"
              "max_parallel: 4\n"
              "defaults: {timeout: 5m, kill_grace: 2s, catchup: none}\n" +
                  extra + "tiers:\n" + tiers_yaml,
              fs::perms::owner_read | fs::perms::owner_write);
  }

  // `mlcron ARGS...`; -c CONFIG is the caller's to add.
  RunResult Mlcron(std::vector<std::string> args) {
    args.insert(args.begin(), kMlcron.string());
    return RunBinary(args, dir_.string());
  }

  // `mlcron ARGS... -c CONFIG`.
  RunResult MlcronC(std::vector<std::string> args) {
    args.push_back("-c");
    args.push_back(config_path().string());
    return Mlcron(std::move(args));
  }

  // Starts `mlcron ARGS... -c CONFIG` in the background; output to a file in dir().
  std::unique_ptr<Process> StartMlcron(std::vector<std::string> args, const std::string& log) {
    args.insert(args.begin(), kMlcron.string());
    args.push_back("-c");
    args.push_back(config_path().string());
    return Process::Start(args, dir_.string(), dir_ / log);
  }

  // Starts mlcrond on the config and waits until its control socket answers.
  void StartDaemon(std::vector<std::string> extra_args = {}) {
    std::vector<std::string> argv = {kMlcrond.string(), "-c", config_path().string()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    daemon_ = Process::Start(argv, dir_.string(), daemon_log());
    ASSERT_TRUE(WaitFor([&] { return DaemonAnswers(); })) << "mlcrond did not start:\n"
                                                          << ReadFile(daemon_log());
  }

  // SIGTERM, then expects a clean exit 0.
  void StopDaemon() {
    ASSERT_TRUE(daemon_);
    EXPECT_EQ(daemon_->Stop(), 0) << ReadFile(daemon_log());
    daemon_.reset();
  }

  fs::path daemon_log() const { return dir_ / "mlcrond.log"; }

  // The history as JSON, newest first (`mlcron history --json`).
  nlohmann::json History(const std::string& job = "", int limit = 1000) {
    std::vector<std::string> args = {"history", "--json", "--limit", std::to_string(limit)};
    if (!job.empty()) {
      args.push_back("--job");
      args.push_back(job);
    }
    RunResult r = MlcronC(args);
    EXPECT_EQ(r.exit_code, 0) << r;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array()) << r;
    return j.is_array() ? j : nlohmann::json::array();
  }

  // Waits until some history row satisfies `match`; returns it (or null on timeout).
  nlohmann::json WaitForRun(const std::string& job,
                            const std::function<bool(const nlohmann::json&)>& match) {
    nlohmann::json found;
    WaitFor([&] {
      for (const auto& r : History(job)) {
        if (match(r)) {
          found = r;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  bool DaemonAnswers() {
    const std::string path = (state_dir() / "control.sock").string();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) return false;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
  }

  fs::path dir_;
  std::unique_ptr<Process> daemon_;
};

}  // namespace mlcron::testing
