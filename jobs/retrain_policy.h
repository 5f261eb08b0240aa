// The retrain decision per (model, segment) of DESIGN.md §7: full, incremental or skip,
// with every reason that led to it. A pure function of counts and registry facts, so the
// skip path never loads a booster or training data.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/model_config.h"

namespace mlcron {

enum class DecisionKind { kSkip, kIncremental, kFull };
std::string_view DecisionName(DecisionKind kind);  // "skip", "incremental", "full"

struct PolicyInput {
  // The production version of this segment, if any.
  bool has_production = false;
  // Differences of the fingerprint from production's ("params.max_depth 4 → 6"); empty
  // when unchanged or there is no production.
  std::vector<std::string> fingerprint_changes;
  // The changes that come from the segment's tuned params (issue 6), kept apart so the
  // decision says "tuned params applied" rather than "fingerprint changed".
  std::vector<std::string> tuned_changes;
  std::optional<std::int64_t> tuned_study;              // where they came from (none: set by hand)
  std::optional<std::chrono::seconds> since_last_full;  // since the last promoted full
  int chain = 0;  // incremental versions in a row in production's lineage
  std::optional<std::chrono::seconds> model_age;  // of production
  std::optional<std::string> drift;               // set when live drift is beyond max_degradation
  std::optional<std::string> forced;  // "--full", "MLCRON_FORCE_FULL=1", "job full: true"

  std::int64_t labelled_rows = 0;  // all labelled rows of the segment
  // Labelled rows newer than the last attempt's horizon (all rows when there is none).
  std::int64_t new_rows = 0;
  // Labelled rows after production's watermark (all rows when none): the holdout's pool.
  std::int64_t holdout_pool = 0;
  // The last attempt was not promoted: rejected by the gate, or a candidate awaiting
  // `promote: manual`. Either way retraining waits for min_new_rows more rows (back-off).
  bool last_attempt_rejected = false;
  std::string last_attempt_outcome = "rejected";  // how the reasons name it
};

struct Decision {
  DecisionKind kind = DecisionKind::kSkip;
  std::vector<std::string> reasons;
  // "fingerprint unchanged; 42 new rows < 100; model 3 d old < 7 d → skip"
  std::string Summary() const;
};

Decision Decide(const ModelConfig& model, const PolicyInput& in);

// The retraining policies `mlcron replay` compares side by side (DESIGN.md §9). kDefault is
// the config's own; the others bend Decide without changing the config, so a policy's
// fingerprint, holdout and gate stay the same as the default's.
enum class ReplayPolicy {
  kDefault,          // Decide as configured
  kAlwaysFull,       // the same triggers, but every retrain is full
  kIncrementalOnly,  // never full after the first: full_every, max_chain and drift are ignored
  kNeverRetrain,     // the first model only
};
std::string_view ReplayPolicyName(ReplayPolicy policy);  // "default", "always-full", ...
std::optional<ReplayPolicy> ParseReplayPolicy(std::string_view name);
const std::vector<ReplayPolicy>& AllReplayPolicies();

// Decide under `policy`; the reasons end with the policy's own ("policy always-full") when it
// changed the outcome.
Decision DecideUnder(ReplayPolicy policy, const ModelConfig& model, const PolicyInput& in);

// "3 d", "5 h", "12 min", "40 s": floored in the largest unit reached, so "3 d" means at
// least three whole days.
std::string FormatAge(std::chrono::seconds age);

}  // namespace mlcron
