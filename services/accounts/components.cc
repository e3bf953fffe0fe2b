#include "services/accounts/components.h"

#include <memory>
#include <utility>

#include "cityhub/notifications/v1/notifications.grpc.pb.h"
#include "cityhub/requests/v1/requests.grpc.pb.h"
#include "infra/auth/deleted_accounts.h"
#include "infra/executor.h"
#include "infra/grpc/serve.h"
#include "infra/grpc/tls.h"
#include "infra/log.h"
#include "services/accounts/keys.h"
#include "services/accounts/published_keys.h"

namespace cityhub::accounts {
namespace {

using namespace std::chrono_literals;
namespace requests_v1 = cityhub::requests::v1;
namespace notifications_v1 = cityhub::notifications::v1;

// One attempt to create the first admin: how long to wait before the next, or nullopt when
// done. A setting that cannot work (a bad address or password) stops the server; an address
// someone registered is logged as an error and the service keeps serving.
std::optional<std::chrono::milliseconds> BootstrapStep(Accounts& app, const std::string& email,
                                                       const std::string& password, int& attempt) {
  const absl::Status status = app.service.EnsureAdmin(email, password);
  if (status.ok()) return std::nullopt;
  if (status.code() == absl::StatusCode::kFailedPrecondition) {
    // Someone registered the address: nobody is promoted, and the residents keep their
    // service. An admin has to configure another address (or grant the role).
    infra::log::Error("bootstrap_admin_refused", {{"error", status.message()}});
    return std::nullopt;
  }
  if (status.code() == absl::StatusCode::kInvalidArgument) {  // a setting that cannot work
    app.bootstrap_error = status;
    app.server.Stop();
    return std::nullopt;
  }
  if (status.code() != absl::StatusCode::kUnavailable || attempt % 10 == 0) {
    infra::log::Warn("bootstrap_admin_failed", {{"error", status.message()}});
  }
  ++attempt;
  return 1s;
}

}  // namespace

Accounts& BuildAccounts(infra::Components& parts, const AccountsConfig& config, AccountsKeys keys,
                        AccountsEnv env) {
  // Keys and tokens.
  PublishedKeys published = PublishKeys(keys.signing, keys.previous ? &*keys.previous : nullptr);
  auto& jwks = parts.Make<v1::Jwks>(std::move(published.jwks));
  auto& signer =
      parts.Make<infra::auth::TokenSigner>(std::move(keys.signing), config.tokens, env.clock);
  auto& verifier = parts.Make<infra::auth::TokenVerifier>(config.tokens, env.clock);
  verifier.SetKeys(std::move(published.verify_keys));
  auto& authorizer = parts.Make<infra::auth::Authorizer>(v1::AccountsService::service_full_name(),
                                                         verifier, config.settings.internal_token);
  auto& deleted = parts.Make<infra::auth::DeletedAccounts>(env.redis, keys::kService);
  authorizer.set_deleted_accounts(&deleted);

  // Stores.
  auto& accounts = parts.Make<AccountStore>(env.redis);
  auto& sessions = parts.Make<SessionStore>(env.redis);
  auto& throttle = parts.Make<ThrottleStore>(env.redis, ThrottlePolicy{});
  auto& api_keys = parts.Make<ApiKeyStore>(env.redis);

  // Domain and peers.
  auto& hasher =
      parts.Make<PasswordHasher>(config.argon2, config.hash_concurrency, config.hash_wait);
  requests_v1::RequestsService::StubInterface* requests = nullptr;
  if (!config.requests_address.empty()) {
    requests = parts
                   .Make<std::unique_ptr<requests_v1::RequestsService::Stub>>(
                       requests_v1::RequestsService::NewStub(
                           infra::CreateChannel(config.requests_address, config.common.server.tls)))
                   .get();
  }
  notifications_v1::NotificationsService::StubInterface* notifications = nullptr;
  if (!config.notifications_address.empty()) {
    notifications = parts
                        .Make<std::unique_ptr<notifications_v1::NotificationsService::Stub>>(
                            notifications_v1::NotificationsService::NewStub(infra::CreateChannel(
                                config.notifications_address, config.common.server.tls)))
                        .get();
  }

  // The gRPC service (with its executor and metrics) and the server, destroyed first.
  auto& metrics = parts.Make<AccountsMetrics>(env.metrics);
  auto& service = parts.Make<AccountsService>(
      AccountsDeps{accounts, sessions, throttle, api_keys, hasher, signer, jwks, authorizer,
                   env.clock, requests, notifications, metrics},
      config.settings,
      std::make_unique<infra::BoundedExecutor>(config.common.executor, env.metrics));
  auto& server = infra::AddGrpcServer(parts, config.common.server, env.metrics, service, env.redis);

  auto& app = parts.Make<Accounts>(Accounts{
      signer, verifier, jwks, accounts, sessions, throttle, api_keys, hasher, service, server, {}});

  // Workers.
  if (!config.admin_email.empty()) {
    parts.Loop("bootstrap_admin",
               [&app, email = config.admin_email, password = config.admin_password,
                attempt = 0](const std::stop_token&) mutable {
                 return BootstrapStep(app, email, password, attempt);
               });
  }
  return app;
}

}  // namespace cityhub::accounts
