#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/redis/client.h"

// Refresh-token sessions in Redis. A session is a family of refresh tokens: every refresh
// spends the presented token and issues the next one in the same family. Presenting a spent
// token again means two parties hold the family (theft, or a replayed request), so the whole
// family is revoked.
//
//   keys::Family(family)              HASH account, created_ms, last_used_ms, abs_until, revoked
//   keys::RefreshToken(family, hash)  HASH state (live|spent), idle_until
//   keys::Families(account)           SET  the account's family ids
//
// Tokens and families expire with the family's absolute lifetime.
namespace cityhub::accounts {

struct SessionTimes {
  int64_t now_ms = 0;
  int64_t idle_until_ms = 0;
  int64_t absolute_until_ms = 0;
};

struct SessionInfo {
  std::string family_id;
  int64_t created_ms = 0;
  int64_t last_used_ms = 0;
};

class SessionStore final {
 public:
  explicit SessionStore(infra::redis::Client& redis);

  absl::Status Create(std::string_view account_id, std::string_view family_id,
                      std::string_view token_hash, const SessionTimes& times);

  // The account a family belongs to, without touching it (NOT_FOUND for an unknown family).
  absl::StatusOr<std::string> FamilyAccount(std::string_view family_id);
  // Spends `token_hash` of `family_id` and makes `next_hash` the live token; returns the
  // account id. UNAUTHENTICATED for unknown, expired, spent (revoking the family) or revoked.
  absl::StatusOr<std::string> Rotate(std::string_view family_id, std::string_view token_hash,
                                     std::string_view next_hash, int64_t now_ms,
                                     int64_t next_idle_until_ms);

  // Revokes one family if it belongs to `account_id` (NOT_FOUND otherwise).
  absl::Status Revoke(std::string_view account_id, std::string_view family_id);
  // Revokes every family of the account except `keep_family` (may be empty).
  absl::Status RevokeAll(std::string_view account_id, std::string_view keep_family);

  // The account's live sessions.
  absl::StatusOr<std::vector<SessionInfo>> List(std::string_view account_id, int64_t now_ms);

 private:
  infra::redis::Client& redis_;
};

// For scripts of other stores that must end sessions in the same transaction as their own
// change (a password change, a reset): the Lua source of `end_sessions(families_key,
// family_prefix, keep)` (keys::Families, keys::kFamilyPrefix), which revokes every session of the
// set but `keep` as RevokeAll does.
extern const char kEndSessionsLua[];

}  // namespace cityhub::accounts
