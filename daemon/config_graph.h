// Resolves the tier/job dependency graph of a config (DESIGN.md §4): orders tiers by number,
// resolves every `after:` name to jobs, checks that it points only to lower tiers (or, on a
// job, to jobs of its own tier), and orders each tier's jobs topologically, reporting cycles.
// Works on plain names and positions, not YAML, so it is testable alone. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "daemon/config.h"

namespace mlcron {

struct GraphRef {
  std::string name;
  SourcePos pos;
};

struct GraphTier {
  std::string path;  // "tiers[1]", for messages
  double number = 0;
  std::string name;
  SourcePos number_pos, name_pos;
  std::vector<GraphRef> after;
  std::vector<size_t> jobs;  // indices into GraphInput::jobs, in file order
};

struct GraphJob {
  std::string path;  // "tiers[1].jobs[0]"
  std::string name;
  size_t tier = 0;  // index into GraphInput::tiers
  SourcePos name_pos;
  std::vector<GraphRef> after;
};

// Tiers and jobs in file order.
struct GraphInput {
  std::vector<GraphTier> tiers;
  std::vector<GraphJob> jobs;
};

struct GraphProblem {
  SourcePos pos;
  std::string message;
};

// All indices are those of GraphInput (file order).
struct ResolvedGraph {
  std::vector<size_t> tier_order;  // ascending tier number
  std::vector<size_t> job_order;   // by tier, then dependency order (stable by file order)
  std::vector<std::vector<size_t>> upstream;  // per job: upstream jobs, sorted, unique
  std::vector<GraphProblem> problems;         // empty when the graph is valid
};

// O((tiers + jobs + edges) log jobs), plus the size of the expanded upstream lists.
ResolvedGraph ResolveGraph(const GraphInput& input);

// "4", "4.5": tier numbers as an operator writes them.
std::string FormatTierNumber(double number);

}  // namespace mlcron
