#pragma once

#include <functional>
#include <mutex>
#include <utility>

// Ends a connect attempt in progress from another thread (AsyncClient's shutdown), so that a
// client being destroyed does not wait out the connect and handshake timeouts. Internal to
// infra/redis.
namespace cityhub::infra::redis {

class Interrupt final {
 public:
  // The attempt is about to wait in a step that `stop` ends at once (shuts its socket down,
  // cancels a TLS connect). False when Trigger() came first: the attempt gives up.
  bool Enter(std::function<void()> stop) {
    std::lock_guard lock(mu_);
    if (triggered_) return false;
    stop_ = std::move(stop);
    return true;
  }
  // The step is over: `stop` will not run from now on, so its socket may be closed.
  void Leave() {
    std::lock_guard lock(mu_);
    stop_ = nullptr;
  }
  // Stops the step in progress, if any, and every later Enter() fails.
  void Trigger() {
    std::lock_guard lock(mu_);
    triggered_ = true;
    if (stop_) stop_();
    stop_ = nullptr;
  }
  bool triggered() const {
    std::lock_guard lock(mu_);
    return triggered_;
  }

 private:
  mutable std::mutex mu_;
  std::function<void()> stop_;
  bool triggered_ = false;
};

}  // namespace cityhub::infra::redis
