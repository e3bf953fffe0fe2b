#include "infra/auth/jwt.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <functional>

#include <nlohmann/json.hpp>

#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"

namespace cityhub::infra::auth {
namespace {

using nlohmann::json;

absl::Status Unauthenticated(std::string_view why) {
  return absl::UnauthenticatedError(StrCat("invalid access token: ", why));
}

int64_t Seconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

Clock::time_point FromSeconds(int64_t s) { return Clock::time_point(std::chrono::seconds(s)); }

// A JSON object parsed from base64url text, or a discarded value.
json DecodeJsonPart(std::string_view part, size_t max_bytes) {
  if (part.empty() || part.size() > max_bytes * 4 / 3 + 4) return json(json::value_t::discarded);
  auto decoded = Base64UrlDecode(part);
  if (!decoded) return json(json::value_t::discarded);
  json parsed = json::parse(*decoded, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return json(json::value_t::discarded);
  return parsed;
}

// The string member `name`, or "" when it is missing or not a string (json::value would throw).
std::string Str(const json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool ReadStringArray(const json& claims, const char* name, size_t max_items,
                     std::vector<std::string>* out) {
  auto it = claims.find(name);
  if (it == claims.end()) return true;
  if (!it->is_array() || it->size() > max_items) return false;
  for (const json& v : *it) {
    if (!v.is_string() || v.get_ref<const std::string&>().size() > 64) return false;
    out->push_back(v.get<std::string>());
  }
  return true;
}

}  // namespace

bool AccessClaims::HasRole(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

// ---------------------------------------------------------------------------------------------
// Ed25519Key

namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// The raw public key and (for private keys) the seed of an OpenSSL Ed25519 key.
std::pair<std::string, std::string> RawParts(EVP_PKEY* pkey, bool is_private) {
  std::array<unsigned char, 32> pub{};
  std::array<unsigned char, 32> seed{};
  size_t pub_len = pub.size();
  size_t seed_len = seed.size();
  EVP_PKEY_get_raw_public_key(pkey, pub.data(), &pub_len);
  std::string seed_bytes;
  if (is_private && EVP_PKEY_get_raw_private_key(pkey, seed.data(), &seed_len) == 1) {
    seed_bytes.assign(reinterpret_cast<const char*>(seed.data()), seed_len);
    sodium_memzero(seed.data(), seed.size());
  }
  return {std::string(reinterpret_cast<const char*>(pub.data()), pub_len), seed_bytes};
}

}  // namespace

Ed25519Key::Ed25519Key(std::string public_key, std::string_view seed)
    : public_(std::move(public_key)) {
  if (sodium_init() < 0) std::abort();
  if (!seed.empty()) {
    std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
    secret_.assign(crypto_sign_SECRETKEYBYTES, '\0');
    crypto_sign_seed_keypair(pk.data(), reinterpret_cast<unsigned char*>(secret_.data()),
                             reinterpret_cast<const unsigned char*>(seed.data()));
  }
  const std::string canonical =
      StrCat(R"({"crv":"Ed25519","kty":"OKP","x":")", Base64UrlEncode(public_), R"("})");
  kid_ = Base64UrlEncode(Sha256(canonical));
}

Ed25519Key::~Ed25519Key() {
  if (!secret_.empty()) sodium_memzero(secret_.data(), secret_.size());
}

absl::StatusOr<Ed25519Key> Ed25519Key::FromPem(std::string_view pem) {
  bool is_private = true;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  Pkey pkey(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  if (!pkey) {
    bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    pkey.reset(PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    is_private = false;
  }
  if (!pkey) return absl::InvalidArgumentError("not a PEM private or public key");
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("the PEM key is not an Ed25519 key");
  }
  auto [pub, seed] = RawParts(pkey.get(), is_private);
  Ed25519Key key(std::move(pub), seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

absl::StatusOr<Ed25519Key> Ed25519Key::FromPublicBytes(std::string_view raw) {
  if (raw.size() != 32) return absl::InvalidArgumentError("an Ed25519 public key has 32 bytes");
  Pkey pkey(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
  if (!pkey) return absl::InvalidArgumentError("bad Ed25519 public key");
  return Ed25519Key(std::string(raw), {});
}

Ed25519Key Ed25519Key::Generate() {
  Pkey pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!pkey) std::abort();
  auto [pub, seed] = RawParts(pkey.get(), true);
  Ed25519Key key(std::move(pub), seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

std::string Ed25519Key::JwkJson() const {
  return json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", Base64UrlEncode(public_)},
              {"kid", kid_},  {"use", "sig"},     {"alg", "EdDSA"}}
      .dump();
}

std::string Ed25519Key::Sign(std::string_view message) const {
  if (secret_.empty()) std::abort();  // signing with a public key is a programming error
  std::string signature(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       reinterpret_cast<const unsigned char*>(secret_.data()));
  return signature;
}

bool Ed25519Key::Verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(),
                                     reinterpret_cast<const unsigned char*>(public_.data())) == 0;
}

// ---------------------------------------------------------------------------------------------
// TokenSigner

TokenSigner::TokenSigner(Ed25519Key key, TokenSettings settings, const Clock& clock)
    : key_(std::move(key)), settings_(std::move(settings)), clock_(clock) {}

std::string TokenSigner::Sign(AccessClaims claims) const {
  const auto now = clock_.Now();
  claims.issued_at = now;
  claims.not_before = now;
  claims.expires_at = now + settings_.access_ttl;
  claims.token_id = NewUlid(now);
  const json header = {{"alg", "EdDSA"}, {"typ", "at+jwt"}, {"kid", key_.kid()}};
  json payload = {{"iss", settings_.issuer},
                  {"aud", settings_.audience},
                  {"sub", claims.subject},
                  {"iat", Seconds(claims.issued_at)},
                  {"nbf", Seconds(claims.not_before)},
                  {"exp", Seconds(claims.expires_at)},
                  {"jti", claims.token_id},
                  {"roles", claims.roles},
                  {"ev", claims.email_verified}};
  if (!claims.departments.empty()) payload["dep"] = claims.departments;
  if (!claims.session_id.empty()) payload["sid"] = claims.session_id;
  std::string token = StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(payload.dump()));
  const std::string signature = key_.Sign(token);
  StrAppend(&token, ".", Base64UrlEncode(signature));
  return token;
}

// ---------------------------------------------------------------------------------------------
// TokenVerifier

struct TokenVerifier::KeyMap {
  std::unordered_map<std::string, Ed25519Key> by_kid;
};

// Verified tokens by their full text, in shards to keep lock contention low.
struct TokenVerifier::Cache {
  static constexpr size_t kShards = 16;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, AccessClaims> entries;
  };
  explicit Cache(size_t capacity) : per_shard(std::max<size_t>(1, capacity / kShards)) {}
  Shard& For(std::string_view token) {
    return shards[std::hash<std::string_view>()(token) % kShards];
  }
  void Clear() {
    for (Shard& s : shards) {
      std::lock_guard lock(s.mu);
      s.entries.clear();
    }
  }
  size_t per_shard;
  std::array<Shard, kShards> shards;
};

TokenVerifier::TokenVerifier(TokenSettings settings, const Clock& clock,
                             std::chrono::seconds leeway, size_t cache_capacity)
    : settings_(std::move(settings)),
      clock_(clock),
      leeway_(leeway),
      keys_(std::make_shared<KeyMap>()),
      cache_(std::make_unique<Cache>(cache_capacity)) {}

TokenVerifier::~TokenVerifier() = default;

void TokenVerifier::SetKeys(std::vector<Ed25519Key> keys) {
  auto map = std::make_shared<KeyMap>();
  for (Ed25519Key& k : keys) {
    std::string kid = k.kid();
    map->by_kid.emplace(std::move(kid), std::move(k));
  }
  {
    std::lock_guard lock(keys_mu_);
    keys_ = std::move(map);
  }
  // A removed key must stop vouching for cached tokens: no insert from a verification begun
  // before this point gets in after the clear.
  key_generation_.fetch_add(1);
  cache_->Clear();
}

absl::Status TokenVerifier::SetKeysFromJwks(std::string_view jwks_json) {
  const json doc = json::parse(jwks_json, nullptr, false);
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return absl::InvalidArgumentError("not a JWKS document");
  }
  std::vector<Ed25519Key> keys;
  for (const json& k : doc["keys"]) {
    if (!k.is_object() || Str(k, "kty") != "OKP" || Str(k, "crv") != "Ed25519") continue;
    auto raw = Base64UrlDecode(Str(k, "x"));
    if (!raw) continue;
    auto key = Ed25519Key::FromPublicBytes(*raw);
    if (key.ok()) keys.push_back(std::move(*key));
  }
  if (keys.empty()) return absl::InvalidArgumentError("the JWKS holds no Ed25519 key");
  SetKeys(std::move(keys));
  return absl::OkStatus();
}

bool TokenVerifier::HasKey(std::string_view kid) const {
  std::lock_guard lock(keys_mu_);
  return keys_->by_kid.count(std::string(kid)) > 0;
}

size_t TokenVerifier::key_count() const {
  std::lock_guard lock(keys_mu_);
  return keys_->by_kid.size();
}

std::string TokenVerifier::PeekKid(std::string_view token) {
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos || token.size() > kMaxTokenBytes) return "";
  const json header = DecodeJsonPart(token.substr(0, dot), 512);
  if (!header.is_object()) return "";
  auto it = header.find("kid");
  return it != header.end() && it->is_string() ? it->get<std::string>() : "";
}

absl::StatusOr<AccessClaims> TokenVerifier::Verify(std::string_view token) const {
  if (token.size() > kMaxTokenBytes) return Unauthenticated("too long");
  Cache::Shard& shard = cache_->For(token);
  const auto now = clock_.Now();
  {
    std::lock_guard lock(shard.mu);
    auto it = shard.entries.find(std::string(token));
    if (it != shard.entries.end()) {
      if (now <= it->second.expires_at + leeway_) {
        cache_hits_.fetch_add(1, std::memory_order_relaxed);
        return it->second;
      }
      shard.entries.erase(it);
      return Unauthenticated("expired");
    }
  }
  const uint64_t generation = key_generation_.load();
  auto claims = VerifyUncached(token);
  RETURN_IF_ERROR(claims);
  std::lock_guard lock(shard.mu);
  if (key_generation_.load() != generation) return claims;  // the keys changed meanwhile
  if (shard.entries.size() >= cache_->per_shard) {
    std::erase_if(shard.entries,
                  [&](const auto& e) { return now > e.second.expires_at + leeway_; });
    if (shard.entries.size() >= cache_->per_shard) shard.entries.clear();
  }
  shard.entries.emplace(std::string(token), *claims);
  return claims;
}

absl::StatusOr<AccessClaims> TokenVerifier::VerifyUncached(std::string_view token) const {
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return Unauthenticated("not a JWS compact serialization");
  }
  const json header = DecodeJsonPart(token.substr(0, first), 512);
  if (!header.is_object()) return Unauthenticated("unreadable header");
  // Exactly EdDSA: "none", HS256 (with the public key as an HMAC secret) and every other
  // algorithm are refused before any key is touched.
  if (Str(header, "alg") != "EdDSA") return Unauthenticated("algorithm not allowed");
  if (Str(header, "typ") != "at+jwt") return Unauthenticated("not an access token");
  if (header.contains("crit")) return Unauthenticated("unsupported critical header");
  auto kid_it = header.find("kid");
  if (kid_it == header.end() || !kid_it->is_string()) return Unauthenticated("no key id");

