#include "jobs/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace mlcron {

XgbParams TrainingParams(const ModelConfig& model, int num_class) {
  XgbParams params = {{"objective", model.objective}};
  if (model.objective == "multi:softprob" && model.DeclaredClasses() == 0) {
    params.emplace_back("num_class", std::to_string(num_class));
  }
  params.insert(params.end(), model.params.begin(), model.params.end());
  return params;
}

int ClassCount(const ModelConfig& model, const Dataset& rows, int parent_num_class) {
  if (model.objective != "multi:softprob") return 0;
  if (int declared = model.DeclaredClasses(); declared > 0) return declared;
  if (parent_num_class > 0) return parent_num_class;
  float top = 1;
  for (float y : rows.y) {
    if (std::isfinite(y)) top = std::max(top, y);
  }
  // Labels are checked to be integers later; a fractional max only makes the count wrong
  // in a way CheckLabels reports.
  return static_cast<int>(top) + 1;
}

Result<TrainedModel> TrainCandidate(const ModelConfig& model, const Dataset& rows,
                                    const SplitPlan& split, const TrainRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  TrainedModel out;
  out.num_class = ClassCount(model, rows, request.parent_num_class);

  const size_t n = split.train_end - split.train_begin;
  std::span<const float> x(rows.x.data() + split.train_begin * rows.cols, n * rows.cols);
  std::span<const float> y(rows.y.data() + split.train_begin, n);
  std::span<const std::string> keys(rows.keys.data() + split.train_begin, n);
  // The holdout's labels must fit the objective too, or evaluating on them would fail later.
  const size_t h = split.holdout_end - split.holdout_begin;
  if (Status s = CheckLabels(model.objective, out.num_class, y, keys); !s.ok()) return s;
  if (Status s =
          CheckLabels(model.objective, out.num_class,
                      std::span<const float>(rows.y.data() + split.holdout_begin, h),
                      std::span<const std::string>(rows.keys.data() + split.holdout_begin, h));
      !s.ok()) {
    return s;
  }

  Result<XgbMatrix> matrix =
      XgbMatrix::FromDense(x, n, rows.cols, y, ParamThreads(TrainingParams(model, out.num_class)));
  if (!matrix.ok()) return matrix.status();
  Result<XgbBooster> booster =
      request.incremental ? XgbBooster::FromUbj(request.parent_ubj) : XgbBooster::New();
  if (!booster.ok()) return booster.status();

  out.params = TrainingParams(model, out.num_class);
  int rounds = model.rounds;
  if (request.incremental) {
    // The contract is checked before a single tree is added to the parent.
    if (Status s = booster->CheckFeatures(model.features); !s.ok()) return s;
    // Loading reset the training params; base_score is deliberately not re-applied.
    if (Status s = booster->SetParams(out.params); !s.ok()) return s;
    rounds = model.incremental.rounds;
  } else {
    if (Status s = booster->SetParams(out.params); !s.ok()) return s;
    out.base_score = InitialBaseScore(model.objective, y);
    if (Status s = booster->SetBaseScore(out.base_score); !s.ok()) return s;
    if (Status s = booster->SetFeatureNames(model.features); !s.ok()) return s;
  }
  if (Status s = booster->Train(*matrix, rounds); !s.ok()) return s;
  out.trees = booster->BoostedRounds();
  Result<std::string> ubj = booster->SaveUbj();
  if (!ubj.ok()) return ubj.status();
  out.ubj = std::move(*ubj);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace mlcron
