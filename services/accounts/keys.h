#pragma once

#include <string>
#include <string_view>

#include "infra/events/streams.h"
#include "infra/strings.h"

// The accounts service's Redis keys: the only place they are spelled (docs/design.md describes
// the families). Keys follow `accounts:<entity>:{<id>}...`; the hash tag keeps one
// entity's keys in one Cluster slot. The `*Prefix` constants are for scripts that build keys
// from data they read (a key is the prefix, the id, then "}").
namespace cityhub::accounts::keys {

// The service's name in shared keys, e.g. `accounts:gone:{digest}` (infra/auth/deleted_accounts.h).
inline constexpr char kService[] = "accounts";
// STREAM: the domain events (transactional outbox); its name is shared with the consumers.
inline constexpr auto& kEvents = infra::events::kAccountsStream;
// SET: the ids of all partner keys.
inline constexpr char kApiKeys[] = "accounts:apikeys";
inline constexpr char kFamilyPrefix[] = "accounts:family:{";
inline constexpr char kApiKeyByHashPrefix[] = "accounts:apikey_by_hash:{";
inline constexpr char kVerifyPrefix[] = "accounts:verify:{";
inline constexpr char kResetPrefix[] = "accounts:reset:{";

// HASH: the account.
inline std::string Account(std::string_view id) {
  return infra::StrCat("accounts:account:{", id, "}");
}
// STRING: the account id of a lower-cased e-mail address.
inline std::string Email(std::string_view email_key) {
  return infra::StrCat("accounts:email:{", email_key, "}");
}
// LIST: security events, newest first.
inline std::string Audit(std::string_view id) { return infra::StrCat("accounts:audit:{", id, "}"); }
// ZSET: address hashes of past successful sign-ins.
inline std::string Known(std::string_view id) { return infra::StrCat("accounts:known:{", id, "}"); }
// STRING: the account id of a mailed token (by its SHA-256).
inline std::string VerifyToken(std::string_view hash) {
  return infra::StrCat(kVerifyPrefix, hash, "}");
}
inline std::string ResetToken(std::string_view hash) {
  return infra::StrCat(kResetPrefix, hash, "}");
}

// HASH: a session (refresh-token family).
inline std::string Family(std::string_view family) {
  return infra::StrCat(kFamilyPrefix, family, "}");
}
// HASH: one refresh token of a family.
inline std::string RefreshToken(std::string_view family, std::string_view hash) {
  return infra::StrCat("accounts:rt:{", family, "}:", hash);
}
// SET: an account's sessions.
inline std::string Families(std::string_view account_id) {
  return infra::StrCat("accounts:families:{", account_id, "}");
}

// HASH: sign-in failures and lock end, per e-mail and address, per address, per e-mail.
inline std::string ThrottlePair(std::string_view email_hash, std::string_view address_hash) {
  return infra::StrCat("accounts:throttle:pair:{", email_hash, "}:", address_hash);
}
inline std::string ThrottleAddress(std::string_view address_hash) {
  return infra::StrCat("accounts:throttle:addr:{", address_hash, "}");
}
inline std::string ThrottleEmail(std::string_view email_hash) {
  return infra::StrCat("accounts:throttle:email:{", email_hash, "}");
}

// HASH: a partner key; STRING: its id by the key's SHA-256.
inline std::string ApiKey(std::string_view id) {
  return infra::StrCat("accounts:apikey:{", id, "}");
}
inline std::string ApiKeyByHash(std::string_view hash) {
  return infra::StrCat(kApiKeyByHashPrefix, hash, "}");
}

}  // namespace cityhub::accounts::keys
