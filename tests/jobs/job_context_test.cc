#include "jobs/job_context.h"

#include <gtest/gtest.h>

#include <sstream>

#include "jobs/builtin_job.h"

namespace mlcron {
namespace {

TEST(JobContext, IsoUtcIsSortableUtcText) {
  using namespace std::chrono;
  EXPECT_EQ(IsoUtc(sys_seconds(seconds(1711846800))), "2024-03-31T01:00:00Z");
  EXPECT_EQ(IsoUtc(sys_seconds(seconds(0)) + milliseconds(999)), "1970-01-01T00:00:00Z");
}

TEST(JobContext, UnknownKindIsBadUsage) {
  std::ostringstream err;
  EXPECT_EQ(RunBuiltinJob({"bake", "/nonexistent", "", "j"}, err), 2);
  EXPECT_NE(err.str().find("unknown built-in kind \"bake\""), std::string::npos) << err.str();
}

TEST(JobContext, MissingSnapshotIsNamed) {
  std::ostringstream out;
  Result<JobContext> ctx = MakeJobContext({"import", "/nonexistent/snap.yaml", "", "j"}, &out);
  ASSERT_FALSE(ctx.ok());
  EXPECT_EQ(ctx.message(), "config snapshot /nonexistent/snap.yaml: cannot be read");
}

}  // namespace
}  // namespace mlcron
