#include "daemon/scheduler_loop.h"

#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/system_timer.hpp>
#include <map>

#include "daemon/process_executor.h"
#include "daemon/reaper.h"
#include "daemon/scheduler.h"

namespace mlcron {

namespace asio = boost::asio;

struct SchedulerLoop::Impl {
  Impl(asio::io_context& io, Scheduler* s, ProcessExecutor* e)
      : io(io), scheduler(s), executor(e), signals(io, SIGCHLD), timer(io) {}
  asio::io_context& io;
  Scheduler* scheduler;
  ProcessExecutor* executor;
  asio::signal_set signals;
  // A system_timer: scheduled instants are wall-clock times. Clock steps are caught by
  // ClockJumpWatch, which calls Kick() to re-arm.
  asio::system_timer timer;
  std::map<int, std::function<void(int)>> handlers;
};

SchedulerLoop::SchedulerLoop(asio::io_context& io, Scheduler* scheduler, ProcessExecutor* executor)
    : impl_(std::make_unique<Impl>(io, scheduler, executor)) {}

SchedulerLoop::~SchedulerLoop() = default;

void SchedulerLoop::AddSignal(int sig, std::function<void(int)> on_signal) {
  impl_->signals.add(sig);
  impl_->handlers[sig] = std::move(on_signal);
}

void SchedulerLoop::Start() {
  struct Waiter {
    SchedulerLoop* self;
    void operator()(boost::system::error_code ec, int sig) const {
      if (ec) return;
      if (sig == SIGCHLD) {
        for (const ExitInfo& exit : ReapExited()) self->impl_->executor->OnReaped(exit);
      } else if (auto it = self->impl_->handlers.find(sig); it != self->impl_->handlers.end()) {
        it->second(sig);
      }
      self->impl_->signals.async_wait(*this);
      self->Kick();
    }
  };
  impl_->signals.async_wait(Waiter{this});
  Kick();
}

void SchedulerLoop::Kick() {
  impl_->scheduler->Pump();
  if (stop_when_idle_ && impl_->scheduler->Idle()) {
    impl_->timer.cancel();
    impl_->signals.cancel();
    impl_->io.stop();
    return;
  }
  auto deadline = impl_->scheduler->NextDeadline();
  if (!deadline) {
    impl_->timer.cancel();
    return;
  }
  impl_->timer.expires_at(*deadline);
  impl_->timer.async_wait([this](boost::system::error_code ec) {
    if (!ec) Kick();
  });
}

}  // namespace mlcron
