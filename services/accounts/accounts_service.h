#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cityhub/accounts/v1/accounts.grpc.pb.h"
#include "cityhub/notifications/v1/notifications.grpc.pb.h"
#include "cityhub/requests/v1/requests.grpc.pb.h"
#include "infra/auth/authorizer.h"
#include "infra/auth/jwt.h"
#include "infra/clock.h"
#include "infra/executor.h"
#include "infra/grpc/unary.h"
#include "infra/metrics.h"
#include "services/accounts/account_store.h"
#include "services/accounts/api_key_store.h"
#include "services/accounts/metrics.h"
#include "services/accounts/passwords.h"
#include "services/accounts/session_store.h"
#include "services/accounts/throttle_store.h"

namespace cityhub::accounts {

struct AccountsSettings {
  std::chrono::milliseconds refresh_idle_ttl = std::chrono::hours(24 * 30);
  std::chrono::milliseconds refresh_absolute_ttl = std::chrono::hours(24 * 180);
  TokenLimits verify_limits;
  TokenLimits reset_limits;
  // Sent as x-cityhub-internal on calls to the other services (privacy export).
  std::string internal_token;
  std::chrono::milliseconds export_timeout = std::chrono::seconds(10);
};

// Everything the service is built from; all borrowed, and all must outlive it.
struct AccountsDeps {
  AccountStore& accounts;
  SessionStore& sessions;
  ThrottleStore& throttle;
  ApiKeyStore& api_keys;
  PasswordHasher& hasher;
  const infra::auth::TokenSigner& signer;
  // The public keys published for verifiers: the signing key first, then previous ones.
  const cityhub::accounts::v1::Jwks& jwks;
  const infra::auth::Authorizer& authorizer;
  const infra::Clock& clock;
  // Null when that service is not configured: its part of the export is left out.
  cityhub::requests::v1::RequestsService::StubInterface* requests;
  cityhub::notifications::v1::NotificationsService::StubInterface* notifications;
  AccountsMetrics& metrics;
};

// The accounts gRPC service on gRPC's callback API (the concurrency model of docs/design.md):
// every method runs its body on the service's bounded executor, where it blocks on Redis and on
// Argon2id (which is limited further by PasswordHasher's own slots); a full executor answers
// RESOURCE_EXHAUSTED. No body runs on a gRPC callback thread.
//
// Unverified accounts may sign in, read and change their profile, resend the verification
// mail, export and delete their data, and read everything public. Until the e-mail is
// verified they cannot file requests under their name, comment or follow (the requests
// service checks the access token's `ev` claim), so that no one can act in the name of an
// address they do not control.
class AccountsService final : public cityhub::accounts::v1::AccountsService::CallbackService,
                              public infra::UnaryMethods<AccountsService> {
 public:
  // `executor` runs the handler bodies; it is stopped (draining its queue) when the service is
  // destroyed, which must happen after the server has shut down.
  AccountsService(AccountsDeps deps, AccountsSettings settings,
                  std::unique_ptr<infra::BoundedExecutor> executor);
  // With an executor of its own (4 workers, queue 64, metrics not exported): for tests of other
  // services that need a real accounts service.
  AccountsService(AccountsDeps deps, AccountsSettings settings);

  // Creates the first admin if no account has `email` yet (start-up, from configuration).
  absl::Status EnsureAdmin(const std::string& email, const std::string& password);

  // Each method runs its body (Do...) on the service's executor.
  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* ctx,
                                     const v1::RegisterRequest* request,
                                     v1::Account* response) override {
    return Run(ctx, request, response, &AccountsService::DoRegister);
  }
  grpc::ServerUnaryReactor* VerifyEmail(grpc::CallbackServerContext* ctx,
                                        const v1::VerifyEmailRequest* request,
                                        v1::VerifyEmailResponse* response) override {
    return Run(ctx, request, response, &AccountsService::DoVerifyEmail);
  }
  grpc::ServerUnaryReactor* ResendVerification(grpc::CallbackServerContext* ctx,
                                               const v1::ResendVerificationRequest* request,
                                               v1::ResendVerificationResponse* response) override {
    return Run(ctx, request, response, &AccountsService::DoResendVerification);
  }
  grpc::ServerUnaryReactor* SignIn(grpc::CallbackServerContext* ctx,
                                   const v1::SignInRequest* request,
                                   v1::TokenPair* response) override {
    return Run(ctx, request, response, &AccountsService::DoSignIn);
  }
  grpc::ServerUnaryReactor* Refresh(grpc::CallbackServerContext* ctx,
                                    const v1::RefreshRequest* request,
                                    v1::TokenPair* response) override {
    return Run(ctx, request, response, &AccountsService::DoRefresh);
  }
  grpc::ServerUnaryReactor* SignOut(grpc::CallbackServerContext* ctx,
                                    const v1::SignOutRequest* request,
                                    v1::SignOutResponse* response) override {
    return Run(ctx, request, response, &AccountsService::DoSignOut);
  }
  grpc::ServerUnaryReactor* SignOutEverywhere(grpc::CallbackServerContext* ctx,
                                              const v1::SignOutEverywhereRequest* request,
                                              v1::SignOutResponse* response) override {
    return Run(ctx, request, response, &AccountsService::DoSignOutEverywhere);
  }
  grpc::ServerUnaryReactor* GetMe(grpc::CallbackServerContext* ctx, const v1::GetMeRequest* request,
                                  v1::Account* response) override {
    return Run(ctx, request, response, &AccountsService::DoGetMe);
  }
  grpc::ServerUnaryReactor* UpdateMe(grpc::CallbackServerContext* ctx,
                                     const v1::UpdateMeRequest* request,
                                     v1::Account* response) override {
    return Run(ctx, request, response, &AccountsService::DoUpdateMe);
  }
  grpc::ServerUnaryReactor* ChangePassword(grpc::CallbackServerContext* ctx,
                                           const v1::ChangePasswordRequest* request,
                                           v1::ChangePasswordResponse* response) override {
    return Run(ctx, request, response, &AccountsService::DoChangePassword);
  }
  grpc::ServerUnaryReactor* RequestPasswordReset(
      grpc::CallbackServerContext* ctx, const v1::RequestPasswordResetRequest* request,
      v1::RequestPasswordResetResponse* response) override {
    return Run(ctx, request, response, &AccountsService::DoRequestPasswordReset);
  }
  grpc::ServerUnaryReactor* ConfirmPasswordReset(
      grpc::CallbackServerContext* ctx, const v1::ConfirmPasswordResetRequest* request,
      v1::ConfirmPasswordResetResponse* response) override {
    return Run(ctx, request, response, &AccountsService::DoConfirmPasswordReset);
  }
  grpc::ServerUnaryReactor* ExportMyData(grpc::CallbackServerContext* ctx,
                                         const v1::ExportMyDataRequest* request,
                                         v1::PersonalDataExport* response) override {
    return Run(ctx, request, response, &AccountsService::DoExportMyData);
  }
  grpc::ServerUnaryReactor* DeleteMe(grpc::CallbackServerContext* ctx,
                                     const v1::DeleteMeRequest* request,
                                     v1::DeleteMeResponse* response) override {
    return Run(ctx, request, response, &AccountsService::DoDeleteMe);
  }
  grpc::ServerUnaryReactor* GetJwks(grpc::CallbackServerContext* ctx,
                                    const v1::GetJwksRequest* request,
                                    v1::Jwks* response) override {
    return Run(ctx, request, response, &AccountsService::DoGetJwks);
  }
  grpc::ServerUnaryReactor* GetAccount(grpc::CallbackServerContext* ctx,
                                       const v1::GetAccountRequest* request,
                                       v1::Account* response) override {
    return Run(ctx, request, response, &AccountsService::DoGetAccount);
  }
  grpc::ServerUnaryReactor* ListAccounts(grpc::CallbackServerContext* ctx,
                                         const v1::ListAccountsRequest* request,
                                         v1::ListAccountsResponse* response) override {
    return Run(ctx, request, response, &AccountsService::DoListAccounts);
  }
  grpc::ServerUnaryReactor* SetRoles(grpc::CallbackServerContext* ctx,
                                     const v1::SetRolesRequest* request,
                                     v1::Account* response) override {
    return Run(ctx, request, response, &AccountsService::DoSetRoles);
  }
  grpc::ServerUnaryReactor* CreateApiKey(grpc::CallbackServerContext* ctx,
                                         const v1::CreateApiKeyRequest* request,
                                         v1::CreatedApiKey* response) override {
    return Run(ctx, request, response, &AccountsService::DoCreateApiKey);
  }
  grpc::ServerUnaryReactor* ListApiKeys(grpc::CallbackServerContext* ctx,
                                        const v1::ListApiKeysRequest* request,
                                        v1::ListApiKeysResponse* response) override {
    return Run(ctx, request, response, &AccountsService::DoListApiKeys);
  }
  grpc::ServerUnaryReactor* DeleteApiKey(grpc::CallbackServerContext* ctx,
                                         const v1::DeleteApiKeyRequest* request,
                                         v1::DeleteApiKeyResponse* response) override {
    return Run(ctx, request, response, &AccountsService::DoDeleteApiKey);
  }
  grpc::ServerUnaryReactor* GetContact(grpc::CallbackServerContext* ctx,
                                       const v1::GetContactRequest* request,
                                       v1::Contact* response) override {
    return Run(ctx, request, response, &AccountsService::DoGetContact);
  }
  grpc::ServerUnaryReactor* CheckApiKey(grpc::CallbackServerContext* ctx,
                                        const v1::CheckApiKeyRequest* request,
                                        v1::CheckApiKeyResponse* response) override {
    return Run(ctx, request, response, &AccountsService::DoCheckApiKey);
  }

