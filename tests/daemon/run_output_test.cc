#include "daemon/run_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace mlcron {
namespace {

using ::testing::ElementsAre;

class RunOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mlcron-output-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& text) {
    const std::string path = dir_ + "/1.log";
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(RunOutputTest, ShortOutputIsEchoedWhole) {
  EXPECT_THAT(ReadOutputHead(Write("a [E0]: no production model → full\n\nversion 3\n")),
              ElementsAre("a [E0]: no production model → full", "version 3"));
  EXPECT_THAT(ReadOutputHead(Write("no newline at the end")), ElementsAre("no newline at the end"));
  EXPECT_TRUE(ReadOutputHead(dir_ + "/missing.log").empty());
  EXPECT_TRUE(ReadOutputHead(Write("")).empty());
}

TEST_F(RunOutputTest, LongOutputIsCutAtLinesOrBytesWithANote) {
  const std::string path = Write("1\n2\n3\n4\n5\n");
  EXPECT_THAT(ReadOutputHead(path, 2, 100), ElementsAre("1", "2", "… 6 more bytes in " + path));
  // 8 bytes: "1\n2\n3\n4\n" fit, "5\n" does not.
  EXPECT_THAT(ReadOutputHead(path, 10, 8),
              ElementsAre("1", "2", "3", "4", "… 2 more bytes in " + path));
  // A line cut in the middle is not shown in part.
  EXPECT_THAT(ReadOutputHead(Write("first\nsecond line\n"), 10, 9),
              ElementsAre("first", "… 12 more bytes in " + dir_ + "/1.log"));
}

}  // namespace
}  // namespace mlcron