  std::shared_ptr<const KeyMap> keys;
  {
    std::lock_guard lock(keys_mu_);
    keys = keys_;
  }
  // Before the first JWKS fetch nothing can be verified: temporary (503, retried), not a bad
  // token (401 would sign a resident out of the app while a process starts).
  if (keys->by_kid.empty()) {
    return absl::UnavailableError("signing keys not loaded yet; try again shortly");
  }
  auto key_it = keys->by_kid.find(kid_it->get<std::string>());
  if (key_it == keys->by_kid.end()) return Unauthenticated("unknown key id");
  const auto signature = Base64UrlDecode(token.substr(second + 1));
  if (!signature || !key_it->second.Verify(token.substr(0, second), *signature)) {
    return Unauthenticated("bad signature");
  }

  const json claims = DecodeJsonPart(token.substr(first + 1, second - first - 1), 2048);
  if (!claims.is_object()) return Unauthenticated("unreadable claims");
  if (Str(claims, "iss") != settings_.issuer) return Unauthenticated("wrong issuer");
  const auto aud = claims.find("aud");
  const bool aud_ok =
      aud != claims.end() &&
      ((aud->is_string() && *aud == settings_.audience) ||
       (aud->is_array() && std::find(aud->begin(), aud->end(), settings_.audience) != aud->end()));
  if (!aud_ok) return Unauthenticated("wrong audience");
  AccessClaims out;
  const auto number = [&](const char* name, bool required, Clock::time_point* t) {
    auto it = claims.find(name);
    if (it == claims.end()) return !required;
    // Within ±9e9 s of 1970 (until 2255): a time_point (nanoseconds) overflows soon after,
    // and an overflow is undefined behaviour (found by tests/fuzz/jwt_fuzz).
    constexpr int64_t kLimit = 9'000'000'000;
    if (!it->is_number_integer() ||
        (it->is_number_unsigned()
             ? it->get<uint64_t>() > uint64_t{kLimit}
             : (it->get<int64_t>() < -kLimit || it->get<int64_t>() > kLimit))) {
      return false;
    }
    *t = FromSeconds(it->get<int64_t>());
    return true;
  };
  if (!number("exp", true, &out.expires_at) || !number("iat", true, &out.issued_at) ||
      !number("nbf", false, &out.not_before)) {
    return Unauthenticated("bad time claims");
  }
  const auto now = clock_.Now();
  if (now > out.expires_at + leeway_) return Unauthenticated("expired");
  if (out.not_before > now + leeway_ || out.issued_at > now + leeway_) {
    return Unauthenticated("not yet valid");
  }
  const auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty() ||
      sub->get_ref<const std::string&>().size() > 64) {
    return Unauthenticated("bad subject");
  }
  out.subject = sub->get<std::string>();
  out.token_id = Str(claims, "jti");
  out.session_id = Str(claims, "sid");
  const auto ev = claims.find("ev");
  out.email_verified = ev != claims.end() && ev->is_boolean() && ev->get<bool>();
  if (!ReadStringArray(claims, "roles", 8, &out.roles) ||
      !ReadStringArray(claims, "dep", 32, &out.departments)) {
    return Unauthenticated("bad roles");
  }
  return out;
}

}  // namespace cityhub::infra::auth
