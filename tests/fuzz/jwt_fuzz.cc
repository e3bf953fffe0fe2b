// Access tokens: any bytes as a token (first byte even), or a header and claims (split at the
// first newline) signed with the verifier's own key (first byte odd), so that the fuzzer
// reaches the claim checks behind the signature. Failures are UNAUTHENTICATED; accepted tokens
// hold claims that passed every check, and a second verification (from the cache) agrees.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "infra/auth/jwt.h"
#include "infra/clock.h"
#include "infra/ids.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using cityhub::fuzz::Check;
using cityhub::infra::auth::AccessClaims;
using cityhub::infra::auth::Ed25519Key;
using cityhub::infra::auth::TokenVerifier;
using namespace std::chrono_literals;

// A fixed key, so that seeds signed with it stay valid (tests/fuzz/corpus/jwt_fuzz/).
constexpr char kPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIFi3eUz32AOJtVm1jQ8E+2kV1kAYvJZYHNBWYkQpzA0c\n"
    "-----END PRIVATE KEY-----\n";
// 2025-11-24T16:00:00Z, the seeds' issue time.
constexpr std::chrono::seconds kNow{1'764'000'000};

struct World {
  Ed25519Key key = Ed25519Key::FromPem(kPem).value();
  cityhub::infra::ManualClock clock{cityhub::infra::Clock::time_point(kNow)};
  TokenVerifier verifier{{}, clock, 30s, 64};
  World() {
    std::vector<Ed25519Key> keys;
    keys.push_back(Ed25519Key::FromPublicBytes(key.public_bytes()).value());
    verifier.SetKeys(std::move(keys));
  }
};

bool Same(const AccessClaims& a, const AccessClaims& b) {
  return a.subject == b.subject && a.roles == b.roles && a.departments == b.departments &&
         a.email_verified == b.email_verified && a.session_id == b.session_id &&
         a.token_id == b.token_id && a.expires_at == b.expires_at && a.issued_at == b.issued_at &&
         a.not_before == b.not_before;
}

void CheckVerify(const World& w, std::string_view token) {
  auto claims = w.verifier.Verify(token);
  (void)TokenVerifier::PeekKid(token);
  if (!claims.ok()) {
    Check(claims.status().code() == absl::StatusCode::kUnauthenticated, "not UNAUTHENTICATED");
    Check(!claims.status().message().empty(), "no reason given");
    return;
  }
  const auto now = w.clock.Now();
  Check(!claims->subject.empty() && claims->subject.size() <= 64, "subject checked");
  Check(claims->expires_at + 30s >= now, "expired token accepted");
  Check(claims->issued_at <= now + 30s && claims->not_before <= now + 30s, "future token");
  Check(claims->roles.size() <= 8 && claims->departments.size() <= 32, "role lists bounded");
  auto again = w.verifier.Verify(token);
  Check(again.ok() && Same(*claims, *again), "cached verification differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const World* world = new World();
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    CheckVerify(*world, input);
    return 0;
  }
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  using cityhub::infra::Base64UrlEncode;
  const std::string signing_input =
      Base64UrlEncode(input.substr(0, newline)) + "." + Base64UrlEncode(input.substr(newline + 1));
  CheckVerify(*world, signing_input + "." + Base64UrlEncode(world->key.Sign(signing_input)));
  return 0;
}
