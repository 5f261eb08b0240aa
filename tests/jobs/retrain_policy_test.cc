#include "jobs/retrain_policy.h"

#include <gtest/gtest.h>

#include <functional>

#include "jobs/fingerprint.h"

namespace mlcron {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
constexpr seconds kDay{86400};

// min_rows 100, min_new_rows 100, max_chain 12, full_every 90 d, max_age 7 d, holdout 0.2 / 20.
ModelConfig Model() {
  ModelConfig m;
  m.name = "churn";
  m.label = "churned";
  m.features = {"age", "income"};
  m.objective = "binary:logistic";
  m.params = {{"eta", "0.1"}, {"tree_method", "hist"}};
  return m;
}

// A healthy production model with nothing due: 42 new rows, 3 days old.
PolicyInput Steady() {
  PolicyInput in;
  in.has_production = true;
  in.since_last_full = 10 * kDay;
  in.chain = 2;
  in.model_age = 3 * kDay;
  in.labelled_rows = 5000;
  in.new_rows = 42;
  in.holdout_pool = 1000;
  return in;
}

PolicyInput First() {
  PolicyInput in;
  in.labelled_rows = 5000;
  in.new_rows = 5000;
  in.holdout_pool = 5000;
  return in;
}

struct Case {
  const char* name;
  PolicyInput input;
  std::function<void(ModelConfig&, PolicyInput&)> tweak;
  DecisionKind kind;
  const char* summary;
};

const Case kCases[] = {
    // Too few rows, before anything else: even a forced full needs data.
    {"few_rows", Steady(),
     [](ModelConfig& m, PolicyInput& in) {
       m.min_rows = 300;
       in.labelled_rows = 37;
     },
     DecisionKind::kSkip, "37 rows < min_rows 300 → skip"},
    {"one_row", Steady(), [](ModelConfig&, PolicyInput& in) { in.labelled_rows = 1; },
     DecisionKind::kSkip, "1 row < min_rows 100 → skip"},
    {"few_rows_forced", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.labelled_rows = 37;
       in.forced = "--full";
     },
     DecisionKind::kSkip, "37 rows < min_rows 100 → skip"},
    {"min_rows_exactly", First(), [](ModelConfig&, PolicyInput& in) { in.labelled_rows = 100; },
     DecisionKind::kFull, "no production model → full"},

