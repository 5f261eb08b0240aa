#include "jobs/xgb_booster.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <omp.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <nlohmann/json.hpp>

namespace mlcron {
namespace {

// XGBoost's last error without its "[hh:mm:ss] " prefix and the stack trace it appends.
std::string LastError() {
  std::string_view e = XGBGetLastError();
  if (size_t cut = e.find("\nStack trace:"); cut != std::string_view::npos) e = e.substr(0, cut);
  if (e.size() > 11 && e[0] == '[' && e[9] == ']' && e[10] == ' ') e.remove_prefix(11);
  while (!e.empty() && std::isspace(static_cast<unsigned char>(e.back()))) e.remove_suffix(1);
  return std::string(e);
}

Status Check(int rc, std::string_view what) {
  if (rc == 0) return Status::Ok();
  return Status::Error(fmt::format("XGBoost {}: {}", what, LastError()));
}

// XGBoost 1.7 keeps the log callback in a thread-local registry and calls it on the logging
// thread, so every thread registers once (a process-wide call_once would only cover the
// first thread), and the captured text is thread-local too.
constexpr size_t kMaxCapturedLog = 64 * 1024;
thread_local std::string captured_log;

constexpr std::string_view kUnusedPrefix = "Parameters: { ";
constexpr std::string_view kUnusedSuffix = " } are not used.";

void OnXgbLog(const char* message) {
  std::string_view m(message);
  if (captured_log.size() + m.size() < kMaxCapturedLog) captured_log.append(m).push_back('\n');
  // Without a callback XGBoost prints to stderr, which is the run log; keep that, except for
  // the unused-params warning, which becomes an error with a better message.
  if (m.find(kUnusedSuffix) == std::string_view::npos) std::cerr << m << '\n';
}

// Collects what XGBoost logs on this thread while it lives and appends the names of
// "Parameters: { "max_dept", "zeta" } are not used." warnings to `sink`.
class UnusedParamWatch {
 public:
  explicit UnusedParamWatch(std::vector<std::string>* sink) : sink_(sink) {
    thread_local bool registered = false;
    if (!registered) registered = XGBRegisterLogCallback(OnXgbLog) == 0;
    captured_log.clear();
  }
  ~UnusedParamWatch() { Flush(); }
  UnusedParamWatch(const UnusedParamWatch&) = delete;
  UnusedParamWatch& operator=(const UnusedParamWatch&) = delete;

  void Flush() {
    std::string_view log = captured_log;
    for (size_t at = log.find(kUnusedPrefix); at != std::string_view::npos;
         at = log.find(kUnusedPrefix, at + 1)) {
      size_t begin = at + kUnusedPrefix.size();
      size_t end = log.find(kUnusedSuffix, begin);
      if (end == std::string_view::npos) break;
      std::string_view list = log.substr(begin, end - begin);
      while (!list.empty()) {
        size_t comma = list.find(", ");
        std::string_view name = list.substr(0, comma);
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
          name = name.substr(1, name.size() - 2);
        }
        if (std::find(sink_->begin(), sink_->end(), name) == sink_->end()) {
          sink_->emplace_back(name);
        }
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 2);
      }
    }
    captured_log.clear();
  }

 private:
  std::vector<std::string>* sink_;
};

// Walks UBJSON without building it. XGBoost 1.7's own reader trusts lengths and counts, so
// a truncated file would make it read past the buffer; this rejects such bytes first.
class UbjChecker : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t) override { return Value(); }
  bool number_unsigned(number_unsigned_t) override { return Value(); }
  bool number_float(number_float_t, const string_t&) override { return Value(); }
  bool string(string_t&) override { return Value(); }
  bool binary(binary_t&) override { return Value(); }
  bool start_object(std::size_t) override { return Open(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = e.what();
    // "[json.exception.parse_error.110] parse error at byte 9: ..." -> "parse error at ..."
    if (size_t cut = error_.find("] "); cut != std::string::npos) error_.erase(0, cut + 2);
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  // A model is one object; XGBoost nests about eight deep. The cap keeps the recursive
  // parsers (nlohmann's and XGBoost's) off deep garbage.
  static constexpr int kMaxDepth = 64;
  bool Value() {
    if (depth_ > 0) return true;
    error_ = "the top level is not an object";
    return false;
  }
  bool Open() {
    if (depth_ == 0 && seen_top_) return Value();
    seen_top_ = true;
    if (++depth_ <= kMaxDepth) return true;
    error_ = fmt::format("nested deeper than {}", kMaxDepth);
    return false;
  }
  bool Close() {
    --depth_;
    return true;
  }
  int depth_ = 0;
  bool seen_top_ = false;
  std::string error_;
};

Status CheckUbj(std::string_view bytes) {
  UbjChecker checker;
  bool ok = nlohmann::json::sax_parse(bytes.begin(), bytes.end(), &checker,
                                      nlohmann::json::input_format_t::ubjson, /*strict=*/true);
  if (ok) return Status::Ok();
  return Status::Error("not a UBJ model: " + checker.error());
}

// The array-interface JSON XGBoost reads a dense float buffer through (no copy on our side).
std::string DenseInterface(std::span<const float> x, size_t rows, size_t cols) {
  constexpr const char* kF4 = std::endian::native == std::endian::little ? "<f4" : ">f4";
  return fmt::format(R"({{"data": [{}, true], "shape": [{}, {}], "typestr": "{}", "version": 3}})",
                     reinterpret_cast<uintptr_t>(x.data()), rows, cols, kF4);
}

Status CheckShape(std::string_view what, std::span<const float> x, size_t rows, size_t cols) {
  if (x.size() == rows * cols) return Status::Ok();
  return Status::Error(
      fmt::format("XGBoost {}: {} values for {} rows × {} columns", what, x.size(), rows, cols));
}

}  // namespace

