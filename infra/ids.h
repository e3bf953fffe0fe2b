#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "infra/clock.h"

namespace cityhub::infra {

// Cryptographically random bytes from OpenSSL's RAND_bytes. Aborts if the generator fails,
// which OpenSSL only does when the system has no entropy source at all.
std::string RandomBytes(size_t n);

// A ULID (https://github.com/ulid/spec): 48-bit millisecond time and 80 random bits as 26
// Crockford base32 characters. Ids made later sort after earlier ones (to the millisecond).
std::string NewUlid(const Clock& clock);
std::string NewUlid(Clock::time_point t);

// A ULID for tracing (request ids): the same form, with randomness from a per-thread generator
// seeded from RAND_bytes instead of RAND_bytes on every call. Not for anything secret.
std::string NewTraceId(Clock::time_point t);

// Whether `s` is a well-formed ULID, and the time it carries.
bool IsUlid(std::string_view s);
std::optional<Clock::time_point> UlidTime(std::string_view s);

// A ULID as a sorted-set score: its millisecond times 4096 plus its top 12 random bits. Exact
// in a double and ordered like the ids, so that newest-first indexes can be paged by id.
double UlidSortScore(std::string_view ulid);

// `n` random bytes as unpadded base64url, for opaque tokens.
std::string RandomToken(size_t n);

// Encodings used by tokens and keys.
std::string Base64UrlEncode(std::string_view data);
std::optional<std::string> Base64UrlDecode(std::string_view text);
std::string HexEncode(std::string_view data);

// SHA-256 of `data`, raw 32 bytes.
std::string Sha256(std::string_view data);

// Compares in time independent of where the inputs differ (lengths are not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace cityhub::infra
