#include "jobs/builtin_job.h"

#include "daemon/job_kind.h"
#include "jobs/features_job.h"
#include "jobs/import_job.h"
#include "jobs/job_context.h"
#include "jobs/retrain_job.h"
#include "jobs/signals_job.h"
#include "jobs/tune_job.h"

namespace mlcron {

int RunBuiltinJob(const BuiltinJobArgs& args, std::ostream& err) {
  if (!IsKnownJobKind(args.kind) || args.kind == "command") {
    err << "mlcron job: unknown built-in kind \"" << args.kind << "\"\n";
    return 2;
  }
  Result<JobContext> ctx = MakeJobContext(args, &err);
  if (!ctx.ok()) {
    err << "mlcron job " << args.kind << ": " << ctx.message() << "\n";
    return 1;
  }
  if (args.full) ctx->forced_by = "--full";
  if (args.kind == "import") return RunImportJob(*ctx);
  if (args.kind == "features") return RunFeaturesJob(*ctx);
  if (args.kind == "retrain") return RunRetrainJob(*ctx);
  if (args.kind == "signals") return RunSignalsJob(*ctx);
  return RunTuneJob(*ctx);
}

}  // namespace mlcron
