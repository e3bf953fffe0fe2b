// The costs that bound sign-in and every authenticated call: token signing, verification
// (cached and uncached) and one Argon2id hash at the configured parameters.
#include <benchmark/benchmark.h>

#include "infra/auth/jwt.h"
#include "services/accounts/passwords.h"

namespace cityhub::accounts {
namespace {

using infra::auth::AccessClaims;
using infra::auth::Ed25519Key;
using infra::auth::TokenSettings;

struct Fixture {
  Fixture()
      : signer(Ed25519Key::Generate(), TokenSettings{}, clock), verifier(TokenSettings{}, clock) {
    std::vector<Ed25519Key> keys;
    keys.push_back(Ed25519Key::FromPublicBytes(signer.key().public_bytes()).value());
    verifier.SetKeys(std::move(keys));
  }
  AccessClaims Claims() const {
    AccessClaims c;
    c.subject = "01JDQ4Z8W3F6T7Y9A0B1C2D3E4";
    c.roles = {"citizen", "operator"};
    c.departments = {"streets"};
    c.session_id = "01JDQ4Z8W3F6T7Y9A0B1C2D3E5";
    return c;
  }
  infra::SystemClock clock;
  infra::auth::TokenSigner signer;
  infra::auth::TokenVerifier verifier;
};

void BM_SignAccessToken(benchmark::State& state) {
  Fixture f;
  for (auto _ : state) benchmark::DoNotOptimize(f.signer.Sign(f.Claims()));
}
BENCHMARK(BM_SignAccessToken);

void BM_VerifyAccessTokenUncached(benchmark::State& state) {
  Fixture f;
  // A fresh token per iteration, so every verification misses the cache.
  std::vector<std::string> tokens;
  for (int i = 0; i < 4096; ++i) tokens.push_back(f.signer.Sign(f.Claims()));
  size_t i = 0;
  for (auto _ : state) {
    if (i == tokens.size()) {
      state.PauseTiming();
      for (auto& t : tokens) t = f.signer.Sign(f.Claims());
      i = 0;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(f.verifier.Verify(tokens[i++]));
  }
}
BENCHMARK(BM_VerifyAccessTokenUncached);

void BM_VerifyAccessTokenCached(benchmark::State& state) {
  static Fixture* f = new Fixture();
  static const std::string token = f->signer.Sign(f->Claims());
  (void)f->verifier.Verify(token);
  for (auto _ : state) benchmark::DoNotOptimize(f->verifier.Verify(token));
}
BENCHMARK(BM_VerifyAccessTokenCached)->Threads(1)->Threads(2);

void BM_Argon2idHash(benchmark::State& state) {
  PasswordHasher hasher(Argon2Params{}, 1, std::chrono::seconds(60));
  for (auto _ : state) benchmark::DoNotOptimize(hasher.Hash("Laterne-am-Jahnplatz-7"));
}
BENCHMARK(BM_Argon2idHash)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace cityhub::accounts

BENCHMARK_MAIN();