    // Full triggers.
    {"no_production", First(), nullptr, DecisionKind::kFull, "no production model → full"},
    {"fingerprint_changed", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.fingerprint_changes = {"params.max_depth 4 → 6", "features reordered"};
     },
     DecisionKind::kFull, "fingerprint changed: params.max_depth 4 → 6, features reordered → full"},
    {"full_every_elapsed", Steady(),
     [](ModelConfig&, PolicyInput& in) { in.since_last_full = 91 * kDay; }, DecisionKind::kFull,
     "last full 91 d ago ≥ full_every 90 d → full"},
    {"full_every_exactly", Steady(),
     [](ModelConfig&, PolicyInput& in) { in.since_last_full = 90 * kDay; }, DecisionKind::kFull,
     "last full 90 d ago ≥ full_every 90 d → full"},
    {"full_every_not_yet", Steady(),
     [](ModelConfig&, PolicyInput& in) { in.since_last_full = 90 * kDay - seconds(1); },
     DecisionKind::kSkip, "fingerprint unchanged; 42 new rows < 100; model 3 d old < 7 d → skip"},
    {"full_every_in_hours", Steady(),
     [](ModelConfig& m, PolicyInput& in) {
       m.full_every = hours(36);
       in.since_last_full = hours(40);
     },
     DecisionKind::kFull, "last full 40 h ago ≥ full_every 36 h → full"},
    {"max_chain", Steady(), [](ModelConfig&, PolicyInput& in) { in.chain = 12; },
     DecisionKind::kFull, "12 incremental versions in a row ≥ max_chain 12 → full"},
    {"max_chain_one", Steady(),
     [](ModelConfig& m, PolicyInput& in) {
       m.incremental.max_chain = 1;
       in.chain = 1;
     },
     DecisionKind::kFull, "1 incremental version in a row ≥ max_chain 1 → full"},
    {"chain_below_max", Steady(), [](ModelConfig&, PolicyInput& in) { in.chain = 11; },
     DecisionKind::kSkip, "fingerprint unchanged; 42 new rows < 100; model 3 d old < 7 d → skip"},
    {"drift", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.drift = "live log_loss 0.52 is 30% worse than holdout 0.40 > max_degradation 20%";
     },
     DecisionKind::kFull,
     "live log_loss 0.52 is 30% worse than holdout 0.40 > max_degradation 20% → full"},
    {"forced", Steady(), [](ModelConfig&, PolicyInput& in) { in.forced = "--full"; },
     DecisionKind::kFull, "forced by --full → full"},
    {"all_triggers_in_order", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.fingerprint_changes = {"label a → b"};
       in.since_last_full = 100 * kDay;
       in.chain = 12;
       in.drift = "drifted";
       in.forced = "MLCRON_FORCE_FULL=1";
     },
     DecisionKind::kFull,
     "fingerprint changed: label a → b; last full 100 d ago ≥ full_every 90 d; 12 incremental "
     "versions in a row ≥ max_chain 12; drifted; forced by MLCRON_FORCE_FULL=1 → full"},

    // Back-off after a rejected attempt.
    {"backoff_skips_full", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.fingerprint_changes = {"params.eta 0.3 → 0.1"};
       in.last_attempt_rejected = true;
     },
     DecisionKind::kSkip,
     "fingerprint changed: params.eta 0.3 → 0.1; last attempt rejected; 42 new rows since it < "
     "100 → skip"},
    {"backoff_first_model", First(),
     [](ModelConfig&, PolicyInput& in) {
       in.last_attempt_rejected = true;
       in.new_rows = 1;
     },
     DecisionKind::kSkip,
     "no production model; last attempt rejected; 1 new row since it < 100 → skip"},
    {"backoff_over", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.chain = 12;
       in.last_attempt_rejected = true;
       in.new_rows = 100;
     },
     DecisionKind::kFull,
     "12 incremental versions in a row ≥ max_chain 12; last attempt rejected; 100 new rows since "
     "it ≥ 100 → full"},
    {"forced_overrides_backoff", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.forced = "--full";
       in.last_attempt_rejected = true;
     },
     DecisionKind::kFull,
     "forced by --full; back-off overridden: last attempt rejected, 42 new rows since it < 100 → "
     "full"},
    {"backoff_skips_max_age", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.model_age = 9 * kDay;
       in.new_rows = 5;
       in.last_attempt_rejected = true;
     },
     DecisionKind::kSkip,
     "fingerprint unchanged; 5 new rows < 100; model 9 d old ≥ max_age 7 d; last attempt rejected "
     "→ skip"},
    {"incremental_after_rejection", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.new_rows = 142;
       in.last_attempt_rejected = true;
     },
     DecisionKind::kIncremental, "fingerprint unchanged; 142 new rows ≥ 100 → incremental"},

    // Incremental.
    {"new_rows", Steady(), [](ModelConfig&, PolicyInput& in) { in.new_rows = 142; },
     DecisionKind::kIncremental, "fingerprint unchanged; 142 new rows ≥ 100 → incremental"},
    {"new_rows_exactly", Steady(), [](ModelConfig&, PolicyInput& in) { in.new_rows = 100; },
     DecisionKind::kIncremental, "fingerprint unchanged; 100 new rows ≥ 100 → incremental"},
    {"max_age", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.model_age = 9 * kDay;
       in.new_rows = 5;
     },
     DecisionKind::kIncremental,
     "fingerprint unchanged; 5 new rows < 100; model 9 d old ≥ max_age 7 d → incremental"},
    {"max_age_exactly", Steady(), [](ModelConfig&, PolicyInput& in) { in.model_age = 7 * kDay; },
     DecisionKind::kIncremental,
     "fingerprint unchanged; 42 new rows < 100; model 7 d old ≥ max_age 7 d → incremental"},
    {"max_age_in_hours", Steady(),
     [](ModelConfig& m, PolicyInput& in) {
       m.max_age = hours(36);
       in.model_age = hours(40);
     },
     DecisionKind::kIncremental,
     "fingerprint unchanged; 42 new rows < 100; model 40 h old ≥ max_age 36 h → incremental"},

    // Skip.
    {"nothing_due", Steady(), nullptr, DecisionKind::kSkip,
     "fingerprint unchanged; 42 new rows < 100; model 3 d old < 7 d → skip"},
    {"new_rows_below", Steady(), [](ModelConfig&, PolicyInput& in) { in.new_rows = 99; },
     DecisionKind::kSkip, "fingerprint unchanged; 99 new rows < 100; model 3 d old < 7 d → skip"},
    {"young_in_hours", Steady(),
     [](ModelConfig&, PolicyInput& in) { in.model_age = hours(5) + minutes(59); },
     DecisionKind::kSkip, "fingerprint unchanged; 42 new rows < 100; model 5 h old < 7 d → skip"},
    {"old_but_no_new_rows", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.model_age = 9 * kDay;
       in.new_rows = 0;
     },
     DecisionKind::kSkip, "fingerprint unchanged; no new rows; model 9 d old ≥ max_age 7 d → skip"},
    {"age_unknown", Steady(), [](ModelConfig&, PolicyInput& in) { in.model_age.reset(); },
     DecisionKind::kSkip, "fingerprint unchanged; 42 new rows < 100 → skip"},

    // Holdout feasibility, for every decision that would train.
    {"holdout_first_model", First(), [](ModelConfig&, PolicyInput& in) { in.holdout_pool = 60; },
     DecisionKind::kSkip, "no production model; waiting for unseen rows: 12 < 20 → skip"},
    {"holdout_incremental", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.new_rows = 142;
       in.holdout_pool = 99;
     },
     DecisionKind::kSkip,
     "fingerprint unchanged; 142 new rows ≥ 100; waiting for unseen rows: 19 < 20 → skip"},
    {"holdout_just_enough", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.new_rows = 142;
       in.holdout_pool = 100;
     },
     DecisionKind::kIncremental, "fingerprint unchanged; 142 new rows ≥ 100 → incremental"},
    {"holdout_forced", Steady(),
     [](ModelConfig&, PolicyInput& in) {
       in.forced = "--full";
       in.holdout_pool = 0;
     },
     DecisionKind::kSkip, "forced by --full; waiting for unseen rows: 0 < 20 → skip"},
    {"holdout_fraction_float", Steady(),
     [](ModelConfig& m, PolicyInput& in) {
       m.holdout.fraction = 0.29;
       m.holdout.min_rows = 29;
       in.new_rows = 142;
       in.holdout_pool = 100;
     },
     DecisionKind::kIncremental, "fingerprint unchanged; 142 new rows ≥ 100 → incremental"},
};

