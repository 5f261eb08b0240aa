#include "daemon/config_graph.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <queue>
#include <unordered_map>

#include "daemon/suggest.h"
#include "daemon/yaml_reader.h"

namespace mlcron {

std::string FormatTierNumber(double number) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, number);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(number);
}

namespace {

struct Named {
  bool is_tier;
  size_t index;
};

class Resolver {
 public:
  explicit Resolver(const GraphInput& in) : in_(in) {}

  ResolvedGraph Run() {
    IndexNames();
    OrderTiers();
    std::vector<std::vector<size_t>> tier_upstream(in_.tiers.size());
    for (size_t t = 0; t < in_.tiers.size(); ++t) tier_upstream[t] = ResolveTierAfter(t);
    out_.upstream.resize(in_.jobs.size());
    preds_.resize(in_.jobs.size());
    for (size_t j = 0; j < in_.jobs.size(); ++j) {
      std::vector<size_t> own = ResolveJobAfter(j);
      const std::vector<size_t>& inherited = tier_upstream[in_.jobs[j].tier];
      std::vector<size_t>& up = out_.upstream[j];
      up.reserve(inherited.size() + own.size());
      std::merge(inherited.begin(), inherited.end(), own.begin(), own.end(),
                 std::back_inserter(up));
      up.erase(std::unique(up.begin(), up.end()), up.end());
    }
    for (size_t t : out_.tier_order) OrderJobsOfTier(t);
    return std::move(out_);
  }

 private:
  void Problem(SourcePos pos, std::string message) {
    out_.problems.push_back({pos, std::move(message)});
  }

  std::string PathOf(const Named& n) const {
    return n.is_tier ? in_.tiers[n.index].path : in_.jobs[n.index].path;
  }

  // Tiers and jobs share one namespace: `after:` and the CLI name either.
  void IndexNames() {
    names_.reserve(in_.tiers.size() + in_.jobs.size());
    std::unordered_map<double, size_t> numbers;
    for (size_t t = 0; t < in_.tiers.size(); ++t) {
      const GraphTier& tier = in_.tiers[t];
      auto [it, inserted] = numbers.emplace(tier.number, t);
      if (!inserted) {
        const GraphTier& first = in_.tiers[it->second];
        Problem(tier.number_pos, tier.path + ".tier: " + FormatTierNumber(tier.number) +
                                     " is already the number of " + first.path + " (" +
                                     Quote(first.name) + ")");
      }
      AddName(tier.name, {true, t}, tier.path, tier.name_pos);
    }
    for (size_t j = 0; j < in_.jobs.size(); ++j) {
      AddName(in_.jobs[j].name, {false, j}, in_.jobs[j].path, in_.jobs[j].name_pos);
    }
  }

  void AddName(const std::string& name, Named named, const std::string& path, SourcePos pos) {
    if (name.empty()) return;  // missing; the loader reported it
    auto [it, inserted] = names_.emplace(name, named);
    if (!inserted) {
      Problem(pos, path + ".name: " + Quote(name) + " is already used by " + PathOf(it->second) +
                       " (names of tiers and jobs must be unique)");
    }
  }

  void OrderTiers() {
    out_.tier_order.resize(in_.tiers.size());
    for (size_t t = 0; t < in_.tiers.size(); ++t) out_.tier_order[t] = t;
    std::stable_sort(out_.tier_order.begin(), out_.tier_order.end(),
                     [&](size_t a, size_t b) { return in_.tiers[a].number < in_.tiers[b].number; });
  }

  const Named* Lookup(const GraphRef& ref, const std::string& path) {
    auto it = names_.find(ref.name);
    if (it != names_.end()) return &it->second;
    if (all_names_.empty()) {  // error path only
      for (const auto& [name, named] : names_) all_names_.push_back(name);
      std::sort(all_names_.begin(), all_names_.end());
    }
    Problem(ref.pos, path + ": " + Quote(ref.name) + " names no tier or job" +
                         DidYouMean(ref.name, all_names_));
    return nullptr;
  }

  std::string TierLabel(size_t t) const { return "tier " + FormatTierNumber(in_.tiers[t].number); }

  // A tier may wait for lower tiers and their jobs only.
  std::vector<size_t> ResolveTierAfter(size_t t) {
    const GraphTier& tier = in_.tiers[t];
    const std::string path = tier.path + ".after";
    std::vector<size_t> up;
    for (const GraphRef& ref : tier.after) {
      const Named* n = Lookup(ref, path);
      if (!n) continue;
      const size_t u = n->is_tier ? n->index : in_.jobs[n->index].tier;
      if (!(in_.tiers[u].number < tier.number)) {
        Problem(ref.pos, path + ": " + Quote(ref.name) + " is " + (n->is_tier ? "" : "a job of ") +
                             TierLabel(u) + ", not lower than " + TierLabel(t));
        continue;
      }
      if (n->is_tier) {
        up.insert(up.end(), in_.tiers[u].jobs.begin(), in_.tiers[u].jobs.end());
      } else {
        up.push_back(n->index);
      }
    }
    std::sort(up.begin(), up.end());
    up.erase(std::unique(up.begin(), up.end()), up.end());
    return up;
  }

