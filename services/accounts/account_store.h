#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cityhub/events/v1/events.pb.h"
#include "infra/redis/client.h"
#include "services/accounts/keys.h"

// Accounts in Redis (the only file besides the other *_store.cc that speaks Redis here).
//
//   keys::Account(id)            HASH  the account (fields below)
//   keys::Email(email_key)       STRING account id; one per e-mail (uniqueness)
//   keys::VerifyToken(hash)      STRING account id of a verification token, expires in 1 h
//   keys::ResetToken(hash)       STRING account id of a password-reset token, expires in 1 h
//   keys::Audit(id)              LIST  security events, newest first, capped
//   keys::kEvents                STREAM domain events (transactional outbox)
//
// Scripts touch an entity, its index and the stream together; they address keys they read
// from data (e.g. the sessions of an account), which needs one Redis node per service rather
// than Redis Cluster. The {..} hash tags are kept so that a later move to Cluster stays open.
// Every script checks first, then writes its events, then changes data: a script stopped by
// an error keeps the writes before it, and a failed XADD must leave nothing behind.
namespace cityhub::accounts {

// The event stream (keys.h), for tests and readers.
inline constexpr const char* kEventsStream = keys::kEvents;

struct StoredAccount {
  std::string id;
  std::string email;
  std::string email_key;
  std::string display_name;
  std::string language = "de";
  std::string phone;
  std::string password_hash;
  std::vector<std::string> roles;
  std::vector<std::string> departments;
  bool verified = false;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// Which single-use token: e-mail verification or password reset.
enum class TokenKind { kVerify, kReset };

struct TokenLimits {
  std::chrono::milliseconds ttl{3'600'000};
  // Least time between two tokens of a kind for one account, and most per day.
  std::chrono::milliseconds min_interval{60'000};
  int max_per_day = 5;
};

using Events = std::vector<cityhub::events::v1::Event>;

class AccountStore final {
 public:
  explicit AccountStore(infra::redis::Client& redis);

  // Stores a new account with its e-mail index, its first verification token and `events`, all
  // at once. ALREADY_EXISTS when the e-mail is registered.
  absl::Status Create(const StoredAccount& account, std::string_view verify_token_hash,
                      std::chrono::milliseconds verify_ttl, int64_t now_ms, const Events& events);

  // NOT_FOUND when absent.
  absl::StatusOr<StoredAccount> Get(std::string_view id);
  absl::StatusOr<std::string> IdForEmail(std::string_view email_key);

  using Fields = std::vector<std::pair<std::string, std::string>>;

  // Sets profile, role or password fields (names as in StoredAccount, e.g. "display_name",
  // "roles") and publishes `events`. NOT_FOUND when the account is gone.
  absl::Status Update(std::string_view id, const Fields& fields, const Events& events);

  // Like Update, and in the same transaction ends every session of the account except
  // `keep_family` (empty: all of them), as a new password must.
  absl::Status UpdateAndEndSessions(std::string_view id, const Fields& fields,
                                    std::string_view keep_family, const Events& events);

  // Replaces the account's token of `kind` with a new one (the old one stops working) and
  // publishes `events`. RESOURCE_EXHAUSTED when the limits say it is too soon.
  absl::Status IssueToken(std::string_view id, TokenKind kind, std::string_view token_hash,
                          const TokenLimits& limits, int64_t now_ms, const Events& events);

  // The account a live token belongs to, without spending it (so that the caller can check
  // what it needs before). NOT_FOUND for unknown, used or expired tokens.
  absl::StatusOr<std::string> TokenAccount(TokenKind kind, std::string_view token_hash,
                                           int64_t now_ms);

  // Spends a token of `account_id`, sets `fields` and publishes `events`; spending a reset
  // token also ends every session of the account. All in one transaction: if any part fails,
  // nothing changed and the token still works. NOT_FOUND for unknown, used or expired tokens
  // and for tokens of another account.
  absl::Status ConsumeToken(TokenKind kind, std::string_view token_hash,
                            std::string_view account_id, int64_t now_ms, const Fields& fields,
                            const Events& events);

  // Erases the account, its e-mail index, tokens, audit trail and known addresses, leaves the
  // deleted marker its still valid access tokens are refused with (infra/auth/deleted_accounts.h),
  // and publishes `events` (AccountDeleted).
  absl::Status Delete(const StoredAccount& account, const Events& events);

  // Audit trail, newest first, at most `kAuditCap` entries (JSON objects).
  static constexpr int kAuditCap = 100;
  absl::Status AddAudit(std::string_view id, std::string_view entry_json);
  absl::StatusOr<std::vector<std::string>> Audit(std::string_view id);

 private:
  infra::redis::Client& redis_;
};

// "a,b" ↔ {"a","b"} for list fields stored in hashes (elements never contain commas).
std::string JoinList(const std::vector<std::string>& items);
std::vector<std::string> SplitList(std::string_view text);

}  // namespace cityhub::accounts
