// The accounts service: the composition root. Reads the configuration, builds the objects and
// serves until SIGTERM/SIGINT.
#include <cstdio>
#include <optional>

#include "infra/auth/jwt.h"
#include "infra/grpc/serve.h"
#include "infra/log.h"
#include "infra/runtime.h"
#include "infra/service_config.h"
#include "services/accounts/components.h"

namespace cityhub::accounts {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

// Besides AccountsConfig, the key files (read into keys by Run).
struct Config {
  AccountsConfig accounts;
  std::string signing_key_pem;
  std::string previous_key_pem;
};

Config LoadConfig(infra::EnvReader& env) {
  Config config;
  AccountsConfig& c = config.accounts;
  c.common = infra::LoadCommonConfig(env, {"accounts", "127.0.0.1:7001", "127.0.0.1:7101"});
  config.signing_key_pem = env.FileContents("CITYHUB_JWT_SIGNING_KEY_FILE", true);
  config.previous_key_pem = env.FileContents("CITYHUB_JWT_PREVIOUS_KEY_FILE", false);
  c.tokens.issuer = env.String("CITYHUB_JWT_ISSUER", "cityhub", 256);
  c.tokens.audience = env.String("CITYHUB_JWT_AUDIENCE", "cityhub-api", 256);
  c.tokens.access_ttl = std::chrono::duration_cast<std::chrono::seconds>(
      env.Duration("CITYHUB_ACCESS_TOKEN_TTL", 10min, 1min, 60min));
  c.settings.refresh_idle_ttl =
      env.Duration("CITYHUB_REFRESH_IDLE_TTL", milliseconds(30 * 86'400'000LL), 1h,
                   milliseconds(365 * 86'400'000LL));
  c.settings.refresh_absolute_ttl =
      env.Duration("CITYHUB_REFRESH_ABSOLUTE_TTL", milliseconds(180 * 86'400'000LL), 1h,
                   milliseconds(730 * 86'400'000LL));
  if (c.settings.refresh_absolute_ttl < c.settings.refresh_idle_ttl) {
    env.AddError("CITYHUB_REFRESH_ABSOLUTE_TTL",
                 "must not be shorter than CITYHUB_REFRESH_IDLE_TTL");
  }
  c.argon2.memory_kib =
      static_cast<uint64_t>(env.Int("CITYHUB_ARGON2_MEMORY_KIB", Argon2Params::kMinMemoryKib,
                                    Argon2Params::kMinMemoryKib, 1 << 22));
  c.argon2.iterations = static_cast<uint64_t>(env.Int(
      "CITYHUB_ARGON2_ITERATIONS", Argon2Params::kMinIterations, Argon2Params::kMinIterations, 64));
  c.hash_concurrency = static_cast<int>(env.Int("CITYHUB_ARGON2_CONCURRENCY", 2, 1, 64));
  c.admin_email = env.String("CITYHUB_BOOTSTRAP_ADMIN_EMAIL", "", 254);
  c.admin_password =
      env.FileContents("CITYHUB_BOOTSTRAP_ADMIN_PASSWORD_FILE", !c.admin_email.empty(), 1024);
  c.settings.internal_token = env.FileContents("CITYHUB_INTERNAL_TOKEN_FILE", false, 4096);
  // Peers for the privacy export; unset leaves their part out (single-service setups, tests).
  c.requests_address = env.String("CITYHUB_REQUESTS_ADDR", "");
  c.notifications_address = env.String("CITYHUB_NOTIFICATIONS_ADDR", "");
  return config;
}

int Run() {
  infra::BlockShutdownSignals();
  infra::TuneRuntime();
  infra::EnvReader env;
  Config config = LoadConfig(env);
  auto signing_key = infra::auth::Ed25519Key::FromPem(config.signing_key_pem);
  if (!config.signing_key_pem.empty() && (!signing_key.ok() || !signing_key->has_private())) {
    env.AddError("CITYHUB_JWT_SIGNING_KEY_FILE", "must hold an Ed25519 private key in PEM");
  }
  std::optional<infra::auth::Ed25519Key> previous_key;
  if (!config.previous_key_pem.empty()) {
    auto key = infra::auth::Ed25519Key::FromPem(config.previous_key_pem);
    if (key.ok()) {
      previous_key = std::move(*key);
    } else {
      env.AddError("CITYHUB_JWT_PREVIOUS_KEY_FILE", "must hold an Ed25519 key in PEM");
    }
  }
  if (auto status = env.Finish(); !status.ok()) {
    std::fprintf(stderr, "accounts: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  infra::log::Init("accounts", config.accounts.common.log_level);
  if (config.accounts.settings.internal_token.empty()) {
    infra::log::Warn("no_internal_token", {{"effect", "service-to-service methods are refused"}});
  }

  infra::SystemClock clock;
  infra::MetricsRegistry metrics;
  infra::Components parts;
  infra::redis::ExportPoolWait(metrics, config.accounts.common.redis);
  auto& redis = parts.Make<infra::redis::Client>(config.accounts.common.redis);
  Accounts& app = BuildAccounts(parts, config.accounts,
                                AccountsKeys{std::move(*signing_key), std::move(previous_key)},
                                AccountsEnv{redis, clock, metrics});
  if (const int code = infra::Serve(parts, app.server); code != 0) return code;
  if (!app.bootstrap_error.ok()) {
    infra::log::Error("bootstrap_admin_failed", {{"error", app.bootstrap_error.message()}});
    std::fprintf(stderr, "accounts: %s\n", std::string(app.bootstrap_error.message()).c_str());
    return 2;
  }
  return 0;
}

}  // namespace
}  // namespace cityhub::accounts

int main() { return cityhub::accounts::Run(); }
