// The benchmark's five cases (issue a-e). Each runs mlcrond or mlcron on a generated config
// and appends its measurements to a table of rows; each throws BenchError when it cannot run.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mlcron::bench {

struct Options {
  bool quick = false;
  int b_rounds = 0;  // 0: 4, or 2 when quick
  bool strace = false;
  bool keep = false;
  bool host_pid_ns = false;  // run mlcrond unisolated (see Daemon in bench_util.h)
  std::filesystem::path bin_dir;
  std::filesystem::path mlcrond, mlcron, recorder;
};

// One line of the result table. An empty target marks a row of context, judged by nobody.
struct Row {
  std::string case_id;
  std::string metric;
  std::string value;
  std::string target;
  bool met = false;
  std::string note;
};

// (a) one job, every 1s: lateness of the child's own start, beside a direct posix_spawn.
void RunCaseA(const Options& options, std::vector<Row>* rows);
// (b) 100 jobs due in the same second: last start relative to the instant, per round.
void RunCaseB(const Options& options, std::vector<Row>* rows);
// (c) upstream exit -> downstream start, same instant, every 1s.
void RunCaseC(const Options& options, std::vector<Row>* rows);
// (d) 1,000 idle jobs: wake-ups per minute and RSS.
void RunCaseD(const Options& options, std::vector<Row>* rows);
// (e) mlcron validate on a 10,000-job config (and a 1,000-job one, for the ratio).
void RunCaseE(const Options& options, std::vector<Row>* rows);

}  // namespace mlcron::bench
