#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "absl/status/statusor.h"
#include "cityhub/api/annotations.pb.h"
#include "infra/clock.h"
#include "infra/metrics.h"
#include "infra/redis/async_client.h"

// Rate limits by GCRA (the generic cell rate algorithm), with separate budgets for reads, sign-in,
// creation and other writes, kept in Redis by one Lua script so that every gateway replica shares
// them. A signed-in caller spends its account's budget, wherever it calls from; an anonymous
// caller spends its client address's budget, which is sized for an address many residents share
// (a mobile carrier's NAT): one resident's limits would throttle them all.
//
// A caller Redis refused is refused from memory until its Retry-After has passed: no Redis round
// trip for a client already over its budget (a flood costs what a 429 costs, nothing more). The
// budget only fills with time, so the memory answers what Redis would, except after a refund,
// which forgets it.
//
// Sign-in, creation and writes ask Redis every time they are not refused from memory. Reads, the
// bulk of the traffic, take leases of units per script call and spend them locally for up to a
// second. A client's lease doubles each time it uses one up in time (1, 2, 4, … up to
// RateLimits::read_lease, at most an eighth of the burst), so quiet clients ask every time and busy
// ones seldom. The budget stays in Redis and shared: a lease never exceeds what the budget allows
// at that moment, and what a replica holds back is bounded by the lease size.
//
// The limiter never waits for Redis: Begin decides what memory can (refusals still running,
// leases), Ask sends the script through the async client and calls back with the decision.
//
// A create refused as invalid (400) moves its unit to the write budget (RefundCreate): failed
// validations do not use up the creation budget, and still cost what a write costs.
//
// When Redis cannot be reached the gateway keeps serving: reads go unlimited (fail-open, as
// reads are cheap and cached), and sign-in, creation and writes fall back to a per-replica
// in-memory limiter with the same budgets, so a Redis outage is not an open door for
// password guessing or spam.
namespace cityhub::gateway {

struct Budget {
  // Sustained rate: `count` per `period`, with bursts of up to `burst`.
  int count = 0;
  std::chrono::milliseconds period{1000};
  int burst = 1;
};

// "20/s", "5/min", "100/h", with an optional burst: "20/s,burst=100".
absl::StatusOr<Budget> ParseBudget(std::string_view text);

struct RateLimits {
  // Signed-in callers, per account: what one resident needs.
  Budget read{50, std::chrono::seconds(1), 200};
  Budget sign_in{10, std::chrono::minutes(1), 10};
  Budget create{30, std::chrono::hours(1), 10};
  Budget write{120, std::chrono::minutes(1), 30};
  // Anonymous callers, per client address, which hundreds of residents may share: signing in
  // and refreshing tokens (every resident's app, every few minutes; guessing is stopped by the
  // accounts service's per-account and per-address failure throttles), reports filed without
  // an account after a city's announcement, public reads (mostly answered from the cache).
  Budget anonymous_read{200, std::chrono::seconds(1), 1000};
  Budget anonymous_sign_in{300, std::chrono::minutes(1), 100};
  Budget anonymous_create{300, std::chrono::hours(1), 30};
  Budget anonymous_write{600, std::chrono::minutes(1), 100};
  // Photos of anonymous reports (POST /v1/media without an account, up to 5 per report).
  Budget anonymous_upload{600, std::chrono::hours(1), 50};
  // Open311 POSTs of one partner (its api key), however many residents it speaks for.
  Budget partner{600, std::chrono::hours(1), 60};
  // The largest read lease (see above), spent within lease_lifetime. 1: every read asks.
  int read_lease = 32;
  std::chrono::milliseconds lease_lifetime{1000};
};

struct Decision {
  bool allowed = true;
  std::chrono::milliseconds retry_after{0};
};

// The Retry-After value of a refusal: whole seconds, rounded up.
std::string RetryAfterSeconds(const Decision& d);

class RateLimiter final {
 public:
  // Runs once with the decision: on the Redis client's thread when Redis was asked, else on the
  // caller's. Must not block.
  using Then = std::function<void(Decision)>;

