#include "daemon/suggest.h"

#include <gtest/gtest.h>

namespace mlcron {
namespace {

TEST(Suggest, EditDistance) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("scedule", "schedule"), 1u);
  EXPECT_EQ(EditDistance("retrian", "retrain"), 2u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(Suggest, DidYouMean) {
  const std::vector<std::string> keys = {"timezone", "tiers", "timeout"};
  EXPECT_EQ(DidYouMean("timezon", keys), "; did you mean \"timezone\"?");
  EXPECT_EQ(DidYouMean("tier", keys), "; did you mean \"tiers\"?");
  EXPECT_EQ(DidYouMean("completely_different", keys), "");
  // A one-letter word is never "close" to another one-letter word.
  EXPECT_EQ(DidYouMean("x", {"y"}), "");
}

}  // namespace
}  // namespace mlcron
