// Helpers shared by the state store tests: a scratch directory removed afterwards, whole-file
// reads for before/after comparisons, and a field-by-field RunRecord comparison.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "daemon/run_record.h"
#include "daemon/state_store.h"

namespace mlcron::testing {

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mlcron-state-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

inline void ExpectSameRun(const RunRecord& want, const RunRecord& got) {
  EXPECT_EQ(want.id, got.id);
  EXPECT_EQ(want.job, got.job);
  EXPECT_EQ(want.scheduled, got.scheduled);
  EXPECT_EQ(want.trigger, got.trigger);
  EXPECT_EQ(want.attempt, got.attempt);
  EXPECT_EQ(RunStatusName(want.status), RunStatusName(got.status));
  EXPECT_EQ(want.reason, got.reason);
  EXPECT_EQ(want.started, got.started);
  EXPECT_EQ(want.ended, got.ended);
  EXPECT_EQ(want.exit_code, got.exit_code);
  EXPECT_EQ(want.signal, got.signal);
  EXPECT_EQ(want.pid, got.pid);
  EXPECT_EQ(want.pid_start_ticks, got.pid_start_ticks);
  EXPECT_EQ(want.boot_id, got.boot_id);
  EXPECT_EQ(want.log_path, got.log_path);
  EXPECT_EQ(want.cpu_user_s, got.cpu_user_s);
  EXPECT_EQ(want.cpu_sys_s, got.cpu_sys_s);
  EXPECT_EQ(want.config_sha, got.config_sha);
}

// Microseconds since the epoch as a RunRecord time.
inline RunRecord::TimePoint Us(std::int64_t us) {
  return RunRecord::TimePoint(std::chrono::microseconds(us));
}

inline RunFilter Filter(std::optional<std::string> job, std::optional<RunStatus> status,
                        int limit) {
  RunFilter f;
  f.job = std::move(job);
  f.status = status;
  f.limit = limit;
  return f;
}

inline Instant At(std::int64_t unix_seconds) { return Instant(std::chrono::seconds(unix_seconds)); }

}  // namespace mlcron::testing