  // A charge that needs Redis: what Begin could not decide from memory, for Ask.
  struct Pending {
    std::string key;
    const Budget* budget = nullptr;
    int want = 1;   // units asked for (more than `least`: the rest becomes the key's lease)
    int least = 1;  // units the request needs: all or none
    bool read = false;
    std::chrono::steady_clock::time_point asked;
  };

  RateLimiter(infra::redis::AsyncClient& redis, RateLimits limits, const infra::Clock& clock,
              infra::MetricsRegistry& metrics);
  // Drain()s.
  ~RateLimiter();

  // Decides `units` units of the route class's budget from memory when it can (a refusal still
  // running, a read lease with units left): the Decision; else the Pending to Ask Redis. Per
  // account when signed in (`account_id` not empty), else per client address. Never blocks.
  std::variant<Decision, Pending> Begin(cityhub::api::RateClass rate_class,
                                        std::string_view client_address,
                                        std::string_view account_id, int units = 1);
  // Charges `pending` in Redis (without Redis: reads pass, the rest use the local limiter),
  // then `then`. Never blocks.
  void Ask(Pending pending, Then then);
  // Begin, then Ask when memory could not decide.
  void Check(cityhub::api::RateClass rate_class, std::string_view client_address,
             std::string_view account_id, Then then, int units = 1);
  // Takes back the create unit a request spent (Check with RATE_CLASS_CREATE and the same
  // caller) after it was refused as invalid, and charges the caller's write budget instead;
  // when that has no room, the unit stays where it is (invalid creates are never free). Then
  // `then`, on the Redis client's thread.
  void RefundCreate(std::string client_address, std::string account_id, std::function<void()> then);
  // One unit of a partner's budget (RateLimits::partner), by its api key id.
  void CheckPartner(std::string_view api_key_id, Then then);
  // Waits until every call to Redis has run its `then`; calls after it are refused at once
  // (retry after a second) and refunds take nothing back. Called by whoever the `then`s call
  // into before it goes away.
  void Drain();

 private:
  // Charges `key`'s bucket in Redis (at least `least` units or none, up to `want`), then `done`
  // with the decision and the units granted.
  void Charge(std::string key, const Budget& budget, int want, int least, bool read,
              std::function<void(Decision, int64_t granted)> done);
  Decision Local(std::string_view key, const Budget& budget, int64_t now_ms, int units);
  // The bucket of the caller for a class, and its budget.
  std::string Key(std::string_view class_name, std::string_view client_address,
                  std::string_view account_id) const;
  const Budget& BudgetFor(cityhub::api::RateClass rate_class, bool signed_in) const;
  // A refusal still running for `key`, decided without Redis (and counted); nullopt when
  // there is none.
  std::optional<Decision> RefusedBefore(const std::string& key);
  void Remember(const std::string& key, const Decision& d);
  // Counts a call to Redis in flight; false once draining (the call is not made).
  bool Enter();
  void Leave();

  infra::redis::AsyncClient& redis_;
  RateLimits limits_;
  const infra::Clock& clock_;
  infra::Counter& limited_;
  infra::Counter& fallback_;
  std::mutex mu_;
  std::unordered_map<std::string, double> local_tat_;
  struct Lease {
    int units = 0;  // left to spend
    std::chrono::steady_clock::time_point expires;
    int size = 1;  // units asked for last time
  };
  std::unordered_map<std::string, Lease> leases_;
  // Callers refused until (Unix ms), bounded: beyond kMaxRefused entries new refusals are not
  // remembered (they ask Redis as before) until the expired ones are swept.
  static constexpr size_t kMaxRefused = 100'000;
  std::unordered_map<std::string, int64_t> refused_until_;
  infra::Counter& refused_from_memory_;
  // Calls to Redis whose `then` has not run yet, and whether Drain was called.
  std::mutex flight_mu_;
  std::condition_variable flight_cv_;
  int in_flight_ = 0;
  bool draining_ = false;
};

}  // namespace cityhub::gateway
