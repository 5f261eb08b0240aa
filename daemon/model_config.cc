#include "daemon/model_config.h"

#include <algorithm>
#include <cstdlib>

namespace mlcron {

int ModelConfig::DeclaredClasses() const {
  for (const auto& [name, value] : params) {
    if (name == "num_class") return std::atoi(value.c_str());
  }
  return 0;
}

const std::vector<std::string>& KnownMetrics() {
  static const std::vector<std::string> kMetrics = {
      "log_loss", "accuracy", "brier", "ece", "roc_auc", "rmse", "mae", "poisson_deviance"};
  return kMetrics;
}

bool LowerIsBetter(std::string_view metric) { return metric != "accuracy" && metric != "roc_auc"; }

bool IsClassificationMetric(std::string_view metric) {
  static const std::vector<std::string_view> kClassification = {"log_loss", "accuracy", "brier",
                                                                "ece", "roc_auc"};
  return std::find(kClassification.begin(), kClassification.end(), metric) != kClassification.end();
}

std::string DefaultMetric(std::string_view objective) {
  if (objective == "binary:logistic" || objective == "multi:softprob") return "log_loss";
  if (objective == "count:poisson") return "poisson_deviance";
  return "rmse";
}

}  // namespace mlcron
