// The real ProcessLauncher. Boost.Process forks, execs and reports exec failures through
// its error pipe; everything else the child needs (group, signals, fds, limits) is done by
// our own initializer in the forked child. The child is detached at once: reaping belongs
// to the Reaper, never to Boost.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/search_path.hpp>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "daemon/proc.h"
#include "daemon/process_launcher.h"

namespace mlcron {
namespace {

namespace bp = boost::process;

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// Resolves argv[0] like execvp, but against the child's PATH (spec.env), not ours.
std::optional<std::string> ResolveExecutable(const std::string& name,
                                             const std::map<std::string, std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  auto path = env.find("PATH");
  if (path == env.end()) {
    auto found = bp::search_path(name);
    if (found.empty()) return std::nullopt;
    return found.string();
  }
  const std::string& dirs = path->second;
  size_t begin = 0;
  for (;;) {
    size_t end = dirs.find(':', begin);
    std::string dir = dirs.substr(begin, end == std::string::npos ? end : end - begin);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return std::nullopt;
}

// Marks every fd >= 3 close-on-exec. CLOEXEC rather than close: Boost's exec-error pipe
// must stay open until execve succeeds (then it closes by itself) or fails (then Boost
// writes the errno to it).
void CloseFromThreeOnExec() {
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Kernels before 5.11: walk up to the fd limit. getrlimit and fcntl are async-signal-safe.
  struct rlimit rl {};
  rlim_t max_fd = 65536;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) max_fd = rl.rlim_cur;
  for (rlim_t fd = 3; fd < max_fd; ++fd) ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
}

// Our Boost.Process initializer. Everything the child uses is prepared in the parent,
// because between fork and exec only async-signal-safe calls are allowed (no malloc).
class ChildSetup : public bp::extend::handler {
 public:
  ChildSetup(const SpawnSpec& spec, const std::string& exe, int stdin_fd, int stdout_fd)
      : spec_(spec), exe_(exe), stdin_fd_(stdin_fd), stdout_fd_(stdout_fd) {
    for (const auto& arg : spec.argv) argv_.push_back(const_cast<char*>(arg.c_str()));
    argv_.push_back(nullptr);
    for (const auto& [name, value] : spec.env) env_strings_.push_back(name + "=" + value);
    for (auto& entry : env_strings_) envp_.push_back(entry.data());
    envp_.push_back(nullptr);
  }

  // Parent, before fork: our argv (argv[0] as the user wrote it) and exactly spec.env.
  template <class Executor>
  void on_setup(Executor& exec) {
    exec.exe = exe_.c_str();
    exec.cmd_line = argv_.data();
    exec.env = envp_.data();
  }

  // Child, between fork and execve.
  template <class Executor>
  void on_exec_setup(Executor& exec) {
    // Own process group, so a timeout can signal the job and its children together.
    ::setpgid(0, 0);

    // Dispositions: handled signals reset on exec anyway, but ignored ones (SIGPIPE in
    // most daemons) would be inherited. Reset before unblocking so nothing pending hits
    // a stale disposition.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);

    // Move the sources above 2 first, so dup2 onto 0..2 cannot clobber one of them.
    int in = ::fcntl(stdin_fd_, F_DUPFD_CLOEXEC, 3);
    int out = ::fcntl(stdout_fd_, F_DUPFD_CLOEXEC, 3);
    int err = spec_.error_fd >= 0 ? ::fcntl(spec_.error_fd, F_DUPFD_CLOEXEC, 3) : out;
    if (in < 0 || out < 0 || err < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 ||
        ::dup2(err, 2) < 0) {
      Fail(exec, "dup2");
    }

    if (spec_.nice && ::setpriority(PRIO_PROCESS, 0, *spec_.nice) != 0) Fail(exec, "nice");
    if (spec_.memory_max_bytes) {
      struct rlimit rl {};
      rl.rlim_cur = rl.rlim_max = static_cast<rlim_t>(*spec_.memory_max_bytes);
      if (::setrlimit(RLIMIT_AS, &rl) != 0) Fail(exec, "memory_max");
    }
    if (!spec_.cwd.empty() && ::chdir(spec_.cwd.c_str()) != 0) Fail(exec, "cwd");

    CloseFromThreeOnExec();
  }