Result<XgbMatrix> XgbMatrix::FromDense(std::span<const float> x, size_t rows, size_t cols,
                                       std::span<const float> labels, int nthread) {
  if (Status s = CheckShape("matrix", x, rows, cols); !s.ok()) return s;
  if (rows == 0 || cols == 0) {
    return Status::Error(fmt::format("XGBoost matrix: {} rows × {} columns is empty", rows, cols));
  }
  if (!labels.empty() && labels.size() != rows) {
    return Status::Error(fmt::format("XGBoost matrix: {} labels for {} rows", labels.size(), rows));
  }
  XgbMatrix m;
  const std::string config = nthread > 0
                                 ? fmt::format(R"({{"missing": NaN, "nthread": {}}})", nthread)
                                 : std::string(R"({"missing": NaN})");
  Status s = Check(
      XGDMatrixCreateFromDense(DenseInterface(x, rows, cols).c_str(), config.c_str(), &m.handle_),
      "matrix");
  if (!s.ok()) return s;
  m.rows_ = rows;
  m.cols_ = cols;
  if (!labels.empty()) {
    s = Check(XGDMatrixSetFloatInfo(m.handle_, "label", labels.data(), labels.size()),
              "matrix labels");
    if (!s.ok()) return s;
  }
  return m;
}

XgbMatrix::XgbMatrix(XgbMatrix&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), rows_(other.rows_), cols_(other.cols_) {}

XgbMatrix& XgbMatrix::operator=(XgbMatrix&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) XGDMatrixFree(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    rows_ = other.rows_;
    cols_ = other.cols_;
  }
  return *this;
}

XgbMatrix::~XgbMatrix() {
  if (handle_ != nullptr) XGDMatrixFree(handle_);
}

Result<XgbBooster> XgbBooster::New() {
  XgbBooster b;
  if (Status s = Check(XGBoosterCreate(nullptr, 0, &b.handle_), "booster"); !s.ok()) return s;
  b.untrained_ = true;
  return b;
}

Result<XgbBooster> XgbBooster::FromUbj(std::string_view bytes) {
  if (Status s = CheckUbj(bytes); !s.ok()) return s;
  XgbBooster b;
  if (Status s = Check(XGBoosterCreate(nullptr, 0, &b.handle_), "booster"); !s.ok()) return s;
  Status s = Check(XGBoosterLoadModelFromBuffer(b.handle_, bytes.data(), bytes.size()),
                   "cannot load the model");
  if (!s.ok()) return s;
  return b;
}

XgbBooster::XgbBooster(XgbBooster&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      untrained_(other.untrained_),
      unknown_params_(std::move(other.unknown_params_)) {}

XgbBooster& XgbBooster::operator=(XgbBooster&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) XGBoosterFree(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    untrained_ = other.untrained_;
    unknown_params_ = std::move(other.unknown_params_);
  }
  return *this;
}

XgbBooster::~XgbBooster() {
  if (handle_ != nullptr) XGBoosterFree(handle_);
}