class DecideTable : public ::testing::TestWithParam<Case> {};

TEST_P(DecideTable, DecisionAndSummary) {
  const Case& c = GetParam();
  ModelConfig model = Model();
  PolicyInput in = c.input;
  if (c.tweak) c.tweak(model, in);
  Decision d = Decide(model, in);
  EXPECT_EQ(d.Summary(), c.summary);
  EXPECT_EQ(DecisionName(d.kind), DecisionName(c.kind));
}

INSTANTIATE_TEST_SUITE_P(Section7, DecideTable, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Decide, SummaryJoinsEveryReason) {
  Decision d;
  d.kind = DecisionKind::kIncremental;
  d.reasons = {"a", "b", "c"};
  EXPECT_EQ(d.Summary(), "a; b; c → incremental");
  EXPECT_EQ(DecisionName(DecisionKind::kFull), "full");
}

// Runs of a job after a rejected attempt, with `per_run` rows arriving before each. Every
// attempt is rejected again, which resets new rows (they count from its horizon). Returns
// the runs (1-based) that trained.
std::vector<int> SimulateRejections(PolicyInput in, std::int64_t per_run, int runs) {
  std::vector<int> trained;
  in.last_attempt_rejected = true;
  in.new_rows = 0;
  for (int run = 1; run <= runs; ++run) {
    in.new_rows += per_run;
    in.labelled_rows += per_run;
    in.holdout_pool += per_run;
    Decision d = Decide(Model(), in);
    if (d.kind == DecisionKind::kSkip) continue;
    trained.push_back(run);
    in.new_rows = 0;  // rejected again
  }
  return trained;
}

TEST(Decide, RejectionNeverLeadsToARetrainingLoop) {
  PolicyInput changed = Steady();
  changed.fingerprint_changes = {"params.eta 0.3 → 0.1"};
  // 10 rows per run, min_new_rows 100: one attempt per 10 runs, not one per run.
  EXPECT_EQ(SimulateRejections(changed, 10, 50), (std::vector<int>{10, 20, 30, 40, 50}));

  PolicyInput old = Steady();
  old.model_age = 30 * kDay;
  EXPECT_EQ(SimulateRejections(old, 5, 50), (std::vector<int>{20, 40}));

  PolicyInput first = First();
  first.labelled_rows = first.holdout_pool = 1000;
  EXPECT_EQ(SimulateRejections(first, 30, 12), (std::vector<int>{4, 8, 12}));
}

TEST(Decide, SkipsBetweenRejectedAttemptsSayWhy) {
  PolicyInput in = Steady();
  in.fingerprint_changes = {"params.eta 0.3 → 0.1"};
  in.last_attempt_rejected = true;
  in.new_rows = 90;
  EXPECT_EQ(Decide(Model(), in).Summary(),
            "fingerprint changed: params.eta 0.3 → 0.1; last attempt rejected; 90 new rows since "
            "it < 100 → skip");
}

TEST(Decide, ForcedTrainsAfterEveryRejection) {
  PolicyInput in = Steady();
  in.forced = "job full: true";
  in.last_attempt_rejected = true;
  in.new_rows = 0;
  Decision d = Decide(Model(), in);
  EXPECT_EQ(d.kind, DecisionKind::kFull);
  EXPECT_EQ(d.Summary(),
            "forced by job full: true; back-off overridden: last attempt rejected, 0 new rows "
            "since it < 100 → full");
}

