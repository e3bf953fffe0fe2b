// The accounts service: the composition root. Reads the configuration, builds the objects and
// serves until SIGTERM/SIGINT.
#include <cstdio>
#include <optional>
#include <thread>

#include "infra/auth/authorizer.h"
#include "infra/auth/jwt.h"
#include "infra/grpc/server.h"
#include "infra/grpc/tls.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/runtime.h"
#include "infra/service_config.h"
#include "services/accounts/accounts_service.h"
#include "services/accounts/published_keys.h"

namespace cityhub::accounts {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

struct Config {
  infra::CommonConfig common;
  std::string signing_key_pem;
  std::string previous_key_pem;
  infra::auth::TokenSettings tokens;
  AccountsSettings settings;
  Argon2Params argon2;
  int hash_concurrency = 2;
  std::string admin_email;
  std::string admin_password;
  std::string requests_address;
  std::string notifications_address;
};

Config LoadConfig(infra::EnvReader& env) {
  Config c;
  c.common = infra::LoadCommonConfig(env, {"accounts", "127.0.0.1:7001", "127.0.0.1:7101"});
  c.signing_key_pem = env.FileContents("CITYHUB_JWT_SIGNING_KEY_FILE", true);
  c.previous_key_pem = env.FileContents("CITYHUB_JWT_PREVIOUS_KEY_FILE", false);
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
  return c;
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
  infra::log::Init("accounts", config.common.log_level);
  if (config.settings.internal_token.empty()) {
    infra::log::Warn("no_internal_token", {{"effect", "service-to-service methods are refused"}});
  }

  infra::SystemClock clock;
  infra::MetricsRegistry metrics;
  infra::redis::Client redis(config.common.redis);

  PublishedKeys keys = PublishKeys(*signing_key, previous_key ? &*previous_key : nullptr);
  infra::auth::TokenSigner signer(std::move(*signing_key), config.tokens, clock);
  infra::auth::TokenVerifier verifier(config.tokens, clock);
  verifier.SetKeys(std::move(keys.verify_keys));
  infra::auth::Authorizer authorizer(v1::AccountsService::service_full_name(), verifier,
                                     config.settings.internal_token);
  infra::auth::DeletedAccounts deleted(redis, "accounts");
  authorizer.set_deleted_accounts(&deleted);
  AccountStore accounts(redis);
  SessionStore sessions(redis);
  ThrottleStore throttle(redis, ThrottlePolicy{});
  ApiKeyStore api_keys(redis);
  PasswordHasher hasher(config.argon2, config.hash_concurrency, 10s);

  std::unique_ptr<cityhub::requests::v1::RequestsService::Stub> requests;
  std::unique_ptr<cityhub::notifications::v1::NotificationsService::Stub> notifications;
  if (!config.requests_address.empty()) {
    requests = cityhub::requests::v1::RequestsService::NewStub(
        infra::CreateChannel(config.requests_address, config.common.server.tls));
  }
  if (!config.notifications_address.empty()) {
    notifications = cityhub::notifications::v1::NotificationsService::NewStub(
        infra::CreateChannel(config.notifications_address, config.common.server.tls));
  }

  AccountsService service(
      AccountsDeps{accounts, sessions, throttle, api_keys, hasher, signer, keys.jwks, authorizer,
                   clock, requests.get(), notifications.get()},
      config.settings, std::make_unique<infra::BoundedExecutor>(config.common.executor, metrics));

  infra::GrpcServer server(config.common.server, metrics);
  server.AddService(&service);
  if (auto status = server.Start(); !status.ok()) {
    infra::log::Error("start_failed", {{"error", status.message()}});
    return 1;
  }
  // The first admin is created once Redis answers; the service serves meanwhile. A setting
  // that cannot work (a bad address or password) stops it; an address someone registered is
  // logged as an error and the service keeps serving.
  absl::Status bootstrap_error;
  std::jthread bootstrap;
  if (!config.admin_email.empty()) {
    bootstrap = std::jthread([&](std::stop_token stop) {
      for (int attempt = 0; !stop.stop_requested(); ++attempt) {
        const absl::Status status = service.EnsureAdmin(config.admin_email, config.admin_password);
        if (status.ok()) return;
        if (status.code() == absl::StatusCode::kFailedPrecondition) {
          // Someone registered the address: nobody is promoted, and the residents keep their
          // service. An admin has to configure another address (or grant the role).
          infra::log::Error("bootstrap_admin_refused", {{"error", status.message()}});
          return;
        }
        if (status.code() == absl::StatusCode::kInvalidArgument) {  // a setting that cannot work
          bootstrap_error = status;
          server.Stop();
          return;
        }
        if (status.code() != absl::StatusCode::kUnavailable || attempt % 10 == 0) {
          infra::log::Warn("bootstrap_admin_failed", {{"error", status.message()}});
        }
        std::this_thread::sleep_for(1s);
      }
    });
  }
  server.Run();
  if (bootstrap.joinable()) {
    bootstrap.request_stop();
    bootstrap.join();
  }
  if (!bootstrap_error.ok()) {
    infra::log::Error("bootstrap_admin_failed", {{"error", bootstrap_error.message()}});
    std::fprintf(stderr, "accounts: %s\n", std::string(bootstrap_error.message()).c_str());
    return 2;
  }
  return 0;
}

}  // namespace
}  // namespace cityhub::accounts

int main() { return cityhub::accounts::Run(); }
