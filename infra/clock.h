#pragma once

#include <atomic>
#include <chrono>

namespace cityhub::infra {

// Wall-clock time as seen by domain code. Production uses SystemClock; tests use ManualClock to
// make expiry and backoff deterministic.
class Clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  time_point Now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(time_point start = std::chrono::system_clock::now()) : now_(start) {}
  time_point Now() const override { return now_.load(); }
  void Set(time_point t) { now_.store(t); }
  void Advance(std::chrono::nanoseconds d) {
    auto current = now_.load();
    while (!now_.compare_exchange_weak(
        current, current + std::chrono::duration_cast<time_point::duration>(d))) {
    }
  }

 private:
  std::atomic<time_point> now_;
};

// Milliseconds since the Unix epoch.
inline int64_t UnixMillis(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace cityhub::infra
