// How a finished `mlcron models promote|rollback|compare --json` child becomes a response.
#include "daemon/api_service.h"

#include <gtest/gtest.h>

namespace mlcron {
namespace {

ProcessExecutor::ToolResult Exited(int code, std::string out, std::string err) {
  ProcessExecutor::ToolResult r;
  r.exit.exit_code = code;
  r.out = std::move(out);
  r.err = std::move(err);
  return r;
}

TEST(ApiServiceTest, CliResultsMapToStatuses) {
  HttpResponse ok = CliResponse(Exited(0, "{\n  \"to\": 3\n}\n", ""));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"to":3})");

  struct Case {
    int code;
    const char* err;
    int status;
    const char* message;
  };
  const Case cases[] = {
      {1, "mlcron models promote: no version 42\n", 404, "no version 42"},
      {1, "mlcron models rollback: model m has no versions\n", 404, "model m has no versions"},
      {1, "mlcron models rollback: model m has no segment \"X\" (segments: A, B)\n", 404,
       "model m has no segment \"X\" (segments: A, B)"},
      {2, "mlcron models rollback: model m has segments A, B; name one with --segment\n", 400,
       "model m has segments A, B; name one with --segment"},
      {1, "mlcron models promote: version 2 is already production\n", 409,
       "version 2 is already production"},
      {1, "", 409, "mlcron exited without a message"},
  };
  for (const Case& c : cases) {
    HttpResponse r = CliResponse(Exited(c.code, "", c.err));
    EXPECT_EQ(r.status, c.status) << c.err;
    EXPECT_EQ(r.body, nlohmann::json({{"error", c.message}}).dump()) << c.err;
  }
  EXPECT_EQ(CliResponse(Exited(0, "not json", "")).status, 500);
  ProcessExecutor::ToolResult killed;
  killed.exit.signal = 9;
  HttpResponse k = CliResponse(killed);
  EXPECT_EQ(k.status, 500);
  EXPECT_EQ(k.body, R"({"error":"mlcron was killed by signal 9"})");
}

}  // namespace
}  // namespace mlcron
