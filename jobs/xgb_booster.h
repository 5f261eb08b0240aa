// RAII over XGBoost's C API (DESIGN.md §7). No XGBoost header leaks out of this file: the
// handles are opaque. Every call's failure becomes a Status with XGBGetLastError's text.
// Not thread-safe: use each matrix and booster from one thread at a time (XGBoost keeps
// prediction buffers, log callbacks and verbosity per thread).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/status.h"

namespace mlcron {

using XgbParams = std::vector<std::pair<std::string, std::string>>;

// A dense training matrix. Copies nothing it does not have to: XGBoost takes the buffer
// through its array-interface JSON.
class XgbMatrix {
 public:
  // `x` is rows × cols row-major with NaN as missing; `labels` has `rows` entries or is empty.
  // XGBoost copies both, so the spans need not outlive the call. `nthread` > 0 caps the
  // threads XGBoost uses to build it (0: all cores): without it a model trained with
  // `nthread: 1` still builds its matrix on every core.
  static Result<XgbMatrix> FromDense(std::span<const float> x, size_t rows, size_t cols,
                                     std::span<const float> labels, int nthread = 0);
  XgbMatrix(XgbMatrix&& other) noexcept;
  XgbMatrix& operator=(XgbMatrix&& other) noexcept;
  ~XgbMatrix();
  size_t rows() const { return rows_; }
  size_t cols() const { return cols_; }
  void* handle() const { return handle_; }

 private:
  XgbMatrix() = default;
  void* handle_ = nullptr;
  size_t rows_ = 0;
  size_t cols_ = 0;
};

class XgbBooster {
 public:
  static Result<XgbBooster> New();
  // Loads a model saved by SaveUbj. Loading resets training params: call SetParams again
  // (without base_score) before training more rounds. Bytes that are not well-formed UBJSON
  // (truncated, another format) are rejected before XGBoost sees them, because XGBoost
  // 1.7's reader does not bound-check them. Damage inside well-formed trees can still crash
  // XGBoost: the model store's SHA-256 check is the guard for that.
  static Result<XgbBooster> FromUbj(std::string_view bytes);
  XgbBooster(XgbBooster&& other) noexcept;
  XgbBooster& operator=(XgbBooster&& other) noexcept;
  ~XgbBooster();

  // Sets each param, then verbosity (at least 1, see below) and validate_parameters=1.
  // XGBoost reports an unknown name once, as a warning, when it next configures the booster
  // (BoostedRounds, Train, Predict or SaveUbj). The warning is captured and the name is
  // remembered: from then on Train, Predict and SaveUbj fail with "unknown XGBoost param:
  // max_dept". Verbosity 0 is raised to 1 because it would hide that warning; it is also
  // set when absent because XGBoost keeps the last booster's verbosity per thread.
  Status SetParams(const XgbParams& params);
  // Explicit base_score, for full training only: on a loaded model it would shift the
  // existing trees' outputs.
  Status SetBaseScore(double base_score);

  // Stored in the model file; checked before training or scoring because XGBoost itself
  // only checks the column count.
  Status SetFeatureNames(const std::vector<std::string>& names);
  Result<std::vector<std::string>> FeatureNames() const;
  // Error: "feature contract mismatch: the model has [a, b] but the rows have [b, a]".
  Status CheckFeatures(const std::vector<std::string>& expected) const;

  // Adds `rounds` (>= 1) boosting rounds on `train`, continuing from BoostedRounds(). Fails
  // on a param XGBoost reports as unused ("unknown XGBoost param: max_dept"), before the
  // first new round is trained.
  Status Train(const XgbMatrix& train, int rounds);
  // 0 for a new booster; -1 if XGBoost fails (not seen in practice).
  int BoostedRounds() const;

  Result<std::string> SaveUbj() const;

  // Scores rows × cols row-major floats (NaN missing) with the first `rounds` rounds
  // (0 = all). Returns rows × groups values (groups = num_class for multi:softprob, else 1),
  // copied out of XGBoost's per-thread buffer. XGBoost checks cols against the model.
  Result<std::vector<float>> Predict(std::span<const float> x, size_t rows, size_t cols,
                                     int rounds = 0) const;

 private:
  XgbBooster() = default;
  Result<int> Rounds() const;
  Status UnknownParams() const;

  void* handle_ = nullptr;
  // Created by New() and not trained yet: XGBoost 1.7 cannot configure it (no features).
  bool untrained_ = false;
  // Names XGBoost reported as unused. It reports each once, and a set param cannot be
  // unset, so they stay here for the booster's life.
  mutable std::vector<std::string> unknown_params_;
};

// The `nthread` (or `n_jobs`) a model's params ask for; 0 when absent or not a number.
int ParamThreads(const XgbParams& params);

// "1.7.4", from XGBoostVersion.
std::string XgbVersion();

// The base_score a full training starts from: the positive rate for binary:logistic
// (clipped to [1e-6, 1 - 1e-6]), the label mean for reg:squarederror and count:poisson
// (at least 1e-6 for poisson), 0.5 for multi:softprob, other objectives and no labels.
double InitialBaseScore(std::string_view objective, std::span<const float> labels);

// Labels valid for the objective: finite; 0/1 for binary; integers 0..num_class-1 for
// multi:softprob; >= 0 for count:poisson. `keys` names each label's row. Errors name the
// first bad row's key: "label 3 of row key 1234 is outside 0..2 (multi:softprob with
// num_class 3)". An objective other than those four is an error.
Status CheckLabels(std::string_view objective, int num_class, std::span<const float> labels,
                   std::span<const std::string> keys);

}  // namespace mlcron