  // Parent, on success: the child already called setpgid(0,0) before exec, and Boost
  // returns only after exec; this is the belt to that brace (EACCES after exec is fine).
  template <class Executor>
  void on_success(Executor& exec) {
    ::setpgid(exec.pid, exec.pid);
  }

  // Parent, on failure: a forked child that failed to exec has _exit()ed; reap it here so
  // the error leaves no zombie and the Reaper never sees a pid nobody knows about.
  template <class Executor>
  void on_error(Executor& exec, const std::error_code&) {
    if (exec.pid > 0) {
      while (::waitpid(exec.pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }

 private:
  // Child only: report through Boost's error pipe (read by the parent) and stop.
  template <class Executor>
  static void Fail(Executor& exec, const char* what) {
    exec.set_error(std::error_code(errno, std::system_category()), what);
    ::_exit(127);
  }

  const SpawnSpec& spec_;
  const std::string& exe_;
  int stdin_fd_;
  int stdout_fd_;
  std::vector<char*> argv_;
  std::vector<std::string> env_strings_;
  std::vector<char*> envp_;
};

class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class BoostProcessLauncher : public ProcessLauncher {
 public:
  Result<SpawnedProcess> Spawn(const SpawnSpec& spec) override {
    if (spec.argv.empty() || spec.argv[0].empty()) {
      return Status::Error("cannot start a job with an empty argv");
    }
    const std::string& name = spec.argv[0];
    auto fail = [&](const std::string& why) {
      return Status::Error("cannot start " + Quoted(name) + ": " + why);
    };
    auto exe = ResolveExecutable(name, spec.env);
    if (!exe) return fail(std::strerror(ENOENT));
    if (!spec.cwd.empty()) {
      struct stat st {};
      if (::stat(spec.cwd.c_str(), &st) != 0) {
        return fail("working directory " + Quoted(spec.cwd) + ": " + std::strerror(errno));
      }
      if (!S_ISDIR(st.st_mode)) {
        return fail("working directory " + Quoted(spec.cwd) + ": " + std::strerror(ENOTDIR));
      }
    }

    ScopedFd devnull_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    ScopedFd devnull_out(spec.output_fd < 0 ? ::open("/dev/null", O_WRONLY | O_CLOEXEC) : -1);
    if (devnull_in.get() < 0 || (spec.output_fd < 0 && devnull_out.get() < 0)) {
      return fail(std::string("/dev/null: ") + std::strerror(errno));
    }
    const int out_fd = spec.output_fd >= 0 ? spec.output_fd : devnull_out.get();

    ChildSetup setup(spec, *exe, devnull_in.get(), out_fd);
    std::error_code ec;
    pid_t pid = -1;
    try {
      bp::child child(bp::exe(*exe), setup, ec);
      pid = child.valid() ? child.id() : -1;
      // Boost must never wait for or terminate this child: the Reaper owns it by pid.
      child.detach();
    } catch (const std::exception& e) {  // allocation failures inside Boost
      return fail(e.what());
    }
    if (ec || pid <= 0) return fail(ec ? ec.message() : "unknown error");

    SpawnedProcess spawned;
    spawned.pid = pid;
    spawned.start_ticks = ReadStartTicks(pid).value_or(0);
    return spawned;
  }

  void SignalGroup(pid_t pgid, int sig) override {
    // pgid <= 1 would address our own group or every process; never do that.
    if (pgid <= 1) return;
    ::kill(-pgid, sig);  // ESRCH (group already gone) is expected and not an error
  }
};

}  // namespace

std::unique_ptr<ProcessLauncher> MakeBoostProcessLauncher() {
  return std::make_unique<BoostProcessLauncher>();
}

}  // namespace mlcron