Status XgbBooster::SetParams(const XgbParams& params) {
  // XGBoost 1.7 honours `nthread` in training and prediction, but some of its OpenMP regions
  // (matrix building, metric and gradient helpers) ask OpenMP for its default team, every
  // core; the idle team then spins and costs a small model as much CPU as a large one. The
  // calling thread's OpenMP default follows the model's setting instead. (A job process runs
  // one model at a time; replay runs its models one after another in this thread.)
  if (int threads = ParamThreads(params); threads > 0) omp_set_num_threads(threads);
  bool verbosity_set = false;
  for (const auto& [name, value] : params) {
    std::string v = value;
    if (name == "verbosity") {
      verbosity_set = true;
      if (v == "0") v = "1";
    }
    Status s = Check(XGBoosterSetParam(handle_, name.c_str(), v.c_str()),
                     fmt::format("param {}={}", name, value));
    if (!s.ok()) return s;
  }
  if (!verbosity_set) {
    if (Status s = Check(XGBoosterSetParam(handle_, "verbosity", "1"), "param verbosity=1");
        !s.ok()) {
      return s;
    }
  }
  return Check(XGBoosterSetParam(handle_, "validate_parameters", "1"),
               "param validate_parameters=1");
}

Status XgbBooster::SetBaseScore(double base_score) {
  if (!std::isfinite(base_score)) {
    return Status::Error(fmt::format("XGBoost base_score {} is not finite", base_score));
  }
  std::string value = fmt::format("{}", base_score);
  return Check(XGBoosterSetParam(handle_, "base_score", value.c_str()),
               "param base_score=" + value);
}

Status XgbBooster::SetFeatureNames(const std::vector<std::string>& names) {
  std::vector<const char*> ptrs;
  ptrs.reserve(names.size());
  for (const std::string& n : names) ptrs.push_back(n.c_str());
  return Check(XGBoosterSetStrFeatureInfo(handle_, "feature_name", ptrs.data(), ptrs.size()),
               "feature names");
}

Result<std::vector<std::string>> XgbBooster::FeatureNames() const {
  bst_ulong len = 0;
  const char** out = nullptr;
  Status s =
      Check(XGBoosterGetStrFeatureInfo(handle_, "feature_name", &len, &out), "feature names");
  if (!s.ok()) return s;
  return std::vector<std::string>(out, out + len);
}

Status XgbBooster::CheckFeatures(const std::vector<std::string>& expected) const {
  Result<std::vector<std::string>> names = FeatureNames();
  if (!names.ok()) return names.status();
  if (*names == expected) return Status::Ok();
  return Status::Error(
      fmt::format("feature contract mismatch: the model has [{}] but the rows have [{}]",
                  fmt::join(*names, ", "), fmt::join(expected, ", ")));
}

Status XgbBooster::UnknownParams() const {
  if (unknown_params_.empty()) return Status::Ok();
  return Status::Error(fmt::format("unknown XGBoost param{}: {}",
                                   unknown_params_.size() == 1 ? "" : "s",
                                   fmt::join(unknown_params_, ", ")));
}

Result<int> XgbBooster::Rounds() const {
  if (untrained_) return 0;
  int rounds = 0;
  UnusedParamWatch watch(&unknown_params_);  // this call configures the booster
  if (Status s = Check(XGBoosterBoostedRounds(handle_, &rounds), "boosted rounds"); !s.ok()) {
    return s;
  }
  return rounds;
}

int XgbBooster::BoostedRounds() const {
  Result<int> rounds = Rounds();
  return rounds.ok() ? *rounds : -1;
}

Status XgbBooster::Train(const XgbMatrix& train, int rounds) {
  if (rounds < 1) {
    return Status::Error(fmt::format("XGBoost training: {} rounds, need at least 1", rounds));
  }
  if (Status s = UnknownParams(); !s.ok()) return s;
  UnusedParamWatch watch(&unknown_params_);
  int start = 0;
  if (untrained_) {
    // XGBoost 1.7 takes num_feature from the matrices given to XGBoosterCreate; New() has
    // none to give. Setting it is what the cache would do (the saved models are identical),
    // and it lets XGBoosterBoostedRounds configure the booster before any tree is grown.
    std::string cols = std::to_string(train.cols());
    Status s = Check(XGBoosterSetParam(handle_, "num_feature", cols.c_str()), "num_feature");
    if (s.ok()) s = Check(XGBoosterBoostedRounds(handle_, &start), "boosted rounds");
    if (!s.ok()) return s;
  } else {
    Result<int> r = Rounds();
    if (!r.ok()) return r.status();
    start = *r;
  }
  watch.Flush();
  if (Status s = UnknownParams(); !s.ok()) return s;
  for (int i = 0; i < rounds; ++i) {
    Status s = Check(XGBoosterUpdateOneIter(handle_, start + i, train.handle()),
                     fmt::format("training round {}", start + i + 1));
    if (!s.ok()) return s;
    untrained_ = false;
  }
  watch.Flush();
  return UnknownParams();
}

