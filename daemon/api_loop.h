// The loop-thread side of mlcrond's API: the /status snapshot, queueing a retrain through the
// scheduler (like the control socket's `run`), and `mlcron` child processes started through
// the daemon's executor (whose reaper owns every child). Loop thread only.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "daemon/api_service.h"

namespace mlcron {

class Scheduler;

class DaemonApiSide final : public ApiLoopSide {
 public:
  // `kick` pumps the scheduler at once (a queued retrain starts now, not at the next timer).
  DaemonApiSide(Scheduler* scheduler, ProcessExecutor* executor, std::function<void()> kick,
                std::string mlcron_path);

  // When the config in force was loaded (start or the last successful reload).
  void SetConfigLoadedAt(std::chrono::system_clock::time_point t) { loaded_at_ = t; }

  nlohmann::json StatusJson() override;
  HttpResponse Retrain(const ApiCall& call) override;
  void RunCli(const std::vector<std::string>& args,
              std::function<void(const ProcessExecutor::ToolResult&)> done) override;

 private:
  Scheduler* scheduler_;
  ProcessExecutor* executor_;
  std::function<void()> kick_;
  std::string mlcron_path_;
  std::chrono::system_clock::time_point loaded_at_ = std::chrono::system_clock::now();
};

}  // namespace mlcron