TEST(Decide, RuntimeOnlyParamChangeDoesNotRetrain) {
  ModelConfig stored = Model();
  stored.params.emplace_back("nthread", "4");
  ModelConfig now = Model();
  now.params.emplace_back("nthread", "16");
  now.params.emplace_back("verbosity", "0");
  PolicyInput in = Steady();
  in.fingerprint_changes = DescribeFingerprintChange(ComputeFingerprint(stored, "1.7.4").canonical,
                                                     ComputeFingerprint(now, "1.7.4").canonical);
  EXPECT_EQ(Decide(now, in).Summary(),
            "fingerprint unchanged; 42 new rows < 100; model 3 d old < 7 d → skip");

  now.params[0].second = "0.05";  // eta: a real change
  in.fingerprint_changes = DescribeFingerprintChange(ComputeFingerprint(stored, "1.7.4").canonical,
                                                     ComputeFingerprint(now, "1.7.4").canonical);
  EXPECT_EQ(Decide(now, in).Summary(), "fingerprint changed: params.eta 0.1 → 0.05 → full");
}

TEST(FormatAge, FloorsInTheLargestUnitReached) {
  EXPECT_EQ(FormatAge(seconds(0)), "0 s");
  EXPECT_EQ(FormatAge(seconds(40)), "40 s");
  EXPECT_EQ(FormatAge(seconds(59)), "59 s");
  EXPECT_EQ(FormatAge(seconds(60)), "1 min");
  EXPECT_EQ(FormatAge(minutes(12) + seconds(59)), "12 min");
  EXPECT_EQ(FormatAge(hours(5) + minutes(59)), "5 h");
  EXPECT_EQ(FormatAge(kDay - seconds(1)), "23 h");
  EXPECT_EQ(FormatAge(kDay), "1 d");
  EXPECT_EQ(FormatAge(3 * kDay + hours(23)), "3 d");
  EXPECT_EQ(FormatAge(400 * kDay), "400 d");
  EXPECT_EQ(FormatAge(seconds(-40)), "-40 s");  // clock skew is shown, not hidden
}

}  // namespace
}  // namespace mlcron

namespace mlcron {
namespace {

TEST(ReplayPolicyTest, NamesRoundTrip) {
  for (ReplayPolicy p : AllReplayPolicies()) {
    EXPECT_EQ(ParseReplayPolicy(ReplayPolicyName(p)), p);
  }
  EXPECT_EQ(ParseReplayPolicy("always_full"), std::nullopt);
}

TEST(ReplayPolicyTest, AlwaysFullTurnsIncrementalIntoFull) {
  PolicyInput in = Steady();
  in.new_rows = 500;
  const Decision d = DecideUnder(ReplayPolicy::kAlwaysFull, Model(), in);
  EXPECT_EQ(d.Summary(), "fingerprint unchanged; 500 new rows ≥ 100; policy always-full → full");
  in.new_rows = 42;  // a skip stays a skip: the same triggers
  EXPECT_EQ(DecideUnder(ReplayPolicy::kAlwaysFull, Model(), in).kind, DecisionKind::kSkip);
}

TEST(ReplayPolicyTest, IncrementalOnlyIgnoresPeriodicFullAndChain) {
  PolicyInput in = Steady();
  in.new_rows = 500;
  in.since_last_full = 100 * kDay;
  in.chain = 12;
  in.drift = "live drift";
  EXPECT_EQ(DecideUnder(ReplayPolicy::kDefault, Model(), in).kind, DecisionKind::kFull);
  const Decision d = DecideUnder(ReplayPolicy::kIncrementalOnly, Model(), in);
  EXPECT_EQ(d.Summary(),
            "fingerprint unchanged; 500 new rows ≥ 100; policy incremental-only → incremental");
  // The first model is still full.
  EXPECT_EQ(DecideUnder(ReplayPolicy::kIncrementalOnly, Model(), First()).kind,
            DecisionKind::kFull);
}

TEST(ReplayPolicyTest, NeverRetrainKeepsTheFirstModel) {
  PolicyInput in = Steady();
  in.new_rows = 5000;
  in.since_last_full = 400 * kDay;
  EXPECT_EQ(DecideUnder(ReplayPolicy::kNeverRetrain, Model(), in).Summary(),
            "production exists; policy never-retrain → skip");
  EXPECT_EQ(DecideUnder(ReplayPolicy::kNeverRetrain, Model(), First()).kind, DecisionKind::kFull);
}

}  // namespace
}  // namespace mlcron
