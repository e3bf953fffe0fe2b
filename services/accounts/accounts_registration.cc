// AccountsService: registration and e-mail verification.
#include "services/accounts/accounts_service.h"

#include "infra/grpc/unary.h"
#include "infra/ids.h"
#include "infra/status.h"
#include "services/accounts/service_helpers.h"
#include "services/accounts/validation.h"

namespace cityhub::accounts {
namespace {

using infra::Done;

}  // namespace

grpc::Status AccountsService::DoRegister(grpc::ServerContextBase* ctx,
                                         const v1::RegisterRequest* req, v1::Account* response) {
  auto caller = Authorize(ctx, "Register");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto email = NormalizeEmail("email", req->email());
  if (!email.ok()) return Done(ctx, email.status());
  auto name = ValidateDisplayName(req->display_name());
  if (!name.ok()) return Done(ctx, name.status());
  auto language = ValidateLanguage(req->language());
  if (!language.ok()) return Done(ctx, language.status());
  if (auto s = CheckPasswordPolicy("password", req->password(), email->display, *name); !s.ok()) {
    return Done(ctx, s);
  }
  // Cheap check first, so that a taken address (or Redis being down) costs no Argon2id; the
  // script checks again.
  if (auto taken = deps_.accounts.IdForEmail(email->key); taken.ok()) {
    return Done(ctx, absl::AlreadyExistsError("email: already registered"));
  } else if (taken.status().code() != absl::StatusCode::kNotFound) {
    return Done(ctx, taken.status());
  }
  auto hash = deps_.hasher.Hash(req->password());
  if (!hash.ok()) return Done(ctx, hash.status());

  const auto now = deps_.clock.Now();
  StoredAccount account;
  account.id = infra::NewUlid(now);
  account.email = email->display;
  account.email_key = email->key;
  account.display_name = *name;
  account.language = *language;
  account.password_hash = *hash;
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
  if (auto s = deps_.accounts.Create(account, TokenHash(token), settings_.verify_limits.ttl,
                                     account.created_ms, events);
      !s.ok()) {
    return Done(ctx, s);
  }
  Audit(account.id, "registered", *caller);
  ToProto(account, response);
  return grpc::Status::OK;
}

grpc::Status AccountsService::DoVerifyEmail(grpc::ServerContextBase* ctx,
                                            const v1::VerifyEmailRequest* req,
                                            v1::VerifyEmailResponse* response) {
  auto caller = Authorize(ctx, "VerifyEmail");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (auto s = CheckMailToken(req->token()); !s.ok()) return Done(ctx, s);
  const std::string token_hash = TokenHash(req->token());
  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  // The event names the account, so the token's account is looked up first; the script
  // checks again that the token still belongs to it.
  auto id = deps_.accounts.TokenAccount(TokenKind::kVerify, token_hash, now_ms);
  if (!id.ok()) return Done(ctx, id.status());
  Events events(1, NewEvent(ctx));
  events[0].mutable_contact_changed()->set_account_id(*id);
  if (auto s = deps_.accounts.ConsumeToken(
          TokenKind::kVerify, token_hash, *id, now_ms,
          {{"verified", "1"}, {"updated_ms", std::to_string(now_ms)}}, events);
      !s.ok()) {
    return Done(ctx, s);
  }
  Audit(*id, "email_verified", *caller);
  response->set_account_id(*id);
  return grpc::Status::OK;
}

grpc::Status AccountsService::DoResendVerification(grpc::ServerContextBase* ctx,
                                                   const v1::ResendVerificationRequest*,
                                                   v1::ResendVerificationResponse*) {
  auto caller = Authorize(ctx, "ResendVerification");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto account = deps_.accounts.Get(caller->account_id);
  if (!account.ok()) return Done(ctx, account.status());
  if (account->verified) {
    return Done(ctx, absl::FailedPreconditionError("the e-mail address is already verified"));
  }
  const std::string token = infra::RandomToken(32);
  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  Events events(1, NewEvent(ctx));
  auto* verification = events[0].mutable_verification_requested();
  verification->set_account_id(account->id);
  verification->set_token(token);
  *verification->mutable_expires_at() = Millis(now_ms + settings_.verify_limits.ttl.count());
  return Done(ctx, deps_.accounts.IssueToken(account->id, TokenKind::kVerify, TokenHash(token),
                                             settings_.verify_limits, now_ms, events));
}

}  // namespace cityhub::accounts
