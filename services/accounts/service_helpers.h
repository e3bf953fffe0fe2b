#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <google/protobuf/timestamp.pb.h>

#include "absl/status/status.h"
#include "cityhub/accounts/v1/accounts.pb.h"
#include "services/accounts/account_store.h"
#include "services/accounts/throttle_store.h"

// Small pieces shared by the files of AccountsService (accounts_*.cc): proto conversion,
// hashing of secrets, client addresses, input checks and throttling answers.
namespace cityhub::accounts {

// Secrets in mails and refresh tokens: 32 random bytes, base64url.
inline constexpr size_t kSecretLength = 43;

google::protobuf::Timestamp Millis(int64_t ms);

// Hex SHA-256: how tokens and secrets are stored and looked up.
std::string TokenHash(std::string_view token);

void ToProto(const StoredAccount& a, cityhub::accounts::v1::Account* out);

// "ipv4:192.0.2.7:5555", "ipv6:[2001:db8::1]:5555" or a bare address → the IP alone.
std::string ClientIp(std::string_view address);

// The address with its host part cut off (/24, /48): enough to recognise a network in the
// audit trail without storing who exactly.
std::string TruncatedAddress(const std::string& ip);

// Single-use tokens from mails: INVALID_ARGUMENT when empty, NOT_FOUND when malformed.
absl::Status CheckMailToken(std::string_view token);

// The limits of CheckPasswordPolicy, for passwords that are only compared: no stored password
// can be longer than 128 characters. INVALID_ARGUMENT naming `field`.
absl::Status CheckPasswordLength(std::string_view field, std::string_view password);

// RESOURCE_EXHAUSTED "<what>; try again in N s".
absl::Status Throttled(std::string_view what, int64_t wait_ms);

// Takes back an attempt that must not count. Failing only leaves it counted, which errs on the
// safe side: logged, not returned.
void Release(ThrottleStore& throttle, const ThrottleReservation& attempt);

}  // namespace cityhub::accounts