  // A job may also wait for jobs of its own tier; those edges order the tier.
  std::vector<size_t> ResolveJobAfter(size_t j) {
    const GraphJob& job = in_.jobs[j];
    const size_t t = job.tier;
    const std::string path = job.path + ".after";
    std::vector<size_t> up;
    for (const GraphRef& ref : job.after) {
      const Named* n = Lookup(ref, path);
      if (!n) continue;
      if (!n->is_tier && n->index == j) {
        Problem(ref.pos, path + ": " + Quote(ref.name) + " is the job itself");
        continue;
      }
      const size_t u = n->is_tier ? n->index : in_.jobs[n->index].tier;
      const double mine = in_.tiers[t].number, theirs = in_.tiers[u].number;
      if (n->is_tier && u == t) {
        Problem(ref.pos, path + ": " + Quote(ref.name) +
                             " is this job's own tier; name the jobs it waits for instead");
        continue;
      }
      if (theirs > mine || (n->is_tier && theirs == mine)) {
        Problem(ref.pos, path + ": " + Quote(ref.name) + " is " + (n->is_tier ? "" : "a job of ") +
                             TierLabel(u) + ", higher than this job's " + TierLabel(t));
        continue;
      }
      if (n->is_tier) {
        up.insert(up.end(), in_.tiers[u].jobs.begin(), in_.tiers[u].jobs.end());
      } else {
        up.push_back(n->index);
        if (u == t) preds_[j].push_back({n->index, ref.pos});
      }
    }
    std::sort(up.begin(), up.end());
    up.erase(std::unique(up.begin(), up.end()), up.end());
    return up;
  }

  // Kahn's algorithm, taking the earliest ready job in file order so that unrelated jobs keep
  // the order they were written in. A cycle is reported, then broken so the rest still sorts.
  void OrderJobsOfTier(size_t t) {
    const std::vector<size_t>& jobs = in_.tiers[t].jobs;
    std::unordered_map<size_t, size_t> indegree;
    std::unordered_map<size_t, std::vector<size_t>> downstream;
    for (size_t j : jobs) {
      std::vector<size_t> seen;
      for (const auto& [p, pos] : preds_[j]) {
        if (std::find(seen.begin(), seen.end(), p) != seen.end()) continue;
        seen.push_back(p);
        ++indegree[j];
        downstream[p].push_back(j);
      }
    }
    std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
    for (size_t j : jobs) {
      if (indegree[j] == 0) ready.push(j);
    }
    std::unordered_map<size_t, bool> done;
    size_t emitted = 0;
    auto emit = [&](size_t j) {
      done[j] = true;
      ++emitted;
      out_.job_order.push_back(j);
      for (size_t d : downstream[j]) {
        if (!done[d] && --indegree[d] == 0) ready.push(d);
      }
    };
    while (emitted < jobs.size()) {
      if (ready.empty()) {
        for (size_t j : ReportCycle(t, done)) {
          if (!done[j]) emit(j);
        }
        continue;
      }
      const size_t j = ready.top();
      ready.pop();
      if (!done[j]) emit(j);
    }
  }

  // Every job left when no job is ready waits for another one left, so following `after`
  // from the earliest one must come back round.
  std::vector<size_t> ReportCycle(size_t t, std::unordered_map<size_t, bool>& done) {
    size_t start = 0;
    for (size_t j : in_.tiers[t].jobs) {
      if (!done[j]) {
        start = j;
        break;
      }
    }
    std::vector<size_t> walk;
    std::unordered_map<size_t, size_t> at;
    size_t cur = start;
    while (!at.count(cur)) {
      at[cur] = walk.size();
      walk.push_back(cur);
      for (const auto& [p, pos] : preds_[cur]) {
        if (!done[p]) {
          cur = p;
          break;
        }
      }
    }
    std::vector<size_t> cycle(walk.begin() + at[cur], walk.end());
    std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
    std::string text;
    for (size_t j : cycle) text += in_.jobs[j].name + " -> ";
    text += in_.jobs[cycle[0]].name;
    const size_t next = cycle.size() > 1 ? cycle[1] : cycle[0];
    SourcePos pos;
    for (const auto& [p, ref_pos] : preds_[cycle[0]]) {
      if (p == next) {
        pos = ref_pos;
        break;
      }
    }
    Problem(pos, in_.jobs[cycle[0]].path + ".after: cycle among jobs of tier " +
                     Quote(in_.tiers[t].name) + ": " + text);
    return cycle;
  }

  const GraphInput& in_;
  ResolvedGraph out_;
  std::unordered_map<std::string, Named> names_;
  std::vector<std::string> all_names_;
  std::vector<std::vector<std::pair<size_t, SourcePos>>> preds_;  // same-tier `after`
};

}  // namespace

ResolvedGraph ResolveGraph(const GraphInput& input) { return Resolver(input).Run(); }

}  // namespace mlcron
