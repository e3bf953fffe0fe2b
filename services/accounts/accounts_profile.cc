// AccountsService: the profile, password changes and password resets.
#include "services/accounts/accounts_service.h"

#include "infra/grpc/unary.h"
#include "infra/ids.h"
#include "infra/status.h"
#include "services/accounts/service_helpers.h"
#include "services/accounts/validation.h"

namespace cityhub::accounts {
namespace {

using infra::Done;
using infra::InvalidField;

}  // namespace

grpc::Status AccountsService::DoGetMe(grpc::ServerContextBase* ctx, const v1::GetMeRequest*,
                                      v1::Account* response) {
  auto caller = Authorize(ctx, "GetMe");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto account = deps_.accounts.Get(caller->account_id);
  if (!account.ok()) return Done(ctx, account.status());
  ToProto(*account, response);
  return grpc::Status::OK;
}

grpc::Status AccountsService::DoUpdateMe(grpc::ServerContextBase* ctx,
                                         const v1::UpdateMeRequest* req, v1::Account* response) {
  auto caller = Authorize(ctx, "UpdateMe");
  if (!caller.ok()) return Done(ctx, caller.status());
  std::vector<std::pair<std::string, std::string>> fields;
  if (req->has_display_name()) {
    auto name = ValidateDisplayName(req->display_name());
    if (!name.ok()) return Done(ctx, name.status());
    fields.emplace_back("display_name", *name);
  }
  if (req->has_language()) {
    if (req->language().empty())
      return Done(ctx, InvalidField("language", "must be \"de\" or \"en\""));
    auto language = ValidateLanguage(req->language());
    if (!language.ok()) return Done(ctx, language.status());
    fields.emplace_back("language", *language);
  }
  if (req->has_phone()) {
    auto phone = ValidatePhone(req->phone());
    if (!phone.ok()) return Done(ctx, phone.status());
    fields.emplace_back("phone", *phone);
  }
  if (!fields.empty()) {
    fields.emplace_back("updated_ms", std::to_string(infra::UnixMillis(deps_.clock.Now())));
    Events events;
    if (req->has_display_name() || req->has_language()) {
      events.push_back(NewEvent(ctx));
      events[0].mutable_contact_changed()->set_account_id(caller->account_id);
    }
    if (auto s = deps_.accounts.Update(caller->account_id, fields, events); !s.ok())
      return Done(ctx, s);
  }
  auto account = deps_.accounts.Get(caller->account_id);
  if (!account.ok()) return Done(ctx, account.status());
  ToProto(*account, response);
  return grpc::Status::OK;
}

grpc::Status AccountsService::DoChangePassword(grpc::ServerContextBase* ctx,
                                               const v1::ChangePasswordRequest* req,
                                               v1::ChangePasswordResponse*) {
  auto caller = Authorize(ctx, "ChangePassword");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto account = deps_.accounts.Get(caller->account_id);
  if (!account.ok()) return Done(ctx, account.status());
  if (auto s = CheckPasswordPolicy("new_password", req->new_password(), account->email,
                                   account->display_name);
      !s.ok()) {
    return Done(ctx, s);
  }
  if (auto s = CheckPassword(*account, *caller, req->current_password(), "current_password");
      !s.ok()) {
    return Done(ctx, s);
  }
  auto hash = deps_.hasher.Hash(req->new_password());
  if (!hash.ok()) return Done(ctx, hash.status());
  const std::string now = std::to_string(infra::UnixMillis(deps_.clock.Now()));
  if (auto s = deps_.accounts.UpdateAndEndSessions(
          account->id, {{"password_hash", *hash}, {"updated_ms", now}}, caller->session_id, {});
      !s.ok()) {
    return Done(ctx, s);
  }
  Audit(account->id, "password_changed", *caller);
  return grpc::Status::OK;
}

grpc::Status AccountsService::DoRequestPasswordReset(grpc::ServerContextBase* ctx,
                                                     const v1::RequestPasswordResetRequest* req,
                                                     v1::RequestPasswordResetResponse*) {
  auto caller = Authorize(ctx, "RequestPasswordReset");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto email = NormalizeEmail("email", req->email());
  if (!email.ok()) return Done(ctx, email.status());
  auto id = deps_.accounts.IdForEmail(email->key);
  if (!id.ok()) {
    // Unknown addresses get the same answer: this route must not tell who has an account.
    return Done(ctx,
                id.status().code() == absl::StatusCode::kNotFound ? absl::OkStatus() : id.status());
  }
  const std::string token = infra::RandomToken(32);
  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  Events events(1, NewEvent(ctx));
  auto* reset = events[0].mutable_password_reset_requested();
  reset->set_account_id(*id);
  reset->set_token(token);
  *reset->mutable_expires_at() = Millis(now_ms + settings_.reset_limits.ttl.count());
  const absl::Status issued = deps_.accounts.IssueToken(*id, TokenKind::kReset, TokenHash(token),
                                                        settings_.reset_limits, now_ms, events);
  if (issued.code() == absl::StatusCode::kUnavailable) return Done(ctx, issued);
  // Too many resets or a vanished account look like success from outside.
  if (issued.ok()) Audit(*id, "password_reset_requested", *caller);
  return grpc::Status::OK;
}

grpc::Status AccountsService::DoConfirmPasswordReset(grpc::ServerContextBase* ctx,
                                                     const v1::ConfirmPasswordResetRequest* req,
                                                     v1::ConfirmPasswordResetResponse*) {
  auto caller = Authorize(ctx, "ConfirmPasswordReset");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (auto s = CheckMailToken(req->token()); !s.ok()) return Done(ctx, s);
  const std::string token_hash = TokenHash(req->token());
  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  // The password is checked before the token is spent, so that a rejected password does not
  // cost the resident their reset mail. Generic rules first, then those needing the account.
  if (auto s = CheckPasswordPolicy("new_password", req->new_password(), "", ""); !s.ok()) {
    return Done(ctx, s);
  }
  auto id = deps_.accounts.TokenAccount(TokenKind::kReset, token_hash, now_ms);
  if (!id.ok()) return Done(ctx, id.status());
  auto account = deps_.accounts.Get(*id);
  if (!account.ok()) return Done(ctx, account.status());
  if (auto s = CheckPasswordPolicy("new_password", req->new_password(), account->email,
                                   account->display_name);
      !s.ok()) {
    return Done(ctx, s);
  }
  auto hash = deps_.hasher.Hash(req->new_password());
  if (!hash.ok()) return Done(ctx, hash.status());
  // Following the mail proves control of the address, so the e-mail counts as verified.
  Events events;
  if (!account->verified) {
    events.push_back(NewEvent(ctx));
    events.back().mutable_contact_changed()->set_account_id(account->id);
  }
  // Password, verification, the end of every session and the event: one transaction, which
  // also checks that the token is still unspent.
  if (auto s = deps_.accounts.ConsumeToken(
          TokenKind::kReset, token_hash, account->id, now_ms,
          {{"password_hash", *hash}, {"verified", "1"}, {"updated_ms", std::to_string(now_ms)}},
          events);
      !s.ok()) {
    return Done(ctx, s);
  }
  Audit(account->id, "password_reset", *caller);
  return grpc::Status::OK;
}

}  // namespace cityhub::accounts
