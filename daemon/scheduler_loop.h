// Drives a Scheduler on an io_context: reaps children on SIGCHLD, pumps the scheduler after
// every event, and arms one timer for its earliest deadline. Shared by mlcrond and
// `mlcron run`, so a manual run goes through exactly the daemon's runner. Loop thread only.
#pragma once

#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace mlcron {

class Scheduler;
class ProcessExecutor;

class SchedulerLoop {
 public:
  // `on_signal` receives every signal other than SIGCHLD that is added with AddSignal.
  SchedulerLoop(boost::asio::io_context& io, Scheduler* scheduler, ProcessExecutor* executor);
  ~SchedulerLoop();

  void AddSignal(int sig, std::function<void(int)> on_signal);
  // Stops the io_context once the scheduler has nothing running or waiting.
  void StopWhenIdle() { stop_when_idle_ = true; }
  // Pumps the scheduler and re-arms the timer. Call after any event the loop did not see.
  void Kick();
  void Start();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool stop_when_idle_ = false;
};

}  // namespace mlcron
