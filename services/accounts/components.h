#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "cityhub/accounts/v1/accounts.pb.h"
#include "infra/auth/authorizer.h"
#include "infra/auth/jwt.h"
#include "infra/clock.h"
#include "infra/component.h"
#include "infra/grpc/server.h"
#include "infra/metrics.h"
#include "infra/redis/client.h"
#include "infra/service_config.h"
#include "services/accounts/account_store.h"
#include "services/accounts/accounts_service.h"
#include "services/accounts/api_key_store.h"
#include "services/accounts/passwords.h"
#include "services/accounts/session_store.h"
#include "services/accounts/throttle_store.h"

// The accounts service's parts, declared once (config → stores → domain → gRPC service →
// workers) and built the same way by main.cc and the tests.
namespace cityhub::accounts {

// Everything the graph is built from besides the keys; main.cc's LoadConfig reads it from the
// environment, tests set it.
struct AccountsConfig {
  infra::CommonConfig common;  // gRPC server, Redis, executor
  infra::auth::TokenSettings tokens;
  AccountsSettings settings;
  Argon2Params argon2;
  // Argon2id computations at once, and how long a call waits for one before UNAVAILABLE.
  int hash_concurrency = 2;
  std::chrono::milliseconds hash_wait = std::chrono::seconds(10);
  // The first admin (both empty: none), created by the bootstrap_admin worker.
  std::string admin_email;
  std::string admin_password;
  // Peers for the privacy export; empty leaves their part out.
  std::string requests_address;
  std::string notifications_address;
};

// The signing key and, while tokens signed with it may be alive, the previous one.
struct AccountsKeys {
  infra::auth::Ed25519Key signing;
  std::optional<infra::auth::Ed25519Key> previous;
};

// What the process shares with the graph: borrowed, and must outlive it.
struct AccountsEnv {
  infra::redis::Client& redis;
  const infra::Clock& clock;
  infra::MetricsRegistry& metrics;
};

// The built graph; every reference points into the infra::Components it was built in.
struct Accounts {
  infra::auth::TokenSigner& signer;
  infra::auth::TokenVerifier& verifier;
  // What GetJwks answers (a test may publish other keys while serving).
  cityhub::accounts::v1::Jwks& jwks;
  AccountStore& accounts;
  SessionStore& sessions;
  ThrottleStore& throttle;
  ApiKeyStore& api_keys;
  PasswordHasher& hasher;
  AccountsService& service;
  // Serves `service`; not yet started (Start, then Components::StartWorkers).
  infra::GrpcServer& server;
  // Set by the bootstrap_admin worker when the first admin's settings cannot work (it stops
  // the server then); read after the workers have stopped.
  absl::Status bootstrap_error;
};

// Builds the accounts graph into `parts`. Workers: bootstrap_admin when config.admin_email is
// set (creates the first admin once Redis answers; see components.cc).
Accounts& BuildAccounts(infra::Components& parts, const AccountsConfig& config, AccountsKeys keys,
                        AccountsEnv env);

}  // namespace cityhub::accounts
