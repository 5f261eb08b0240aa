#include "jobs/builtin_job.h"

#include "daemon/job_kind.h"

namespace mlcron {

int RunBuiltinJob(const BuiltinJobArgs& args, std::ostream& err) {
  if (!IsKnownJobKind(args.kind) || args.kind == "command") {
    err << "mlcron job: unknown built-in kind \"" << args.kind << "\"\n";
    return 2;
  }
  err << "mlcron job: the built-in kind \"" << args.kind
      << "\" is not available in this build of mlcron yet (job " << args.job << ")\n";
  return 1;
}

}  // namespace mlcron
