#include "daemon/run_record.h"

#include <gtest/gtest.h>

namespace mlcron {
namespace {

struct StatusCase {
  RunStatus status;
  const char* name;
  bool final;
};

constexpr StatusCase kCases[] = {
    {RunStatus::kRunning, "running", false}, {RunStatus::kSucceeded, "succeeded", true},
    {RunStatus::kFailed, "failed", true},    {RunStatus::kTimedOut, "timed_out", true},
    {RunStatus::kKilled, "killed", true},    {RunStatus::kSkipped, "skipped", true},
    {RunStatus::kMissed, "missed", true},    {RunStatus::kInterrupted, "interrupted", false},
};

TEST(RunRecordTest, NamesRoundTripAndFinality) {
  for (const StatusCase& c : kCases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(RunStatusName(c.status), c.name);
    ASSERT_TRUE(ParseRunStatus(c.name).has_value());
    EXPECT_EQ(*ParseRunStatus(c.name), c.status);
    EXPECT_EQ(IsFinal(c.status), c.final);
  }
}

TEST(RunRecordTest, UnknownNamesDoNotParse) {
  EXPECT_FALSE(ParseRunStatus("").has_value());
  EXPECT_FALSE(ParseRunStatus("Running").has_value());
  EXPECT_FALSE(ParseRunStatus("timed-out").has_value());
}

}  // namespace
}  // namespace mlcron
