#include "jobs/retrain_policy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>

#include "jobs/holdout.h"

namespace mlcron {
namespace {

using std::chrono::seconds;

struct Unit {
  std::int64_t seconds;
  std::string_view name;
};
constexpr std::array<Unit, 4> kUnits = {{{86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}}};

// The largest unit of at most `max_unit` seconds that `s` (≥ 0) reaches, floored.
std::string FormatFloored(std::int64_t s, std::int64_t max_unit) {
  for (const Unit& u : kUnits) {
    if (u.seconds <= max_unit && s >= u.seconds) {
      return fmt::format("{} {}", s / u.seconds, u.name);
    }
  }
  return fmt::format("{} s", s);
}

// The largest unit that divides a configured duration exactly: 36h stays "36 h".
std::int64_t ExactUnit(seconds d) {
  for (const Unit& u : kUnits) {
    if (d.count() > 0 && d.count() % u.seconds == 0) return u.seconds;
  }
  return 1;
}

std::string FormatExact(seconds d) {
  const std::int64_t unit = ExactUnit(d);
  return FormatFloored(d.count(), unit);
}

// An age shown against a threshold, in a unit no larger than the threshold's own, so the
// shown numbers compare as the seconds do (40 h against 36 h, never "1 d ≥ 36 h").
std::string FormatAgeAgainst(seconds age, seconds threshold) {
  if (age.count() < 0) return FormatAge(age);
  return FormatFloored(age.count(), ExactUnit(threshold));
}

std::string Count(std::int64_t n, std::string_view what) {
  return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  return fmt::format("{}", fmt::join(parts, sep));
}

// The reasons that call for a full retrain, in the order of the §7 table.
std::vector<std::string> FullTriggers(const ModelConfig& model, const PolicyInput& in) {
  std::vector<std::string> out;
  if (!in.has_production) out.push_back("no production model");
  if (!in.fingerprint_changes.empty()) {
    out.push_back("fingerprint changed: " + Join(in.fingerprint_changes, ", "));
  }
  if (!in.tuned_changes.empty()) {
    out.push_back(fmt::format(
        "tuned params applied ({}): {}",
        in.tuned_study ? fmt::format("study {}", *in.tuned_study) : std::string("set by hand"),
        Join(in.tuned_changes, ", ")));
  }
  if (in.since_last_full && *in.since_last_full >= model.full_every) {
    out.push_back(fmt::format("last full {} ago ≥ full_every {}",
                              FormatAgeAgainst(*in.since_last_full, model.full_every),
                              FormatExact(model.full_every)));
  }
  if (in.chain >= model.incremental.max_chain) {
    out.push_back(fmt::format("{} in a row ≥ max_chain {}", Count(in.chain, "incremental version"),
                              model.incremental.max_chain));
  }
  if (in.drift) out.push_back(*in.drift);
  if (in.forced) out.push_back("forced by " + *in.forced);
  return out;
}

}  // namespace

std::string_view DecisionName(DecisionKind kind) {
  switch (kind) {
    case DecisionKind::kSkip:
      return "skip";
    case DecisionKind::kIncremental:
      return "incremental";
    case DecisionKind::kFull:
      return "full";
  }
  return "skip";
}

std::string Decision::Summary() const {
  return Join(reasons, "; ") + " → " + std::string(DecisionName(kind));
}

std::string FormatAge(seconds age) {
  if (age.count() < 0) return "-" + FormatAge(-age);  // clock skew: shown, not hidden
  return FormatFloored(age.count(), kUnits.front().seconds);
}

Decision Decide(const ModelConfig& model, const PolicyInput& in) {
  Decision d;
  std::vector<std::string>& r = d.reasons;
  if (in.labelled_rows < model.min_rows) {
    r.push_back(fmt::format("{} < min_rows {}", Count(in.labelled_rows, "row"), model.min_rows));
    return d;
  }

  const std::int64_t min_new = model.incremental.min_new_rows;
  const bool few_new = in.new_rows < min_new;
  // new_rows counts from the last attempt's horizon, so after a rejection it says how much
  // has arrived since: retrying needs min_new_rows of it, or a rejection would repeat.
  const std::string since_rejected =
      fmt::format("{} since it {} {}", Count(in.new_rows, "new row"), few_new ? "<" : "≥", min_new);

  r = FullTriggers(model, in);
  if (!r.empty()) {
    d.kind = DecisionKind::kFull;
    if (in.last_attempt_rejected) {
      if (!few_new) {
        r.push_back("last attempt " + in.last_attempt_outcome);
        r.push_back(since_rejected);
      } else if (in.forced) {
        r.push_back("back-off overridden: last attempt " + in.last_attempt_outcome + ", " +
                    since_rejected);
      } else {
        r.push_back("last attempt " + in.last_attempt_outcome);
        r.push_back(since_rejected);
        d.kind = DecisionKind::kSkip;
        return d;
      }
    }
  } else {
    r.push_back("fingerprint unchanged");
    if (!few_new) {
      r.push_back(fmt::format("{} ≥ {}", Count(in.new_rows, "new row"), min_new));
      d.kind = DecisionKind::kIncremental;
    } else {
      r.push_back(in.new_rows == 0
                      ? std::string("no new rows")
                      : fmt::format("{} < {}", Count(in.new_rows, "new row"), min_new));
      if (in.model_age && *in.model_age >= model.max_age) {
        r.push_back(fmt::format("model {} old ≥ max_age {}",
                                FormatAgeAgainst(*in.model_age, model.max_age),
                                FormatExact(model.max_age)));
        if (in.new_rows > 0 && in.last_attempt_rejected) {
          r.push_back("last attempt " +
                      in.last_attempt_outcome);  // the back-off of the table's skip row
        } else if (in.new_rows > 0) {
          d.kind = DecisionKind::kIncremental;
        }
      } else if (in.model_age) {
        r.push_back(fmt::format("model {} old < {}", FormatAgeAgainst(*in.model_age, model.max_age),
                                FormatExact(model.max_age)));
      }
    }
  }
  if (d.kind == DecisionKind::kSkip) return d;

  // The same k PlanSplit starts from; its timestamp cut can only make the holdout larger.
  const std::int64_t k = HoldoutRows(in.holdout_pool, model.holdout.fraction);
  const std::int64_t needed = std::max<std::int64_t>(model.holdout.min_rows, 1);
  if (k < needed) {
    r.push_back(fmt::format("waiting for unseen rows: {} < {}", k, needed));
    d.kind = DecisionKind::kSkip;
  }
  return d;
}

std::string_view ReplayPolicyName(ReplayPolicy policy) {
  switch (policy) {
    case ReplayPolicy::kDefault:
      return "default";
    case ReplayPolicy::kAlwaysFull:
      return "always-full";
    case ReplayPolicy::kIncrementalOnly:
      return "incremental-only";
    case ReplayPolicy::kNeverRetrain:
      return "never-retrain";
  }
  return "default";
}

const std::vector<ReplayPolicy>& AllReplayPolicies() {
  static const std::vector<ReplayPolicy> all = {ReplayPolicy::kDefault, ReplayPolicy::kAlwaysFull,
                                                ReplayPolicy::kIncrementalOnly,
                                                ReplayPolicy::kNeverRetrain};
  return all;
}

std::optional<ReplayPolicy> ParseReplayPolicy(std::string_view name) {
  for (ReplayPolicy p : AllReplayPolicies()) {
    if (ReplayPolicyName(p) == name) return p;
  }
  return std::nullopt;
}

Decision DecideUnder(ReplayPolicy policy, const ModelConfig& model, const PolicyInput& in) {
  switch (policy) {
    case ReplayPolicy::kDefault:
      return Decide(model, in);
    case ReplayPolicy::kAlwaysFull: {
      Decision d = Decide(model, in);
      if (d.kind == DecisionKind::kIncremental) {
        d.kind = DecisionKind::kFull;
        d.reasons.push_back("policy always-full");
      }
      return d;
    }
    case ReplayPolicy::kIncrementalOnly: {
      // Only what makes an incremental impossible still calls for a full: no production, or
      // a changed fingerprint (different features cannot continue the old trees).
      PolicyInput only = in;
      only.since_last_full.reset();
      only.chain = 0;
      only.drift.reset();
      only.forced.reset();
      Decision d = Decide(model, only);
      if (Decide(model, in).kind != d.kind) d.reasons.push_back("policy incremental-only");
      return d;
    }
    case ReplayPolicy::kNeverRetrain: {
      if (!in.has_production) return Decide(model, in);
      Decision d;
      d.reasons.push_back("production exists");
      d.reasons.push_back("policy never-retrain");
      return d;
    }
  }
  return Decide(model, in);
}

}  // namespace mlcron
