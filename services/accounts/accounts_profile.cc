// AccountsService: the profile, password changes and password resets.
#include "services/accounts/accounts_service.h"

#include "infra/grpc/unary.h"
#include "infra/ids.h"
#include "infra/status.h"
#include "services/accounts/service_helpers.h"
#include "services/accounts/validation.h"

namespace cityhub::accounts {
namespace {

using infra::InvalidField;

}  // namespace

absl::Status AccountsService::DoGetMe(grpc::ServerContextBase* ctx, const v1::GetMeRequest*,
                                      v1::Account* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "GetMe"));
  ASSIGN_OR_RETURN(auto account, deps_.accounts.Get(caller.account_id));
  ToProto(account, response);
  return absl::OkStatus();
}

absl::Status AccountsService::DoUpdateMe(grpc::ServerContextBase* ctx,
                                         const v1::UpdateMeRequest* req, v1::Account* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "UpdateMe"));
  std::vector<std::pair<std::string, std::string>> fields;
  if (req->has_display_name()) {
    ASSIGN_OR_RETURN(auto name, ValidateDisplayName(req->display_name()));
    fields.emplace_back("display_name", name);
  }
  if (req->has_language()) {
    if (req->language().empty()) return InvalidField("language", "must be \"de\" or \"en\"");
    ASSIGN_OR_RETURN(auto language, ValidateLanguage(req->language()));
    fields.emplace_back("language", language);
  }
  if (req->has_phone()) {
    ASSIGN_OR_RETURN(auto phone, ValidatePhone(req->phone()));
    fields.emplace_back("phone", phone);
  }
  if (!fields.empty()) {
    fields.emplace_back("updated_ms", std::to_string(infra::UnixMillis(deps_.clock.Now())));
    Events events;
    if (req->has_display_name() || req->has_language()) {
      events.push_back(NewEvent(ctx));
      events[0].mutable_contact_changed()->set_account_id(caller.account_id);
    }
    RETURN_IF_ERROR(deps_.accounts.Update(caller.account_id, fields, events));
  }
  ASSIGN_OR_RETURN(auto account, deps_.accounts.Get(caller.account_id));
  ToProto(account, response);
  return absl::OkStatus();
}

absl::Status AccountsService::DoChangePassword(grpc::ServerContextBase* ctx,
                                               const v1::ChangePasswordRequest* req,
                                               v1::ChangePasswordResponse*) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "ChangePassword"));
  ASSIGN_OR_RETURN(auto account, deps_.accounts.Get(caller.account_id));
  RETURN_IF_ERROR(CheckPasswordPolicy("new_password", req->new_password(), account.email,
                                      account.display_name));
  RETURN_IF_ERROR(CheckPassword(account, caller, req->current_password(), "current_password"));
  ASSIGN_OR_RETURN(auto hash, deps_.hasher.Hash(req->new_password()));
  const std::string now = std::to_string(infra::UnixMillis(deps_.clock.Now()));
  RETURN_IF_ERROR(deps_.accounts.UpdateAndEndSessions(
      account.id, {{"password_hash", hash}, {"updated_ms", now}}, caller.session_id, {}));
  Audit(account.id, "password_changed", caller);
  return absl::OkStatus();
}

absl::Status AccountsService::DoRequestPasswordReset(grpc::ServerContextBase* ctx,
                                                     const v1::RequestPasswordResetRequest* req,
                                                     v1::RequestPasswordResetResponse*) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "RequestPasswordReset"));
  ASSIGN_OR_RETURN(auto email, NormalizeEmail("email", req->email()));
  auto id = deps_.accounts.IdForEmail(email.key);
  if (!id.ok()) {
    // Unknown addresses get the same answer: this route must not tell who has an account.
    return id.status().code() == absl::StatusCode::kNotFound ? absl::OkStatus() : id.status();
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
  if (issued.code() == absl::StatusCode::kUnavailable) return issued;
  // Too many resets or a vanished account look like success from outside.
  if (issued.ok()) {
    deps_.metrics.TokenIssued(TokenPurpose::kPasswordReset);
    Audit(*id, "password_reset_requested", caller);
  }
  return absl::OkStatus();
}

absl::Status AccountsService::DoConfirmPasswordReset(grpc::ServerContextBase* ctx,
                                                     const v1::ConfirmPasswordResetRequest* req,
                                                     v1::ConfirmPasswordResetResponse*) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "ConfirmPasswordReset"));
  RETURN_IF_ERROR(CheckMailToken(req->token()));
  const std::string token_hash = TokenHash(req->token());
  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  // The password is checked before the token is spent, so that a rejected password does not
  // cost the resident their reset mail. Generic rules first, then those needing the account.
  RETURN_IF_ERROR(CheckPasswordPolicy("new_password", req->new_password(), "", ""));
  ASSIGN_OR_RETURN(auto id, deps_.accounts.TokenAccount(TokenKind::kReset, token_hash, now_ms));
  ASSIGN_OR_RETURN(auto account, deps_.accounts.Get(id));
  RETURN_IF_ERROR(CheckPasswordPolicy("new_password", req->new_password(), account.email,
                                      account.display_name));
  ASSIGN_OR_RETURN(auto hash, deps_.hasher.Hash(req->new_password()));
  // Following the mail proves control of the address, so the e-mail counts as verified.
  Events events;
  if (!account.verified) {
    events.push_back(NewEvent(ctx));
    events.back().mutable_contact_changed()->set_account_id(account.id);
  }
  // Password, verification, the end of every session and the event: one transaction, which
  // also checks that the token is still unspent.
  RETURN_IF_ERROR(deps_.accounts.ConsumeToken(
      TokenKind::kReset, token_hash, account.id, now_ms,
      {{"password_hash", hash}, {"verified", "1"}, {"updated_ms", std::to_string(now_ms)}},
      events));
  Audit(account.id, "password_reset", caller);
  return absl::OkStatus();
}

}  // namespace cityhub::accounts