Result<std::string> XgbBooster::SaveUbj() const {
  if (untrained_) return Status::Error("XGBoost save: the booster has no trees yet");
  bst_ulong len = 0;
  const char* buf = nullptr;
  {
    UnusedParamWatch watch(&unknown_params_);
    Status s =
        Check(XGBoosterSaveModelToBuffer(handle_, R"({"format": "ubj"})", &len, &buf), "save");
    if (!s.ok()) return s;
  }
  if (Status s = UnknownParams(); !s.ok()) return s;
  return std::string(buf, len);
}

Result<std::vector<float>> XgbBooster::Predict(std::span<const float> x, size_t rows, size_t cols,
                                               int rounds) const {
  if (Status s = CheckShape("prediction", x, rows, cols); !s.ok()) return s;
  if (rounds < 0) return Status::Error(fmt::format("XGBoost prediction: {} rounds", rounds));
  if (untrained_) return Status::Error("XGBoost prediction: the booster has no trees yet");
  // "cache_id" is required by 1.7's inplace prediction although the C API docs omit it.
  std::string config =
      fmt::format(R"({{"type": 0, "training": false, "iteration_begin": 0, "iteration_end": {}, )"
                  R"("strict_shape": false, "missing": NaN, "cache_id": 0}})",
                  rounds);
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  {
    UnusedParamWatch watch(&unknown_params_);
    Status s = Check(XGBoosterPredictFromDense(handle_, DenseInterface(x, rows, cols).c_str(),
                                               config.c_str(), nullptr, &shape, &dim, &out),
                     "prediction");
    if (!s.ok()) return s;
  }
  if (Status s = UnknownParams(); !s.ok()) return s;
  size_t n = 1;
  for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
  size_t groups = dim == 2 ? shape[1] : 1;
  if (n != rows * groups) {
    return Status::Error(fmt::format("XGBoost prediction: {} values for {} rows", n, rows));
  }
  return std::vector<float>(out, out + n);
}

int ParamThreads(const XgbParams& params) {
  int threads = 0;
  for (const auto& [name, value] : params) {
    if (name == "nthread" || name == "n_jobs") threads = std::atoi(value.c_str());
  }
  return threads > 0 ? threads : 0;
}

std::string XgbVersion() {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  return fmt::format("{}.{}.{}", major, minor, patch);
}

double InitialBaseScore(std::string_view objective, std::span<const float> labels) {
  if (labels.empty()) return 0.5;
  double sum = 0;
  for (float y : labels) sum += y;
  double mean = sum / static_cast<double>(labels.size());
  if (objective == "binary:logistic") return std::clamp(mean, 1e-6, 1 - 1e-6);
  if (objective == "reg:squarederror") return mean;
  if (objective == "count:poisson") return std::max(mean, 1e-6);
  return 0.5;
}

Status CheckLabels(std::string_view objective, int num_class, std::span<const float> labels,
                   std::span<const std::string> keys) {
  if (keys.size() != labels.size()) {
    return Status::Error(
        fmt::format("labels: {} labels but {} row keys", labels.size(), keys.size()));
  }
  bool binary = objective == "binary:logistic";
  bool multi = objective == "multi:softprob";
  bool poisson = objective == "count:poisson";
  if (!binary && !multi && !poisson && objective != "reg:squarederror") {
    return Status::Error(
        fmt::format("objective \"{}\" is not supported (binary:logistic, multi:softprob, "
                    "reg:squarederror, count:poisson)",
                    objective));
  }
  if (multi && num_class < 2) {
    return Status::Error(fmt::format("multi:softprob needs num_class >= 2, not {}", num_class));
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    float y = labels[i];
    auto bad = [&](std::string_view why) {
      return Status::Error(fmt::format("label {} of row key {} {}", y, keys[i], why));
    };
    if (!std::isfinite(y)) return bad("is not a finite number");
    if (binary && y != 0 && y != 1) return bad("is not 0 or 1 (binary:logistic)");
    if (poisson && y < 0) return bad("is negative (count:poisson)");
    if (multi && std::floor(y) != y) {
      return bad(fmt::format("is not an integer (multi:softprob with num_class {})", num_class));
    }
    if (multi && (y < 0 || y >= num_class)) {
      return bad(fmt::format("is outside 0..{} (multi:softprob with num_class {})", num_class - 1,
                             num_class));
    }
  }
  return Status::Ok();
}

}  // namespace mlcron
