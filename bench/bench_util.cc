#include "bench/bench_util.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace mlcron::bench {

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Whether an inherited variable would change the daemon's behaviour under test: with
// systemd's variables set it would arm its watchdog and talk to a socket that is not ours.
bool Dropped(const std::string& entry) {
  for (const char* name : {"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID="}) {
    if (entry.starts_with(name)) return true;
  }
  return false;
}

std::int64_t StatusField(const std::string& text, const std::string& key) {
  const auto at = text.find("\n" + key + ":");
  if (at == std::string::npos) return 0;
  return std::strtoll(text.c_str() + at + key.size() + 2, nullptr, 10);
}

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::int64_t RealtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void SleepUntilRealtimeNs(std::int64_t t) {
  timespec ts{static_cast<time_t>(t / 1'000'000'000), static_cast<long>(t % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

void SleepFor(std::chrono::milliseconds d) {
  SleepUntilRealtimeNs(RealtimeNs() + d.count() * 1'000'000);
}

ScratchDir::ScratchDir(const std::string& tag, bool keep) : keep_(keep) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                      "/mlcron-bench-" + tag + "-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) throw BenchError(Errno("mkdtemp " + templ));
  path_ = templ;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  if (!keep_) fs::remove_all(path_, ignored);
}

void WriteFile0600(const fs::path& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw BenchError(Errno("open " + path.string()));
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int saved = errno;
  close(fd);
  errno = saved;
  if (!ok) throw BenchError(Errno("write " + path.string()));
  if (chmod(path.c_str(), 0600) != 0) throw BenchError(Errno("chmod " + path.string()));
}

pid_t Spawn(const std::vector<std::string>& argv, const fs::path& log,
            const std::vector<std::string>& extra_env) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!Dropped(*e)) env_strings.emplace_back(*e);
  }
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (std::string& s : args) argp.push_back(s.data());
  argp.push_back(nullptr);

  const std::string out = log.empty() ? "/dev/null" : log.string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argp[0], &actions, nullptr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw BenchError("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

int WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  const std::int64_t deadline = MonotonicNs() + timeout.count() * 1'000'000;
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) throw BenchError(Errno("waitpid"));
    if (MonotonicNs() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      throw BenchError("pid " + std::to_string(pid) + " did not exit in time; killed");
    }
    SleepFor(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

Daemon::Daemon(const fs::path& mlcrond, const fs::path& config, const fs::path& state_dir,
               const fs::path& log, bool isolate)
    : state_dir_(state_dir), log_(log) {
  std::vector<std::string> argv = {mlcrond.string(), "--config", config.string(), "--log-level",
                                   "warn"};
  if (isolate) {
    // sh is the namespace's init, so mlcrond stays an ordinary process that takes SIGTERM;
    // --kill-child takes the whole namespace down if unshare itself is killed.
    argv.insert(argv.begin(), {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc",
                               "--kill-child", "/bin/sh", "-c", "\"$@\" & wait $!", "sh"});
  }
  started_ns_ = RealtimeNs();
  pid_ = Spawn(argv, log);
  if (!isolate) daemon_pid_ = pid_;
}

Daemon::~Daemon() {
  if (pid_ <= 0) return;
  kill(daemon_pid_ > 0 ? daemon_pid_ : pid_, SIGTERM);
  try {
    WaitExit(pid_, std::chrono::seconds(10));
  } catch (const BenchError&) {
    // Already killed by WaitExit; nothing more to do while unwinding.
  }
}

void Daemon::WaitReady(std::chrono::milliseconds timeout) {
  const std::int64_t deadline = MonotonicNs() + timeout.count() * 1'000'000;
  const fs::path sock = state_dir_ / "control.sock";
  while (!fs::exists(sock) || daemon_pid_ <= 0) {
    if (daemon_pid_ <= 0) {
      // unshare -> sh (init) -> mlcrond
      for (pid_t init : ChildrenOf(pid_)) {
        for (pid_t child : ChildrenOf(init)) daemon_pid_ = child;
      }
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw BenchError("mlcrond exited during start-up; its log:\n" + Slurp(log_));
    }
    if (MonotonicNs() > deadline) throw BenchError("mlcrond did not become ready in time");
    SleepFor(std::chrono::milliseconds(10));
  }
}

void Daemon::Stop() {
  if (pid_ <= 0) return;
  if (daemon_pid_ <= 0) throw BenchError("Stop() before WaitReady()");
  kill(daemon_pid_, SIGTERM);
  const pid_t pid = pid_;
  pid_ = -1;
  const int code = WaitExit(pid, std::chrono::seconds(30));
  if (code != 0) {
    throw BenchError("mlcrond exited with " + std::to_string(code) + "; its log:\n" + Slurp(log_));
  }
}

ProcSample ReadProc(pid_t pid) {
  ProcSample s;
  const fs::path proc = fs::path("/proc") / std::to_string(pid);
  std::error_code ec;
  for (const auto& task : fs::directory_iterator(proc / "task", ec)) {
    const std::string text = "\n" + Slurp(task.path() / "status");
    s.voluntary_switches += StatusField(text, "voluntary_ctxt_switches");
    s.involuntary_switches += StatusField(text, "nonvoluntary_ctxt_switches");
    ++s.threads;
  }
  if (ec) throw BenchError("cannot read " + (proc / "task").string() + ": " + ec.message());
  const std::string status = "\n" + Slurp(proc / "status");
  s.rss_kb = StatusField(status, "VmRSS");
  s.hwm_kb = StatusField(status, "VmHWM");
  // /proc/PID/stat: fields 14 and 15 (utime, stime) follow the parenthesised command name.
  const std::string stat = Slurp(proc / "stat");
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i >= 14) ticks += std::strtod(field.c_str(), nullptr);
  }
  s.cpu_s = ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  return s;
}

std::string LoadAverage() {
  std::istringstream in(Slurp("/proc/loadavg"));
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::vector<pid_t> ChildrenOf(pid_t pid) {
  const std::string path = fmt::format("/proc/{0}/task/{0}/children", pid);
  std::istringstream in(Slurp(path));
  std::vector<pid_t> children;
  for (pid_t child = 0; in >> child;) children.push_back(child);
  return children;
}

std::pair<double, size_t> TimeProcScan(int scans) {
  std::vector<double> us;
  size_t processes = 0;
  char buffer[8192];
  for (int i = 0; i < scans; ++i) {
    const std::int64_t t0 = MonotonicNs();
    processes = 0;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      ++processes;
      for (const char* file : {"stat", "environ"}) {
        const int fd = open((entry.path() / file).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        while (read(fd, buffer, sizeof buffer) > 0) {
        }
        close(fd);
      }
    }
    us.push_back(static_cast<double>(MonotonicNs() - t0) / 1000.0);
  }
  return {Median(us), processes};
}

std::vector<Record> ReadRecords(const fs::path& path) {
  std::vector<Record> records;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    if (f.size() != 4 && f.size() != 5) throw BenchError("bad recorder line: " + line);
    Record r;
    r.job = f[0];
    r.scheduled_unix = std::stoll(f[1]);
    r.start_ns = std::stoll(f[2]);
    r.lateness_us = std::stoll(f[3]);
    if (f.size() == 5) r.exit_ns = std::stoll(f[4]);
    records.push_back(std::move(r));
  }
  return records;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) throw BenchError("percentile of an empty sample");
  std::sort(values.begin(), values.end());
  // Nearest rank: the smallest value with at least p% of the sample at or below it.
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

double Median(std::vector<double> values) { return Percentile(std::move(values), 50); }

}  // namespace mlcron::bench
