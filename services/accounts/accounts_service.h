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
#include "services/accounts/account_store.h"
#include "services/accounts/api_key_store.h"
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
};

// The accounts gRPC service (sync API: handlers block on Redis and on Argon2id, which runs in
// a bounded pool of its own).
//
// Unverified accounts may sign in, read and change their profile, resend the verification
// mail, export and delete their data, and read everything public. Until the e-mail is
// verified they cannot file requests under their name, comment or follow (the requests
// service checks the access token's `ev` claim), so that no one can act in the name of an
// address they do not control.
class AccountsService final : public cityhub::accounts::v1::AccountsService::Service {
 public:
  AccountsService(AccountsDeps deps, AccountsSettings settings);

  // Creates the first admin if no account has `email` yet (start-up, from configuration).
  absl::Status EnsureAdmin(const std::string& email, const std::string& password);

#define CITYHUB_RPC(Name, Request, Response)                                                 \
  grpc::Status Name(grpc::ServerContext* ctx, const cityhub::accounts::v1::Request* request, \
                    cityhub::accounts::v1::Response* response) override
  CITYHUB_RPC(Register, RegisterRequest, Account);
  CITYHUB_RPC(VerifyEmail, VerifyEmailRequest, VerifyEmailResponse);
  CITYHUB_RPC(ResendVerification, ResendVerificationRequest, ResendVerificationResponse);
  CITYHUB_RPC(SignIn, SignInRequest, TokenPair);
  CITYHUB_RPC(Refresh, RefreshRequest, TokenPair);
  CITYHUB_RPC(SignOut, SignOutRequest, SignOutResponse);
  CITYHUB_RPC(SignOutEverywhere, SignOutEverywhereRequest, SignOutResponse);
  CITYHUB_RPC(GetMe, GetMeRequest, Account);
  CITYHUB_RPC(UpdateMe, UpdateMeRequest, Account);
  CITYHUB_RPC(ChangePassword, ChangePasswordRequest, ChangePasswordResponse);
  CITYHUB_RPC(RequestPasswordReset, RequestPasswordResetRequest, RequestPasswordResetResponse);
  CITYHUB_RPC(ConfirmPasswordReset, ConfirmPasswordResetRequest, ConfirmPasswordResetResponse);
  CITYHUB_RPC(ExportMyData, ExportMyDataRequest, PersonalDataExport);
  CITYHUB_RPC(DeleteMe, DeleteMeRequest, DeleteMeResponse);
  CITYHUB_RPC(GetJwks, GetJwksRequest, Jwks);
  CITYHUB_RPC(GetAccount, GetAccountRequest, Account);
  CITYHUB_RPC(ListAccounts, ListAccountsRequest, ListAccountsResponse);
  CITYHUB_RPC(SetRoles, SetRolesRequest, Account);
  CITYHUB_RPC(CreateApiKey, CreateApiKeyRequest, CreatedApiKey);
  CITYHUB_RPC(ListApiKeys, ListApiKeysRequest, ListApiKeysResponse);
  CITYHUB_RPC(DeleteApiKey, DeleteApiKeyRequest, DeleteApiKeyResponse);
  CITYHUB_RPC(GetContact, GetContactRequest, Contact);
  CITYHUB_RPC(CheckApiKey, CheckApiKeyRequest, CheckApiKeyResponse);
#undef CITYHUB_RPC

 private:
  absl::StatusOr<infra::auth::Caller> Authorize(grpc::ServerContext* ctx, std::string_view method);
  // Signs in `account` on a new session (a new refresh-token family).
  absl::StatusOr<cityhub::accounts::v1::TokenPair> StartSession(const StoredAccount& account);
  cityhub::accounts::v1::TokenPair MakePair(const StoredAccount& account, const std::string& family,
                                            const std::string& refresh_secret) const;
  // Checks `password` for a signed-in account, throttled like sign-in.
  absl::Status CheckPassword(const StoredAccount& account, const infra::auth::Caller& caller,
                             std::string_view password, std::string_view field);
  void Audit(std::string_view account_id, std::string_view kind, const infra::auth::Caller& caller,
             std::string_view detail = {});
  cityhub::events::v1::Event NewEvent(grpc::ServerContext* ctx) const;

  AccountsDeps deps_;
  AccountsSettings settings_;
};

}  // namespace cityhub::accounts
