// The clock seam: the scheduler asks a Clock for "now" so tests can drive time by hand.
// SystemClock is thread-safe; FakeClock (tests) is not.
#pragma once

#include <chrono>

namespace mlcron {

class Clock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start) : now_(start) {}
  TimePoint Now() const override { return now_; }
  void Set(TimePoint t) { now_ = t; }
  void Advance(std::chrono::system_clock::duration d) { now_ += d; }

 private:
  TimePoint now_;
};

}  // namespace mlcron
