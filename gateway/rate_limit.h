#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "cityhub/api/annotations.pb.h"
#include "infra/clock.h"
#include "infra/executor.h"
#include "infra/metrics.h"
#include "infra/redis/client.h"

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
  RateLimiter(infra::redis::Client& redis, RateLimits limits, const infra::Clock& clock,
              infra::MetricsRegistry& metrics);

  ~RateLimiter();

  // Checks (and spends) one unit of the route class's budget: the account's when signed in
  // (`account_id` not empty), else the client address's.
  Decision Check(cityhub::api::RateClass rate_class, std::string_view client_address,
                 std::string_view account_id);
  // Takes back the create unit a request spent (Check with RATE_CLASS_CREATE and the same
  // caller) after it was refused as invalid, and charges the caller's write budget instead;
  // when that has no room, the unit stays where it is (invalid creates are never free). Runs on
  // the limiter's own thread (it waits for Redis), then runs `then` there; when that thread's
  // queue is full, nothing is taken back and `then` runs here.
  void RefundCreate(std::string client_address, std::string account_id, std::function<void()> then);
  // Runs the refunds already queued; later ones take nothing back (their `then` runs at once).
  // Called by whoever their `then` calls into before it goes away.
  void StopRefunds() { refunds_.Stop(); }
  // Checks (and spends) one unit of a partner's budget (RateLimits::partner), by its api key id.
  // Waits for Redis: call it only where blocking is allowed.
  Decision CheckPartner(std::string_view api_key_id);
  // CheckPartner on the limiter's own thread, then `then` there: for callers on a thread that
  // must not block (a gRPC callback). When that thread's queue is full (or stopped), `then`
  // runs here with a refusal (retry after a second): a full queue means a slow Redis.
  void CheckPartnerOffThread(std::string api_key_id, std::function<void(Decision)> then);

 private:
  // Charges up to `want` units to every bucket in `keys` (all or none) in Redis; without Redis,
  // reads pass and the rest use the local limiter. `granted`: the units Redis gave.
  Decision Charge(const infra::redis::Args& keys, const Budget& budget, int want, bool read,
                  int64_t* granted);
  Decision Local(std::string_view key, const Budget& budget, int64_t now_ms);
  // The bucket of the caller for a class, and its budget.
  std::string Key(std::string_view class_name, std::string_view client_address,
                  std::string_view account_id) const;
  const Budget& BudgetFor(cityhub::api::RateClass rate_class, bool signed_in) const;
  // A refusal still running for `key`, decided without Redis; nullopt when there is none.
  std::optional<Decision> RefusedBefore(const std::string& key, int64_t now_ms);
  // Charges `key` through Charge, remembering a refusal until its Retry-After.
  Decision ChargeOrRecall(const std::string& key, const Budget& budget, int want, bool read,
                          int64_t* granted);
  void Refund(const std::string& client_address, const std::string& account_id);

  infra::redis::Client& redis_;
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
  // The limiter's own thread: refunds and partner checks (they wait for Redis). Last: stopped
  // (its tasks run) before the rest goes.
  infra::BoundedExecutor refunds_;
};

}  // namespace cityhub::gateway
