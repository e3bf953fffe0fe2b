#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "cityhub/api/annotations.pb.h"
#include "infra/clock.h"
#include "infra/metrics.h"
#include "infra/redis/client.h"

// Rate limits by GCRA (the generic cell rate algorithm): per client address and per account,
// with separate budgets for reads, sign-in, creation and other writes, kept in Redis by one Lua
// script so that every gateway replica shares them.
//
// Sign-in, creation and writes ask Redis every time. Reads, the bulk of the traffic, take leases
// of units per script call and spend them locally for up to a second. A client's lease doubles
// each time it uses one up in time (1, 2, 4, … up to RateLimits::read_lease, at most an eighth
// of the burst), so quiet clients ask every time and busy ones seldom. The budget stays in
// Redis and shared: a lease never exceeds what the budget allows at that moment, and what a
// replica holds back is bounded by the lease size.
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
  Budget read{50, std::chrono::seconds(1), 200};
  Budget sign_in{10, std::chrono::minutes(1), 10};
  Budget create{30, std::chrono::hours(1), 10};
  Budget write{120, std::chrono::minutes(1), 30};
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

class RateLimiter final {
 public:
  RateLimiter(infra::redis::Client& redis, RateLimits limits, const infra::Clock& clock,
              infra::MetricsRegistry& metrics);

  // Checks (and spends) one unit of the route class's budget for the address and, if signed
  // in, the account.
  Decision Check(cityhub::api::RateClass rate_class, std::string_view client_address,
                 std::string_view account_id);
  // Checks (and spends) one unit of a partner's budget (RateLimits::partner), by its api key id.
  Decision CheckPartner(std::string_view api_key_id);

 private:
  // Charges up to `want` units to every bucket in `keys` (all or none) in Redis; without Redis,
  // reads pass and the rest use the local limiter. `granted`: the units Redis gave.
  Decision Charge(const infra::redis::Args& keys, const Budget& budget, int want, bool read,
                  int64_t* granted);
  Decision Local(std::string_view key, const Budget& budget, int64_t now_ms);

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
};

}  // namespace cityhub::gateway
