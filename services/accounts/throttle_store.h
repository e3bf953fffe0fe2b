#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

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
//   accounts:throttle:pair:{email hash}:<address hash>   HASH fails, until
//   accounts:throttle:addr:{address hash}                HASH fails, until
//   accounts:throttle:email:{email hash}                 HASH fails, until
//   accounts:known:{account}                             ZSET address hash → last success ms
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

class ThrottleStore final {
 public:
  ThrottleStore(infra::redis::Client& redis, ThrottlePolicy policy);

  // Milliseconds to wait before the next attempt (0: go ahead). `account_id` may be empty.
  absl::StatusOr<int64_t> WaitMs(std::string_view email_hash, std::string_view address_hash,
                                 std::string_view account_id, int64_t now_ms);
  absl::Status RecordFailure(std::string_view email_hash, std::string_view address_hash,
                             int64_t now_ms);
  absl::Status RecordSuccess(std::string_view email_hash, std::string_view address_hash,
                             std::string_view account_id, int64_t now_ms);

 private:
  infra::redis::Client& redis_;
  ThrottlePolicy policy_;
};

}  // namespace cityhub::accounts
