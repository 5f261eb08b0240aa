#include "daemon/config_graph.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mlcron {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Builds a GraphInput: tiers first, then jobs added to a tier by index.
class GraphBuilder {
 public:
  size_t Tier(double number, std::string name, std::vector<std::string> after = {}) {
    GraphTier t;
    t.path = "tiers[" + std::to_string(in_.tiers.size()) + "]";
    t.number = number;
    t.name = std::move(name);
    for (auto& a : after) t.after.push_back({std::move(a), {}});
    in_.tiers.push_back(std::move(t));
    return in_.tiers.size() - 1;
  }
  size_t Job(size_t tier, std::string name, std::vector<std::string> after = {}) {
    GraphJob j;
    j.path = in_.tiers[tier].path + ".jobs[" + std::to_string(in_.tiers[tier].jobs.size()) + "]";
    j.name = std::move(name);
    j.tier = tier;
    for (auto& a : after) j.after.push_back({std::move(a), {}});
    in_.tiers[tier].jobs.push_back(in_.jobs.size());
    in_.jobs.push_back(std::move(j));
    return in_.jobs.size() - 1;
  }
  ResolvedGraph Resolve() const { return ResolveGraph(in_); }

 private:
  GraphInput in_;
};

std::vector<std::string> Messages(const ResolvedGraph& g) {
  std::vector<std::string> out;
  for (const GraphProblem& p : g.problems) out.push_back(p.message);
  return out;
}

TEST(ConfigGraph, SortsTiersAndExpandsTierAfter) {
  GraphBuilder b;
  const size_t signals = b.Tier(5, "signals", {"features"});
  const size_t features = b.Tier(4, "features");
  b.Job(signals, "predict");      // 0
  b.Job(features, "aggregate");   // 1
  b.Job(features, "aggregate2");  // 2
  ResolvedGraph g = b.Resolve();
  EXPECT_THAT(Messages(g), IsEmpty());
  EXPECT_THAT(g.tier_order, ElementsAre(features, signals));
  EXPECT_THAT(g.job_order, ElementsAre(1, 2, 0));
  EXPECT_THAT(g.upstream[0], ElementsAre(1, 2));
  EXPECT_THAT(g.upstream[1], IsEmpty());
}

TEST(ConfigGraph, TopologicalOrderIsStableByFileOrder) {
  GraphBuilder b;
  const size_t t = b.Tier(1, "t");
  b.Job(t, "publish", {"predict"});            // 0
  b.Job(t, "other");                           // 1
  b.Job(t, "predict");                         // 2
  b.Job(t, "report", {"publish", "predict"});  // 3
  ResolvedGraph g = b.Resolve();
  EXPECT_THAT(Messages(g), IsEmpty());
  EXPECT_THAT(g.job_order, ElementsAre(1, 2, 0, 3));
  EXPECT_THAT(g.upstream[3], ElementsAre(0, 2));
}

TEST(ConfigGraph, MergesTierAndJobAfter) {
  GraphBuilder b;
  const size_t t1 = b.Tier(1, "one");
  const size_t t2 = b.Tier(2, "two", {"x"});
  const size_t t3 = b.Tier(3, "three", {"one"});
  b.Job(t1, "x");                     // 0
  b.Job(t1, "y");                     // 1
  b.Job(t2, "z");                     // 2
  b.Job(t3, "w", {"two", "x", "x"});  // 3
  ResolvedGraph g = b.Resolve();
  EXPECT_THAT(Messages(g), IsEmpty());
  EXPECT_THAT(g.upstream[2], ElementsAre(0));
  EXPECT_THAT(g.upstream[3], ElementsAre(0, 1, 2));
}

TEST(ConfigGraph, ReportsEveryDisjointCycleAndStillOrdersAll) {
  GraphBuilder b;
  const size_t t = b.Tier(1, "t");
  b.Job(t, "a", {"b"});
  b.Job(t, "b", {"a"});
  b.Job(t, "c", {"d"});
  b.Job(t, "d", {"c"});
  b.Job(t, "e", {"a"});
  ResolvedGraph g = b.Resolve();
  EXPECT_THAT(Messages(g),
              ElementsAre("tiers[0].jobs[0].after: cycle among jobs of tier \"t\": a -> b -> a",
                          "tiers[0].jobs[2].after: cycle among jobs of tier \"t\": c -> d -> c"));
  EXPECT_EQ(g.job_order.size(), 5u);
}

TEST(ConfigGraph, NameClashBetweenTierAndJob) {
  GraphBuilder b;
  const size_t t = b.Tier(1, "import");
  b.Job(t, "import");
  EXPECT_THAT(Messages(b.Resolve()),
              ElementsAre("tiers[0].jobs[0].name: \"import\" is already used by tiers[0] (names "
                          "of tiers and jobs must be unique)"));
}

TEST(ConfigGraph, JobAfterHigherTier) {
  GraphBuilder b;
  const size_t t1 = b.Tier(1, "one");
  b.Tier(2, "two");
  b.Job(t1, "a", {"two"});
  EXPECT_THAT(Messages(b.Resolve()),
              ElementsAre("tiers[0].jobs[0].after: \"two\" is tier 2, higher than this job's "
                          "tier 1"));
}

TEST(ConfigGraph, LargeGraphIsFast) {
  // 100 tiers of 100 jobs, each tier after the previous one, each job after its neighbour.
  GraphBuilder b;
  for (int t = 0; t < 100; ++t) {
    const size_t tier = b.Tier(
        t, "t" + std::to_string(t),
        t ? std::vector<std::string>{"t" + std::to_string(t - 1)} : std::vector<std::string>{});
    for (int j = 0; j < 100; ++j) {
      std::vector<std::string> after;
      if (j) after.push_back("j" + std::to_string(t) + "_" + std::to_string(j - 1));
      b.Job(tier, "j" + std::to_string(t) + "_" + std::to_string(j), after);
    }
  }
  ResolvedGraph g = b.Resolve();
  EXPECT_THAT(Messages(g), IsEmpty());
  EXPECT_EQ(g.job_order.size(), 10000u);
  EXPECT_EQ(g.upstream[150].size(), 101u);  // tier 0's 100 jobs + its neighbour
}

TEST(ConfigGraph, FormatTierNumber) {
  EXPECT_EQ(FormatTierNumber(4), "4");
  EXPECT_EQ(FormatTierNumber(4.5), "4.5");
  EXPECT_EQ(FormatTierNumber(-1), "-1");
}

}  // namespace
}  // namespace mlcron
