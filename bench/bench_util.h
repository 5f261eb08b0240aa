// Helpers the scheduler benchmark shares: a scratch directory, child processes (mlcrond,
// mlcron, recorders), /proc readings, the recorder's output, and percentiles. Errors throw
// BenchError; the driver reports them once at the top and exits non-zero. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mlcron::bench {

namespace fs = std::filesystem;

struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::int64_t RealtimeNs();  // CLOCK_REALTIME, as the recorder reads it
std::int64_t MonotonicNs();
void SleepUntilRealtimeNs(std::int64_t t);
void SleepFor(std::chrono::milliseconds d);

// A fresh directory under $TMPDIR (or /tmp), removed on destruction unless kept.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag, bool keep);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  bool keep_;
};

// Writes text to path with mode 0600 (mlcron refuses group/world-writable configs).
void WriteFile0600(const fs::path& path, const std::string& text);

// A child started without a shell. stdout and stderr go to log (or /dev/null when empty);
// extra_env entries ("K=V") are added to the inherited environment.
pid_t Spawn(const std::vector<std::string>& argv, const fs::path& log,
            const std::vector<std::string>& extra_env = {});
// Waits for pid; returns its exit code, or 128+signal. Throws after timeout (and SIGKILLs).
int WaitExit(pid_t pid, std::chrono::milliseconds timeout);

// mlcrond on one config, started in the constructor and stopped with SIGTERM by Stop() (or
// the destructor, which SIGKILLs if needed). With isolate, it runs in a private PID namespace
// (unshare --pid --mount-proc, under a /bin/sh that plays init): mlcrond kills any process on
// the host whose environment holds its MLCRON_RUN_ID=<n> when run n exits, and other
// engineers' daemons number their runs from 1 too.
class Daemon {
 public:
  Daemon(const fs::path& mlcrond, const fs::path& config, const fs::path& state_dir,
         const fs::path& log, bool isolate);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  pid_t pid() const { return daemon_pid_; }                // mlcrond's pid as the host sees it
  std::int64_t started_ns() const { return started_ns_; }  // realtime, just before spawn
  // Returns once control.sock exists in state_dir and mlcrond's pid is known; throws if the
  // daemon died first.
  void WaitReady(std::chrono::milliseconds timeout);
  void Stop();  // SIGTERM, then waits; throws on a non-zero exit

 private:
  pid_t pid_ = -1;         // our child: mlcrond, or unshare when isolated
  pid_t daemon_pid_ = -1;  // mlcrond
  std::int64_t started_ns_ = 0;
  fs::path state_dir_;
  fs::path log_;
};

// Readings of /proc/PID: context switches summed over all threads, RSS, CPU time.
struct ProcSample {
  std::int64_t voluntary_switches = 0;
  std::int64_t involuntary_switches = 0;
  std::int64_t threads = 0;
  std::int64_t rss_kb = 0;
  std::int64_t hwm_kb = 0;
  double cpu_s = 0;  // utime + stime
};
ProcSample ReadProc(pid_t pid);
std::string LoadAverage();  // the first three fields of /proc/loadavg
std::vector<pid_t> ChildrenOf(pid_t pid);

// What mlcrond does on every job exit to find escaped descendants, read-only: read stat and
// environ of every process in /proc. Returns the median of `scans` scans in microseconds and
// the number of processes seen.
std::pair<double, size_t> TimeProcScan(int scans);

// One line of recorder output.
struct Record {
  std::string job;
  std::int64_t scheduled_unix = 0;
  std::int64_t start_ns = 0;
  std::int64_t lateness_us = 0;
  std::optional<std::int64_t> exit_ns;  // with --exit-record
};
std::vector<Record> ReadRecords(const fs::path& path);  // empty when the file is missing

// Nearest-rank percentile of an unsorted sample; p in [0, 100]. Throws on an empty sample.
double Percentile(std::vector<double> values, double p);
double Median(std::vector<double> values);

}  // namespace mlcron::bench
