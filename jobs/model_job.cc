#include "jobs/model_job.h"

#include <ostream>

namespace mlcron {

std::optional<ModelJob> OpenModelJob(const JobContext& ctx, const std::string& label) {
  std::ostream& out = *ctx.out;
  ModelJob job;
  job.model = ctx.config->FindModel(ctx.job->builtin.model);
  if (!job.model) {
    out << label << ": no model \"" << ctx.job->builtin.model << "\"\n";
    return std::nullopt;
  }
  Result<std::unique_ptr<SqliteDb>> data = OpenDataDb(*ctx.config);
  if (!data.ok()) {
    out << label << ": " << data.message() << "\n";
    return std::nullopt;
  }
  job.data = std::move(*data);
  Result<std::unique_ptr<Registry>> registry = Registry::Open(*ctx.config);
  if (!registry.ok()) {
    out << label << ": " << registry.message() << "\n";
    return std::nullopt;
  }
  job.registry = std::move(*registry);
  return job;
}

}  // namespace mlcron
