#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/redis/client.h"

// Sign-in throttling with exponential backoff, on three counters that decay after an hour
// without failures:
//   - per (e-mail, client address): the resident's own typos and a single guesser;
//   - per client address, over all e-mails: one machine trying many accounts;
//   - per e-mail, over all addresses: a distributed guesser. This one is capped low (minutes)
//     and does not apply to addresses the account signed in from before, so an attacker
//     cannot lock a resident out of their own devices.
// E-mails and addresses are stored only as hashes; unknown e-mails are throttled exactly like
// known ones, so throttling reveals nothing about which accounts exist.
//
// Checking the gate and counting the attempt are one script (Reserve), before the password is
// checked: N parallel guesses are counted like N sequential ones instead of all passing a gate
// that none of them has closed yet. A right password takes its count back.
//
//   keys::ThrottlePair(email hash, address hash)         HASH fails, until
//   keys::ThrottleAddress(address hash)                  HASH fails, until
//   keys::ThrottleEmail(email hash)                      HASH fails, until
//   keys::Known(account)                                 ZSET address hash → last success ms
namespace cityhub::accounts {

struct ThrottlePolicy {
  struct Counter {
    int free_failures;
    std::chrono::milliseconds base;
    std::chrono::milliseconds max;
  };
  Counter pair{5, std::chrono::seconds(1), std::chrono::minutes(15)};
  Counter address{30, std::chrono::seconds(1), std::chrono::hours(1)};
  Counter email{20, std::chrono::seconds(1), std::chrono::minutes(5)};
  std::chrono::milliseconds window = std::chrono::hours(1);
  int known_addresses = 20;
};

// The gate's answer to one attempt. An admitted attempt already counts as a failure on all
// three counters, so that parallel attempts see it at once; what the password check finds is
// reported with RecordSuccess or Release.
struct ThrottleReservation {
  // > 0: refused, wait this long; nothing was counted.
  int64_t wait_ms = 0;
  bool admitted() const { return wait_ms == 0; }
  std::string email_hash;
  std::string address_hash;
  // Per counter (pair, address, e-mail): the `until` this attempt set (0: none), and the one
  // it replaced (0: none), so that taking the attempt back restores the earlier wait.
  std::array<int64_t, 3> set_until{};
  std::array<int64_t, 3> previous_until{};
};

// A client address the account signed in from, as a hash, with the last success.
struct KnownAddress {
  std::string address_hash;
  int64_t last_success_ms = 0;
};

class ThrottleStore final {
 public:
  ThrottleStore(infra::redis::Client& redis, ThrottlePolicy policy);

  // The gate and the count in one step: refuses the attempt if the counters say wait,
  // otherwise counts it as a failure. `account_id` may be empty (unknown e-mail).
  absl::StatusOr<ThrottleReservation> Reserve(std::string_view email_hash,
                                              std::string_view address_hash,
                                              std::string_view account_id, int64_t now_ms);
  // The reserved attempt had the right password: clears the pair and e-mail counters, takes
  // the attempt back from the address counter and remembers the address as known.
  absl::Status RecordSuccess(const ThrottleReservation& reservation, std::string_view account_id,
                             int64_t now_ms);
  // The reserved attempt must not count (the password was right, or it could not be checked):
  // takes it back from all three counters.
  absl::Status Release(const ThrottleReservation& reservation);

  // The addresses the account signed in from, most recent first.
  absl::StatusOr<std::vector<KnownAddress>> KnownAddresses(std::string_view account_id);

 private:
  infra::redis::Client& redis_;
  ThrottlePolicy policy_;
};

}  // namespace cityhub::accounts
