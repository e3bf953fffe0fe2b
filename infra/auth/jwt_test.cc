#include "infra/auth/jwt.h"

#include <openssl/hmac.h>

#include <atomic>
#include <limits>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "infra/ids.h"

namespace cityhub::infra::auth {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class JwtTest : public ::testing::Test {
 protected:
  JwtTest() : key_(Ed25519Key::Generate()), verifier_(settings_, clock_) {
    std::vector<Ed25519Key> keys;
    keys.push_back(Ed25519Key::FromPublicBytes(key_.public_bytes()).value());
    verifier_.SetKeys(std::move(keys));
  }

  AccessClaims Claims() {
    AccessClaims c;
    c.subject = "01JDQ4Z8W3F6T7Y9A0B1C2D3E4";
    c.roles = {"citizen", "operator"};
    c.departments = {"streets"};
    c.email_verified = true;
    c.session_id = "fam1";
    return c;
  }

  // A token with arbitrary header and claims, signed by `key`.
  static std::string Forge(const json& header, const json& claims, const Ed25519Key& key) {
    std::string token = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
    return token + "." + Base64UrlEncode(key.Sign(token));
  }

  json GoodHeader() const { return {{"alg", "EdDSA"}, {"typ", "at+jwt"}, {"kid", key_.kid()}}; }
  json GoodClaims() const {
    const int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
    return {{"iss", "cityhub"}, {"aud", "cityhub-api"}, {"sub", "acc1"}, {"iat", now},
            {"nbf", now},       {"exp", now + 600},     {"jti", "j1"},   {"roles", {"citizen"}}};
  }

  void ExpectRejected(const std::string& token, const std::string& reason) {
    const auto result = verifier_.Verify(token);
    ASSERT_FALSE(result.ok()) << "accepted: " << token.substr(0, 80);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(reason));
  }

