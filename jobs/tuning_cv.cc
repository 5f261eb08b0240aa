#include "jobs/tuning_cv.h"

#include <chrono>

#include "jobs/metrics.h"
#include "jobs/trainer.h"
#include "jobs/xgb_booster.h"

namespace mlcron {

Result<std::vector<double>> CrossValidate(const ModelConfig& model, const Dataset& rows,
                                          const std::vector<Fold>& folds, const std::string& metric,
                                          const std::function<bool(int, double)>& after_fold,
                                          CvTimings* timings) {
  const int num_class = ClassCount(model, rows, 0);
  const XgbParams params = TrainingParams(model, num_class);
  std::vector<double> scores;
  for (size_t k = 0; k < folds.size(); ++k) {
    const Fold& f = folds[k];
    const std::string where =
        "fold " + std::to_string(k + 1) + " of " + std::to_string(folds.size()) + ": ";
    const auto start = std::chrono::steady_clock::now();
    const size_t n = static_cast<size_t>(f.train_end - f.train_begin);
    const size_t m = static_cast<size_t>(f.test_end - f.test_begin);
    std::span<const float> x(rows.x.data() + f.train_begin * rows.cols, n * rows.cols);
    std::span<const float> y(rows.y.data() + f.train_begin, n);
    Result<XgbMatrix> matrix = XgbMatrix::FromDense(x, n, rows.cols, y, ParamThreads(params));
    if (!matrix.ok()) return matrix.status().WithContext(where);
    Result<XgbBooster> booster = XgbBooster::New();
    if (!booster.ok()) return booster.status().WithContext(where);
    if (Status s = booster->SetParams(params); !s.ok()) return s.WithContext(where);
    if (Status s = booster->SetBaseScore(InitialBaseScore(model.objective, y)); !s.ok()) {
      return s.WithContext(where);
    }
    if (Status s = booster->Train(*matrix, model.rounds); !s.ok()) return s.WithContext(where);
    Result<std::vector<float>> predicted = booster->Predict(
        std::span<const float>(rows.x.data() + f.test_begin * rows.cols, m * rows.cols), m,
        rows.cols);
    if (!predicted.ok()) return predicted.status().WithContext(where);
    if (timings) {
      timings->train_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    const int groups = num_class > 0 ? num_class : 1;
    Result<std::map<std::string, double>> m_all =
        ComputeMetrics(model.objective, std::span<const float>(rows.y.data() + f.test_begin, m),
                       Predictions{*predicted, groups});
    if (!m_all.ok()) return m_all.status().WithContext(where);
    auto it = m_all->find(metric);
    if (it == m_all->end()) return Status::Error(where + "metric " + metric + " is undefined");
    scores.push_back(it->second);
    if (after_fold && !after_fold(static_cast<int>(k), it->second)) break;
  }
  return scores;
}

}  // namespace mlcron
