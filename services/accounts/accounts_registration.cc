// AccountsService: registration and e-mail verification.
#include "services/accounts/accounts_service.h"

#include "infra/grpc/unary.h"
#include "infra/ids.h"
#include "infra/status.h"
#include "services/accounts/service_helpers.h"
#include "services/accounts/validation.h"

namespace cityhub::accounts {
absl::Status AccountsService::DoRegister(grpc::ServerContextBase* ctx,
                                         const v1::RegisterRequest* req, v1::Account* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "Register"));
  ASSIGN_OR_RETURN(auto email, NormalizeEmail("email", req->email()));
  ASSIGN_OR_RETURN(auto name, ValidateDisplayName(req->display_name()));
  ASSIGN_OR_RETURN(auto language, ValidateLanguage(req->language()));
  RETURN_IF_ERROR(CheckPasswordPolicy("password", req->password(), email.display, name));
  // Cheap check first, so that a taken address (or Redis being down) costs no Argon2id; the
  // script checks again.
  if (auto taken = deps_.accounts.IdForEmail(email.key); taken.ok()) {
    return absl::AlreadyExistsError("email: already registered");
  } else if (taken.status().code() != absl::StatusCode::kNotFound) {
    return taken.status();
  }
  ASSIGN_OR_RETURN(auto hash, deps_.hasher.Hash(req->password()));

  const auto now = deps_.clock.Now();
  StoredAccount account;
  account.id = infra::NewUlid(now);
  account.email = email.display;
  account.email_key = email.key;
  account.display_name = name;
  account.language = language;
  account.password_hash = hash;
  account.roles = {"citizen"};
  account.created_ms = account.updated_ms = infra::UnixMillis(now);

  const std::string token = infra::RandomToken(32);
  Events events(2, NewEvent(ctx));
  events[0].set_event_id(infra::NewUlid(now));
  events[0].mutable_account_registered()->set_account_id(account.id);
  events[0].mutable_account_registered()->set_language(account.language);
  events[1].set_event_id(infra::NewUlid(now));
  auto* verification = events[1].mutable_verification_requested();
  verification->set_account_id(account.id);
  verification->set_token(token);
  *verification->mutable_expires_at() =
      Millis(account.created_ms + settings_.verify_limits.ttl.count());
  RETURN_IF_ERROR(deps_.accounts.Create(account, TokenHash(token), settings_.verify_limits.ttl,
                                        account.created_ms, events));
  deps_.metrics.SignedUp();
  deps_.metrics.TokenIssued(TokenPurpose::kEmailVerification);
  Audit(account.id, "registered", caller);
  ToProto(account, response);
  return absl::OkStatus();
}

absl::Status AccountsService::DoVerifyEmail(grpc::ServerContextBase* ctx,
                                            const v1::VerifyEmailRequest* req,
                                            v1::VerifyEmailResponse* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "VerifyEmail"));
  RETURN_IF_ERROR(CheckMailToken(req->token()));
  const std::string token_hash = TokenHash(req->token());
  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  // The event names the account, so the token's account is looked up first; the script
  // checks again that the token still belongs to it.
  ASSIGN_OR_RETURN(auto id, deps_.accounts.TokenAccount(TokenKind::kVerify, token_hash, now_ms));
  Events events(1, NewEvent(ctx));
  events[0].mutable_contact_changed()->set_account_id(id);
  RETURN_IF_ERROR(deps_.accounts.ConsumeToken(
      TokenKind::kVerify, token_hash, id, now_ms,
      {{"verified", "1"}, {"updated_ms", std::to_string(now_ms)}}, events));
  Audit(id, "email_verified", caller);
  response->set_account_id(id);
  return absl::OkStatus();
}

absl::Status AccountsService::DoResendVerification(grpc::ServerContextBase* ctx,
                                                   const v1::ResendVerificationRequest*,
                                                   v1::ResendVerificationResponse*) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "ResendVerification"));
  ASSIGN_OR_RETURN(auto account, deps_.accounts.Get(caller.account_id));
  if (account.verified) {
    return absl::FailedPreconditionError("the e-mail address is already verified");
  }
  const std::string token = infra::RandomToken(32);
  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  Events events(1, NewEvent(ctx));
  auto* verification = events[0].mutable_verification_requested();
  verification->set_account_id(account.id);
  verification->set_token(token);
  *verification->mutable_expires_at() = Millis(now_ms + settings_.verify_limits.ttl.count());
  RETURN_IF_ERROR(deps_.accounts.IssueToken(account.id, TokenKind::kVerify, TokenHash(token),
                                            settings_.verify_limits, now_ms, events));
  deps_.metrics.TokenIssued(TokenPurpose::kEmailVerification);
  return absl::OkStatus();
}

}  // namespace cityhub::accounts