  TokenSettings settings_;
  ManualClock clock_{Clock::time_point(1'764'000'000s)};
  Ed25519Key key_;
  TokenVerifier verifier_;
};

TEST(Ed25519Key, LoadsPemKeysAndDerivesAStableKeyId) {
  // `openssl genpkey -algorithm ed25519` output for a fixed key.
  const std::string pem =
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VwBCIEIFNCaZd1gBQT2pdI06vRNWXrUh9qLWc6xVAv/VTS9TyI\n"
      "-----END PRIVATE KEY-----\n";
  auto key = Ed25519Key::FromPem(pem);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(key->has_private());
  EXPECT_EQ(key->public_bytes().size(), 32u);
  EXPECT_EQ(key->kid(), Ed25519Key::FromPublicBytes(key->public_bytes())->kid());
  EXPECT_EQ(key->kid().size(), 43u);
  EXPECT_FALSE(
      Ed25519Key::FromPem("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n").ok());
}

TEST_F(JwtTest, SignedTokensVerifyWithTheirClaims) {
  TokenSigner real(Ed25519Key::Generate(), settings_, clock_);
  std::vector<Ed25519Key> keys;
  keys.push_back(Ed25519Key::FromPublicBytes(real.key().public_bytes()).value());
  verifier_.SetKeys(std::move(keys));
  const std::string token = real.Sign(Claims());
  auto claims = verifier_.Verify(token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->subject, "01JDQ4Z8W3F6T7Y9A0B1C2D3E4");
  EXPECT_EQ(claims->roles, (std::vector<std::string>{"citizen", "operator"}));
  EXPECT_EQ(claims->departments, (std::vector<std::string>{"streets"}));
  EXPECT_TRUE(claims->email_verified);
  EXPECT_EQ(claims->session_id, "fam1");
  EXPECT_EQ(claims->expires_at, clock_.Now() + 600s);
  EXPECT_TRUE(IsUlid(claims->token_id));

  // The header is what RFC 9068 asks for.
  const json header = json::parse(*Base64UrlDecode(token.substr(0, token.find('.'))));
  EXPECT_EQ(header["alg"], "EdDSA");
  EXPECT_EQ(header["typ"], "at+jwt");
  EXPECT_EQ(header["kid"], real.key().kid());
  EXPECT_EQ(TokenVerifier::PeekKid(token), real.key().kid());
}

TEST_F(JwtTest, AcceptsAForgedTokenOnlyWhenEverythingIsRight) {
  ASSERT_TRUE(verifier_.Verify(Forge(GoodHeader(), GoodClaims(), key_)).ok());
}

TEST_F(JwtTest, RejectsATamperedPayload) {
  const std::string token = Forge(GoodHeader(), GoodClaims(), key_);
  json evil = GoodClaims();
  evil["roles"] = {"admin"};
  const size_t first = token.find('.');
  const size_t second = token.find('.', first + 1);
  const std::string tampered =
      token.substr(0, first + 1) + Base64UrlEncode(evil.dump()) + token.substr(second);
  ExpectRejected(tampered, "bad signature");
}

TEST_F(JwtTest, RejectsATamperedSignature) {
  std::string token = Forge(GoodHeader(), GoodClaims(), key_);
  token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
  ExpectRejected(token, "bad signature");
}

TEST_F(JwtTest, RejectsAlgNone) {
  json header = GoodHeader();
  header["alg"] = "none";
  ExpectRejected(Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(GoodClaims().dump()) + ".",
                 "algorithm not allowed");
}

TEST_F(JwtTest, RejectsHs256WithThePublicKeyAsSecret) {
  json header = GoodHeader();
  header["alg"] = "HS256";
  const std::string input =
      Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(GoodClaims().dump());
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.public_bytes().data(), static_cast<int>(key_.public_bytes().size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  ExpectRejected(input + "." + Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len)),
                 "algorithm not allowed");
}

TEST_F(JwtTest, RejectsAnUnknownKeyId) {
  const Ed25519Key other = Ed25519Key::Generate();
  json header = GoodHeader();
  header["kid"] = other.kid();
  ExpectRejected(Forge(header, GoodClaims(), other), "unknown key id");
}

TEST_F(JwtTest, BeforeAnyKeyIsLoadedATokenIsUnavailableNotUnauthenticated) {
  // A process that has not fetched the JWKS yet cannot tell a good token from a bad one: the
  // caller hears "try again" (503), not "signed out" (401).
  TokenVerifier fresh(settings_, clock_);
  const auto result = fresh.Verify(Forge(GoodHeader(), GoodClaims(), key_));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  // Garbage stays garbage whatever the keys.
  EXPECT_EQ(fresh.Verify("not-a-token").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(JwtTest, RejectsAKnownKeyIdWithASignatureFromAnotherKey) {
  ExpectRejected(Forge(GoodHeader(), GoodClaims(), Ed25519Key::Generate()), "bad signature");
}

TEST_F(JwtTest, RejectsWrongIssuerAndAudience) {
  json claims = GoodClaims();
  claims["iss"] = "evil";
  ExpectRejected(Forge(GoodHeader(), claims, key_), "wrong issuer");
  claims = GoodClaims();
  claims["aud"] = "other-api";
  ExpectRejected(Forge(GoodHeader(), claims, key_), "wrong audience");
  claims["aud"] = {"other-api", "cityhub-api"};
  EXPECT_TRUE(verifier_.Verify(Forge(GoodHeader(), claims, key_)).ok());
  claims["iss"] = 42;  // wrong type: refused, not thrown
  ExpectRejected(Forge(GoodHeader(), claims, key_), "wrong issuer");
}

TEST_F(JwtTest, RejectsExpiredAndNotYetValidTokens) {
  const std::string token = Forge(GoodHeader(), GoodClaims(), key_);
  clock_.Advance(600s + 29s);  // within the 30 s leeway
  EXPECT_TRUE(verifier_.Verify(token).ok());
  clock_.Advance(2s);
  ExpectRejected(token, "expired");  // also once it sits in the cache

  json claims = GoodClaims();
  claims["nbf"] = claims["iat"].get<int64_t>() + 120;
  ExpectRejected(Forge(GoodHeader(), claims, key_), "not yet valid");
  claims = GoodClaims();
  claims.erase("exp");
  ExpectRejected(Forge(GoodHeader(), claims, key_), "bad time claims");
}

// Found by tests/fuzz/jwt_fuzz: times past 2262 overflowed the time_point (undefined behaviour).
TEST_F(JwtTest, RejectsTimeClaimsATimePointCannotHold) {
  for (const json& exp :
       {json(99'999'999'999'999), json(-99'999'999'999'999), json(18'446'744'073'709'551'615u),
        json(std::numeric_limits<int64_t>::min())}) {
    json claims = GoodClaims();
    claims["exp"] = exp;
    ExpectRejected(Forge(GoodHeader(), claims, key_), "bad time claims");
  }
}

TEST_F(JwtTest, ACacheHitReturnsTheClaimsOfTheFirstVerification) {
  TokenSigner signer(Ed25519Key::Generate(), settings_, clock_);
  std::vector<Ed25519Key> keys;
  keys.push_back(Ed25519Key::FromPublicBytes(signer.key().public_bytes()).value());
  verifier_.SetKeys(std::move(keys));
  const std::string token = signer.Sign(Claims());
  const auto first = verifier_.Verify(token);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(verifier_.cache_hits(), 0u);
  clock_.Advance(5min);  // later, but the token still lives
  const auto second = verifier_.Verify(token);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(verifier_.cache_hits(), 1u);  // answered from the cache
  EXPECT_EQ(second->subject, first->subject);
  EXPECT_EQ(second->roles, first->roles);
  EXPECT_EQ(second->departments, first->departments);
  EXPECT_EQ(second->email_verified, first->email_verified);
  EXPECT_EQ(second->session_id, first->session_id);
  EXPECT_EQ(second->token_id, first->token_id);
  EXPECT_EQ(second->issued_at, first->issued_at);
  EXPECT_EQ(second->expires_at, first->expires_at);
  EXPECT_EQ(second->not_before, first->not_before);
  // Another token of the same signer is not confused with the cached one.
  AccessClaims other = Claims();
  other.subject = "01JDQ4Z8W3F6T7Y9A0B1C2D3E5";
  EXPECT_EQ(verifier_.Verify(signer.Sign(other))->subject, "01JDQ4Z8W3F6T7Y9A0B1C2D3E5");
  EXPECT_EQ(verifier_.Verify(token)->subject, "01JDQ4Z8W3F6T7Y9A0B1C2D3E4");
}

TEST_F(JwtTest, ACachedTokenIsStillRejectedOnceExpired) {
  const std::string token = Forge(GoodHeader(), GoodClaims(), key_);
  ASSERT_TRUE(verifier_.Verify(token).ok());
  ASSERT_TRUE(verifier_.Verify(token).ok());
  ASSERT_EQ(verifier_.cache_hits(), 1u);  // from the cache
  clock_.Advance(600s + 30s);             // the last second of the leeway
  EXPECT_TRUE(verifier_.Verify(token).ok());
  clock_.Advance(1s);
  ExpectRejected(token, "expired");
  ExpectRejected(token, "expired");  // and stays rejected once dropped from the cache
}

TEST_F(JwtTest, ACacheFullOfLiveTokensKeepsVerifyingCorrectly) {
  TokenVerifier small(settings_, clock_, 30s, /*cache_capacity=*/16);
  std::vector<Ed25519Key> keys;
  keys.push_back(Ed25519Key::FromPublicBytes(key_.public_bytes()).value());
  small.SetKeys(std::move(keys));
  std::vector<std::string> tokens;
  for (int i = 0; i < 100; ++i) {
    json claims = GoodClaims();
    claims["sub"] = "acc" + std::to_string(i);
    tokens.push_back(Forge(GoodHeader(), claims, key_));
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 100; ++i) {
      auto claims = small.Verify(tokens[i]);
      ASSERT_TRUE(claims.ok()) << claims.status();
      EXPECT_EQ(claims->subject, "acc" + std::to_string(i));
    }
  }
}

TEST_F(JwtTest, RejectsTheWrongTokenType) {
  json header = GoodHeader();
  header["typ"] = "JWT";
  ExpectRejected(Forge(header, GoodClaims(), key_), "not an access token");
}

TEST_F(JwtTest, RejectsGarbage) {
  for (const std::string& garbage :
       {std::string(""), std::string("."), std::string(".."), std::string("a.b.c"),
        std::string("...."), std::string("eyJhbGciOiJFZERTQSJ9"), std::string("\xff\xfe.\x01.\x02"),
        std::string("e30.e30.e30"), Base64UrlEncode("[1,2]") + ".e30.AAAA"}) {
    const auto result = verifier_.Verify(garbage);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated) << garbage;
  }
}

TEST_F(JwtTest, RejectsHugeTokensBeforeParsing) {
  json claims = GoodClaims();
  claims["padding"] = std::string(100 * 1024, 'x');
  ExpectRejected(Forge(GoodHeader(), claims, key_), "too long");
}

TEST_F(JwtTest, ATokenSignedWithThePreviousKeyVerifiesFromAJwksListingBothKids) {
  TokenSigner previous(Ed25519Key::Generate(), settings_, clock_);
  TokenSigner current(Ed25519Key::Generate(), settings_, clock_);
  const std::string old_token = previous.Sign(Claims());
  const std::string jwks =
      "{\"keys\":[" + current.key().JwkJson() + "," + previous.key().JwkJson() + "]}";
  const json doc = json::parse(jwks);
  ASSERT_EQ(doc["keys"].size(), 2u);
  EXPECT_EQ(doc["keys"][0]["kid"], current.key().kid());
  EXPECT_EQ(doc["keys"][1]["kid"], previous.key().kid());
  TokenVerifier fresh(settings_, clock_);
  ASSERT_TRUE(fresh.SetKeysFromJwks(jwks).ok());
  EXPECT_TRUE(fresh.HasKey(current.key().kid()));
  EXPECT_TRUE(fresh.HasKey(previous.key().kid()));
  EXPECT_TRUE(fresh.Verify(old_token).ok());
  EXPECT_TRUE(fresh.Verify(current.Sign(Claims())).ok());
}

TEST_F(JwtTest, ReplacingTheKeysWhileVerifyingLeavesNoStaleCacheEntry) {
  const Ed25519Key next = Ed25519Key::Generate();
  std::vector<std::string> tokens;
  for (int i = 0; i < 2000; ++i) {
    json claims = GoodClaims();
    claims["sub"] = "acc" + std::to_string(i);
    tokens.push_back(Forge(GoodHeader(), claims, key_));
  }
  for (int round = 0; round < 20; ++round) {
    std::vector<Ed25519Key> old_keys;
    old_keys.push_back(Ed25519Key::FromPublicBytes(key_.public_bytes()).value());
    verifier_.SetKeys(std::move(old_keys));
    std::atomic<int> verified{0};
    std::thread verifying([&] {
      for (const std::string& t : tokens) {
        (void)verifier_.Verify(t);
        ++verified;
      }
    });
    // Replace the keys while the other thread is in the middle of uncached verifications.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (verified.load() < 10 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    std::vector<Ed25519Key> new_keys;
    new_keys.push_back(Ed25519Key::FromPublicBytes(next.public_bytes()).value());
    verifier_.SetKeys(std::move(new_keys));
    verifying.join();
    for (const std::string& t : tokens) {
      ASSERT_FALSE(verifier_.Verify(t).ok()) << "round " << round << ": a removed key vouched";
    }
  }
}

TEST_F(JwtTest, RotationAcceptsTheCurrentAndPreviousKeyAndDropsRemovedOnes) {
  const Ed25519Key next = Ed25519Key::Generate();
  const std::string old_token = Forge(GoodHeader(), GoodClaims(), key_);
  json next_header = GoodHeader();
  next_header["kid"] = next.kid();
  const std::string new_token = Forge(next_header, GoodClaims(), next);
  ASSERT_TRUE(verifier_.Verify(old_token).ok());  // cached now

  const std::string jwks = "{\"keys\":[" + next.JwkJson() + "," + key_.JwkJson() + "]}";
  ASSERT_TRUE(verifier_.SetKeysFromJwks(jwks).ok());
  EXPECT_EQ(verifier_.key_count(), 2u);
  EXPECT_TRUE(verifier_.Verify(old_token).ok());
  EXPECT_TRUE(verifier_.Verify(new_token).ok());

  ASSERT_TRUE(verifier_.SetKeysFromJwks("{\"keys\":[" + next.JwkJson() + "]}").ok());
  ExpectRejected(old_token, "unknown key id");  // the cache did not keep it alive
  EXPECT_TRUE(verifier_.Verify(new_token).ok());
  EXPECT_FALSE(verifier_.SetKeysFromJwks("{\"keys\":[]}").ok());
  EXPECT_FALSE(verifier_.SetKeysFromJwks("not json").ok());
}

}  // namespace
}  // namespace cityhub::infra::auth
