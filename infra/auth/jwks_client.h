#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "infra/auth/jwt.h"

namespace grpc {
class Channel;
}

namespace cityhub::infra::auth {

// Keeps a TokenVerifier's keys in step with the accounts service's JWKS (GetJwks over gRPC):
// on start until the first success, then every `period`, and on demand when a token names an
// unknown key (at most once per `min_interval`, so that garbage tokens cannot make it hammer
// the accounts service).
class JwksClient final {
 public:
  JwksClient(std::shared_ptr<grpc::Channel> accounts, TokenVerifier& verifier,
             std::chrono::milliseconds period = std::chrono::minutes(5),
             std::chrono::milliseconds min_interval = std::chrono::seconds(10));
  ~JwksClient();

  // Fetches the keys now; true when they were loaded.
  bool Refresh();
  // The Authorizer's refresh hook: Refresh() unless one ran within min_interval.
  bool RefreshIfDue();
  // RefreshIfDue for a caller that must not wait (the gateway's HTTP threads): when a refresh
  // is due or under way, the client's own thread fetches the keys and then calls
  // `done(loaded)` there; otherwise (also before Start, after Stop, or with kMaxWaiting callers
  // waiting already) `done(false)` runs at once, here.
  void RefreshSoon(std::function<void(bool loaded)> done);
  static constexpr size_t kMaxWaiting = 4096;

  void Start();
  void Stop();

 private:
  std::shared_ptr<grpc::Channel> channel_;
  TokenVerifier& verifier_;
  std::chrono::milliseconds period_;
  std::chrono::milliseconds min_interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::chrono::steady_clock::time_point last_attempt_{};
  // RefreshSoon's callers, answered by the thread after its next fetch.
  std::vector<std::function<void(bool)>> waiting_;
  bool fetching_ = false;  // a fetch for waiting callers is under way
  bool started_ = false;
  std::thread thread_;
};

}  // namespace cityhub::infra::auth
