// Detects steps of the wall clock (settimeofday, NTP steps) with a timerfd armed on
// CLOCK_REALTIME with TFD_TIMER_CANCEL_ON_SET, so the loop can recompute its deadline
// instead of sleeping toward a stale one. Loop thread only.
#pragma once

#include <functional>
#include <memory>

#include "daemon/status.h"

namespace boost::asio {
class io_context;
}

namespace mlcron {

class ClockJumpWatch {
 public:
  static Result<std::unique_ptr<ClockJumpWatch>> Start(boost::asio::io_context& io,
                                                       std::function<void()> on_jump);
  virtual ~ClockJumpWatch() = default;
};

}  // namespace mlcron