 private:
  // Run (infra::UnaryMethods) posts the bodies here.
  friend class infra::UnaryMethods<AccountsService>;
  infra::BoundedExecutor& unary_executor() { return *executor_; }

  // The bodies of the unary methods; each runs on a worker of executor_ (accounts_*.cc).
  absl::Status DoRegister(grpc::ServerContextBase* ctx, const v1::RegisterRequest* request,
                          v1::Account* response);
  absl::Status DoVerifyEmail(grpc::ServerContextBase* ctx, const v1::VerifyEmailRequest* request,
                             v1::VerifyEmailResponse* response);
  absl::Status DoResendVerification(grpc::ServerContextBase* ctx,
                                    const v1::ResendVerificationRequest* request,
                                    v1::ResendVerificationResponse* response);
  absl::Status DoSignIn(grpc::ServerContextBase* ctx, const v1::SignInRequest* request,
                        v1::TokenPair* response);
  absl::Status DoRefresh(grpc::ServerContextBase* ctx, const v1::RefreshRequest* request,
                         v1::TokenPair* response);
  absl::Status DoSignOut(grpc::ServerContextBase* ctx, const v1::SignOutRequest* request,
                         v1::SignOutResponse* response);
  absl::Status DoSignOutEverywhere(grpc::ServerContextBase* ctx,
                                   const v1::SignOutEverywhereRequest* request,
                                   v1::SignOutResponse* response);
  absl::Status DoGetMe(grpc::ServerContextBase* ctx, const v1::GetMeRequest* request,
                       v1::Account* response);
  absl::Status DoUpdateMe(grpc::ServerContextBase* ctx, const v1::UpdateMeRequest* request,
                          v1::Account* response);
  absl::Status DoChangePassword(grpc::ServerContextBase* ctx,
                                const v1::ChangePasswordRequest* request,
                                v1::ChangePasswordResponse* response);
  absl::Status DoRequestPasswordReset(grpc::ServerContextBase* ctx,
                                      const v1::RequestPasswordResetRequest* request,
                                      v1::RequestPasswordResetResponse* response);
  absl::Status DoConfirmPasswordReset(grpc::ServerContextBase* ctx,
                                      const v1::ConfirmPasswordResetRequest* request,
                                      v1::ConfirmPasswordResetResponse* response);
  absl::Status DoExportMyData(grpc::ServerContextBase* ctx, const v1::ExportMyDataRequest* request,
                              v1::PersonalDataExport* response);
  absl::Status DoDeleteMe(grpc::ServerContextBase* ctx, const v1::DeleteMeRequest* request,
                          v1::DeleteMeResponse* response);
  absl::Status DoGetJwks(grpc::ServerContextBase* ctx, const v1::GetJwksRequest* request,
                         v1::Jwks* response);
  absl::Status DoGetAccount(grpc::ServerContextBase* ctx, const v1::GetAccountRequest* request,
                            v1::Account* response);
  absl::Status DoListAccounts(grpc::ServerContextBase* ctx, const v1::ListAccountsRequest* request,
                              v1::ListAccountsResponse* response);
  absl::Status DoSetRoles(grpc::ServerContextBase* ctx, const v1::SetRolesRequest* request,
                          v1::Account* response);
  absl::Status DoCreateApiKey(grpc::ServerContextBase* ctx, const v1::CreateApiKeyRequest* request,
                              v1::CreatedApiKey* response);
  absl::Status DoListApiKeys(grpc::ServerContextBase* ctx, const v1::ListApiKeysRequest* request,
                             v1::ListApiKeysResponse* response);
  absl::Status DoDeleteApiKey(grpc::ServerContextBase* ctx, const v1::DeleteApiKeyRequest* request,
                              v1::DeleteApiKeyResponse* response);
  absl::Status DoGetContact(grpc::ServerContextBase* ctx, const v1::GetContactRequest* request,
                            v1::Contact* response);
  absl::Status DoCheckApiKey(grpc::ServerContextBase* ctx, const v1::CheckApiKeyRequest* request,
                             v1::CheckApiKeyResponse* response);

  absl::StatusOr<infra::auth::Caller> Authorize(grpc::ServerContextBase* ctx,
                                                std::string_view method);
  // Signs in `account` on a new session (a new refresh-token family).
  absl::StatusOr<cityhub::accounts::v1::TokenPair> StartSession(const StoredAccount& account);
  cityhub::accounts::v1::TokenPair MakePair(const StoredAccount& account, const std::string& family,
                                            const std::string& refresh_secret) const;
  // Checks `password` for a signed-in account, throttled like sign-in.
  absl::Status CheckPassword(const StoredAccount& account, const infra::auth::Caller& caller,
                             std::string_view password, std::string_view field);
  void Audit(std::string_view account_id, std::string_view kind, const infra::auth::Caller& caller,
             std::string_view detail = {});
  cityhub::events::v1::Event NewEvent(grpc::ServerContextBase* ctx) const;

  AccountsDeps deps_;
  AccountsSettings settings_;
  // Only with the two-argument constructor: the registry of the executor's metrics.
  std::unique_ptr<infra::MetricsRegistry> own_metrics_;
  // Last, so that it is stopped (running what is queued) before anything its tasks use.
  std::unique_ptr<infra::BoundedExecutor> executor_;
};

}  // namespace cityhub::accounts
