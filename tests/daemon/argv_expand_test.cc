#include "daemon/argv_expand.h"

#include <gtest/gtest.h>

namespace mlcron {
namespace {

const ArgvVars kVars = {{"date", "2024-03-31"}, {"job", "publish"}, {"run_id", "42"}};

TEST(ExpandArgv, ReplacesPlaceholdersInsideElementsOnly) {
  auto out = ExpandArgv({"/bin/publish", "--day={date}", "{job}-{run_id}.csv", "a b;c"}, kVars);
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(*out, (std::vector<std::string>{"/bin/publish", "--day=2024-03-31", "publish-42.csv",
                                            "a b;c"}));
}

TEST(ExpandArgv, ValuesAreNeverSplitOrInterpreted) {
  ArgvVars vars = {{"job", "x; rm -rf /"}};
  auto out = ExpandArgv({"{job}"}, vars);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->size(), 1u);
  EXPECT_EQ(out->front(), "x; rm -rf /");
}

TEST(ExpandArgv, DoubledBracesAreLiteral) {
  auto out = ExpandArgv({"{{date}}", "}}{date}{{"}, kVars);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, (std::vector<std::string>{"{date}", "}2024-03-31{"}));
}

TEST(ExpandArgv, UnknownOrUnclosedPlaceholderIsAnError) {
  EXPECT_EQ(ExpandArgv({"--at={time}"}, kVars).message(),
            "unknown placeholder {time} in \"--at={time}\"");
  EXPECT_EQ(ExpandArgv({"{date"}, kVars).message(), "unclosed \"{\" in \"{date\"");
}

}  // namespace
}  // namespace mlcron
