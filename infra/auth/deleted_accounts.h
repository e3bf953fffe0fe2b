#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "infra/redis/client.h"

namespace cityhub::infra::auth {

// Accounts deleted recently, so that the access tokens they still hold (valid up to their
// expiry, ~10 min) cannot write personal data back after the erasure. Each service keeps its own
// marker in its own keyspace: accounts sets it in the script that deletes the account; requests
// and notifications set it when they handle AccountDeleted, before they erase (so a write
// accepted before the marker is still erased). The marker holds a digest of the account id, not
// the id, and lives 30 days: longer than any access token and any event in a stream.
class DeletedAccounts final {
 public:
  static constexpr int kTtlSeconds = 30 * 24 * 3600;

  // `service`: the key prefix, "accounts", "requests" or "notifications".
  DeletedAccounts(redis::Client& redis, std::string service);

  // "<service>:gone:{<first 32 hex digits of SHA-256(account)>}".
  static std::string Key(std::string_view service, std::string_view account);
  // SET <key> 1 EX <ttl>: the service's store runs it before it erases the account's data.
  static redis::Args MarkArgs(std::string_view service, std::string_view account);

  // OK for an account that was not deleted; UNAUTHENTICATED for one that was; UNAVAILABLE when
  // Redis cannot say. One blocking round trip: never call it on a gRPC callback thread.
  absl::Status CheckNotDeleted(std::string_view account) const;

 private:
  redis::Client& redis_;
  std::string service_;
};

}  // namespace cityhub::infra::auth
