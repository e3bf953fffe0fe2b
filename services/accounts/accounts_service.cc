#include "services/accounts/accounts_service.h"

#include <algorithm>
#include <set>

#include <google/protobuf/util/time_util.h>
#include <nlohmann/json.hpp>

#include "infra/events/events.h"
#include "infra/grpc/context.h"
#include "infra/grpc/unary.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"
#include "services/accounts/validation.h"

namespace cityhub::accounts {
namespace {

namespace v1 = cityhub::accounts::v1;
using infra::Done;
using infra::InvalidField;
using infra::StrCat;
using infra::auth::Caller;

constexpr char kRefreshSeparator = '.';
constexpr size_t kFamilyLength = 26;  // a ULID
constexpr size_t kSecretLength = 43;  // 32 random bytes, base64url

google::protobuf::Timestamp Millis(int64_t ms) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(ms);
}

std::string TokenHash(std::string_view token) { return infra::HexEncode(infra::Sha256(token)); }

void ToProto(const StoredAccount& a, v1::Account* out) {
  out->set_account_id(a.id);
  out->set_email(a.email);
  out->set_email_verified(a.verified);
  out->set_display_name(a.display_name);
  out->set_language(a.language);
  out->set_phone(a.phone);
  for (const auto& r : a.roles) out->add_roles(r);
  for (const auto& d : a.departments) out->add_departments(d);
  *out->mutable_created_at() = Millis(a.created_ms);
  *out->mutable_updated_at() = Millis(a.updated_ms);
}

// "ipv4:192.0.2.7:5555", "ipv6:[2001:db8::1]:5555" or a bare address → the IP alone.
std::string ClientIp(std::string_view address) {
  if (address.starts_with("ipv4:")) {
    address.remove_prefix(5);
    return std::string(address.substr(0, address.rfind(':')));
  }
  if (address.starts_with("ipv6:")) {
    address.remove_prefix(5);
    if (address.starts_with("[")) return std::string(address.substr(1, address.find(']') - 1));
  }
  return std::string(address);
}

// The address with its host part cut off (/24, /48): enough to recognise a network in the
// audit trail without storing who exactly.
std::string TruncatedAddress(const std::string& ip) {
  if (ip.find(':') == std::string::npos) {
    const size_t last = ip.rfind('.');
    return last == std::string::npos ? std::string("unknown") : ip.substr(0, last) + ".0/24";
  }
  size_t pos = 0;
  for (int groups = 0; groups < 3 && pos != std::string::npos; ++groups) {
    pos = ip.find(':', pos == 0 ? 0 : pos + 1);
  }
  return pos == std::string::npos ? ip + "/48" : ip.substr(0, pos) + "::/48";
}

struct RefreshToken {
  std::string family;
  std::string secret;
};

absl::StatusOr<RefreshToken> ParseRefreshToken(std::string_view token) {
  if (token.size() != kFamilyLength + 1 + kSecretLength ||
      token[kFamilyLength] != kRefreshSeparator || !infra::IsUlid(token.substr(0, kFamilyLength)) ||
      !infra::Base64UrlDecode(token.substr(kFamilyLength + 1))) {
    return absl::UnauthenticatedError("refresh token unknown or expired");
  }
  return RefreshToken{std::string(token.substr(0, kFamilyLength)),
                      std::string(token.substr(kFamilyLength + 1))};
}

// Single-use tokens from mails: base64url of 32 random bytes.
absl::Status CheckMailToken(std::string_view token) {
  if (token.empty()) return InvalidField("token", "must not be empty");
  if (token.size() != kSecretLength || !infra::Base64UrlDecode(token)) {
    return absl::NotFoundError("token: unknown, used or expired");
  }
  return absl::OkStatus();
}

// The limits of CheckPasswordPolicy, for passwords that are only compared: no stored password
// can be longer than 128 characters.
absl::Status CheckPasswordLength(std::string_view field, std::string_view password) {
  constexpr size_t kMaxCharacters = 128;
  constexpr std::string_view kTooLong = "longer than 128 characters";
  if (password.empty()) return InvalidField(field, "must not be empty");
  // More than 4 bytes a character cannot be within the limit: spares the scan.
  if (password.size() > 4 * kMaxCharacters) return InvalidField(field, kTooLong);
  if (!infra::IsValidUtf8(password)) return InvalidField(field, "not valid UTF-8");
  if (infra::Utf8Length(password) > kMaxCharacters) return InvalidField(field, kTooLong);
  return absl::OkStatus();
}

absl::Status Throttled(std::string_view what, int64_t wait_ms) {
  return absl::ResourceExhaustedError(
      StrCat(what, "; try again in ", (wait_ms + 999) / 1000, " s"));
}

// Takes back an attempt that must not count. Failing only leaves it counted, which errs on the
// safe side: logged, not returned.
void Release(ThrottleStore& throttle, const ThrottleReservation& attempt) {
  if (auto s = throttle.Release(attempt); !s.ok()) {
    infra::log::Warn("throttle_release_failed", {{"error", s.message()}});
  }
}

}  // namespace

AccountsService::AccountsService(AccountsDeps deps, AccountsSettings settings)
    : deps_(deps), settings_(std::move(settings)) {}

absl::StatusOr<Caller> AccountsService::Authorize(grpc::ServerContext* ctx,
                                                  std::string_view method) {
  return deps_.authorizer.Authorize(*ctx, method);
}

cityhub::events::v1::Event AccountsService::NewEvent(grpc::ServerContext* ctx) const {
  cityhub::events::v1::Event event;
  infra::events::Stamp(event, deps_.clock, ctx == nullptr ? "" : infra::RequestId(*ctx));
  return event;
}

void AccountsService::Audit(std::string_view account_id, std::string_view kind,
                            const Caller& caller, std::string_view detail) {
  nlohmann::json entry = {{"at", infra::UnixMillis(deps_.clock.Now())},
                          {"kind", kind},
                          {"client", TruncatedAddress(ClientIp(caller.client_address))}};
  if (!detail.empty()) entry["detail"] = detail;
  // The audit trail is best effort: a failure here must not undo what already happened.
  if (auto status = deps_.accounts.AddAudit(account_id, entry.dump()); !status.ok()) {
    infra::log::Warn("audit_failed", {{"error", status.message()}});
  }
}

v1::TokenPair AccountsService::MakePair(const StoredAccount& account, const std::string& family,
                                        const std::string& refresh_secret) const {
  infra::auth::AccessClaims claims;
  claims.subject = account.id;
  claims.roles = account.roles;
  claims.departments = account.departments;
  claims.email_verified = account.verified;
  claims.session_id = family;
  v1::TokenPair pair;
  pair.set_access_token(deps_.signer.Sign(std::move(claims)));
  pair.set_refresh_token(StrCat(family, kRefreshSeparator, refresh_secret));
  pair.set_token_type("Bearer");
  pair.set_expires_in(deps_.signer.settings().access_ttl.count());
  pair.set_refresh_expires_in(
      std::chrono::duration_cast<std::chrono::seconds>(settings_.refresh_idle_ttl).count());
  return pair;
}

absl::StatusOr<v1::TokenPair> AccountsService::StartSession(const StoredAccount& account) {
  const auto now = deps_.clock.Now();
  const std::string family = infra::NewUlid(now);
  const std::string secret = infra::RandomToken(32);
  const int64_t now_ms = infra::UnixMillis(now);
  const SessionTimes times{now_ms, now_ms + settings_.refresh_idle_ttl.count(),
                           now_ms + settings_.refresh_absolute_ttl.count()};
  if (auto s = deps_.sessions.Create(account.id, family, TokenHash(secret), times); !s.ok()) {
    return s;
  }
  return MakePair(account, family, secret);
}

absl::Status AccountsService::CheckPassword(const StoredAccount& account, const Caller& caller,
                                            std::string_view password, std::string_view field) {
  if (auto s = CheckPasswordLength(field, password); !s.ok()) return s;
  auto attempt = deps_.throttle.Reserve(TokenHash(account.email_key),
                                        TokenHash(ClientIp(caller.client_address)), account.id,
                                        infra::UnixMillis(deps_.clock.Now()));
  if (!attempt.ok()) return attempt.status();
  if (!attempt->admitted()) return Throttled("too many wrong passwords", attempt->wait_ms);
  auto ok = deps_.hasher.Verify(account.password_hash, password);
  if (!ok.ok() || *ok) {
    // Right, or not checked at all: either way this attempt is no failure.
    Release(deps_.throttle, *attempt);
    return ok.status();
  }
  // Someone with the resident's session guessing the password (to change it or to delete the
  // account) is a security event like a failed sign-in.
  Audit(account.id, "password_confirmation_failed", caller);
  return InvalidField(field, "wrong password");
}

// ---------------------------------------------------------------------------------------------
// Registration and e-mail verification

grpc::Status AccountsService::Register(grpc::ServerContext* ctx, const v1::RegisterRequest* req,
                                       v1::Account* response) {
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

grpc::Status AccountsService::VerifyEmail(grpc::ServerContext* ctx,
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

grpc::Status AccountsService::ResendVerification(grpc::ServerContext* ctx,
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

// ---------------------------------------------------------------------------------------------
// Sessions

grpc::Status AccountsService::SignIn(grpc::ServerContext* ctx, const v1::SignInRequest* req,
                                     v1::TokenPair* response) {
  auto caller = Authorize(ctx, "SignIn");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto email = NormalizeEmail("email", req->email());
  if (!email.ok()) return Done(ctx, email.status());
  if (auto s = CheckPasswordLength("password", req->password()); !s.ok()) return Done(ctx, s);

  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  const std::string email_hash = TokenHash(email->key);
  const std::string address_hash = TokenHash(ClientIp(caller->client_address));
  auto id = deps_.accounts.IdForEmail(email->key);
  if (!id.ok() && id.status().code() != absl::StatusCode::kNotFound) return Done(ctx, id.status());
  const std::string account_id = id.ok() ? *id : "";
  // The attempt counts as a failure from here on, so parallel guesses see each other.
  auto attempt = deps_.throttle.Reserve(email_hash, address_hash, account_id, now_ms);
  if (!attempt.ok()) return Done(ctx, attempt.status());
  if (!attempt->admitted()) {
    ctx->AddTrailingMetadata("retry-after", std::to_string((attempt->wait_ms + 999) / 1000));
    return Done(ctx, Throttled("too many failed sign-ins", attempt->wait_ms));
  }

  // Unknown e-mails cost one Argon2id verification too, so that the answer time does not tell
  // which addresses have accounts.
  absl::StatusOr<StoredAccount> account = absl::NotFoundError("");
  bool matches = false;
  bool needs_rehash = false;
  if (!account_id.empty()) account = deps_.accounts.Get(account_id);
  if (!account.ok() && account.status().code() != absl::StatusCode::kNotFound) {
    Release(deps_.throttle, *attempt);  // not checked: no failure
    return Done(ctx, account.status());
  }
  if (account.ok()) {
    auto ok = deps_.hasher.Verify(account->password_hash, req->password(), &needs_rehash);
    if (!ok.ok()) {
      Release(deps_.throttle, *attempt);
      return Done(ctx, ok.status());
    }
    matches = *ok;
  } else {
    deps_.hasher.VerifyAgainstDummy(req->password());
  }
  if (!matches) {
    if (account.ok()) Audit(account->id, "sign_in_failed", *caller);
    return Done(ctx, absl::UnauthenticatedError("e-mail address or password is wrong"));
  }
  if (auto s = deps_.throttle.RecordSuccess(*attempt, account->id, now_ms); !s.ok()) {
    // The session is still granted; only the counters stay as they were.
    infra::log::Warn("throttle_success_failed", {{"error", s.message()}});
  }
  if (needs_rehash) {
    // Stronger parameters were configured since this hash was made: upgrade it now that the
    // password is at hand. A failure only postpones the upgrade.
    if (auto hash = deps_.hasher.Hash(req->password()); hash.ok()) {
      (void)deps_.accounts.Update(account->id, {{"password_hash", *hash}}, {});
    }
  }
  auto pair = StartSession(*account);
  if (!pair.ok()) return Done(ctx, pair.status());
  Audit(account->id, "sign_in", *caller);
  *response = std::move(*pair);
  return grpc::Status::OK;
}

grpc::Status AccountsService::Refresh(grpc::ServerContext* ctx, const v1::RefreshRequest* req,
                                      v1::TokenPair* response) {
  auto caller = Authorize(ctx, "Refresh");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (req->refresh_token().empty())
    return Done(ctx, InvalidField("refresh_token", "must not be empty"));
  auto token = ParseRefreshToken(req->refresh_token());
  if (!token.ok()) return Done(ctx, token.status());
  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  const std::string next = infra::RandomToken(32);
  // The account is read before the token is spent: should that read fail, the client's retry
  // with the same token must not look like reuse (which would revoke the whole family).
  auto owner = deps_.sessions.FamilyAccount(token->family);
  if (!owner.ok()) {
    return Done(ctx, owner.status().code() == absl::StatusCode::kNotFound
                         ? absl::UnauthenticatedError("refresh token unknown or expired")
                         : owner.status());
  }
  auto account = deps_.accounts.Get(*owner);
  if (!account.ok()) {
    return Done(ctx, account.status().code() == absl::StatusCode::kNotFound
                         ? absl::UnauthenticatedError("the account no longer exists")
                         : account.status());
  }
  auto account_id = deps_.sessions.Rotate(token->family, TokenHash(token->secret), TokenHash(next),
                                          now_ms, now_ms + settings_.refresh_idle_ttl.count());
  if (!account_id.ok()) {
    if (infra::StdView(account_id.status().message()).find("already used") !=
        std::string_view::npos) {
      infra::log::Warn("refresh_token_reuse", {{"request_id", infra::RequestId(*ctx)}});
    }
    return Done(ctx, account_id.status());
  }
  if (*account_id != account->id)
    return Done(ctx, absl::UnauthenticatedError("refresh token unknown or expired"));
  *response = MakePair(*account, token->family, next);
  return grpc::Status::OK;
}

grpc::Status AccountsService::SignOut(grpc::ServerContext* ctx, const v1::SignOutRequest* req,
                                      v1::SignOutResponse*) {
  auto caller = Authorize(ctx, "SignOut");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (req->refresh_token().empty())
    return Done(ctx, InvalidField("refresh_token", "must not be empty"));
  auto token = ParseRefreshToken(req->refresh_token());
  if (!token.ok()) return Done(ctx, InvalidField("refresh_token", "not a refresh token"));
  if (auto s = deps_.sessions.Revoke(caller->account_id, token->family); !s.ok()) {
    return Done(ctx, s);
  }
  Audit(caller->account_id, "sign_out", *caller);
  return grpc::Status::OK;
}

grpc::Status AccountsService::SignOutEverywhere(grpc::ServerContext* ctx,
                                                const v1::SignOutEverywhereRequest*,
                                                v1::SignOutResponse*) {
  auto caller = Authorize(ctx, "SignOutEverywhere");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (auto s = deps_.sessions.RevokeAll(caller->account_id, ""); !s.ok()) return Done(ctx, s);
  Audit(caller->account_id, "sign_out_everywhere", *caller);
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------------------------
// Profile and passwords

grpc::Status AccountsService::GetMe(grpc::ServerContext* ctx, const v1::GetMeRequest*,
                                    v1::Account* response) {
  auto caller = Authorize(ctx, "GetMe");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto account = deps_.accounts.Get(caller->account_id);
  if (!account.ok()) return Done(ctx, account.status());
  ToProto(*account, response);
  return grpc::Status::OK;
}

grpc::Status AccountsService::UpdateMe(grpc::ServerContext* ctx, const v1::UpdateMeRequest* req,
                                       v1::Account* response) {
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

grpc::Status AccountsService::ChangePassword(grpc::ServerContext* ctx,
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

grpc::Status AccountsService::RequestPasswordReset(grpc::ServerContext* ctx,
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

grpc::Status AccountsService::ConfirmPasswordReset(grpc::ServerContext* ctx,
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

// ---------------------------------------------------------------------------------------------
// Privacy

grpc::Status AccountsService::ExportMyData(grpc::ServerContext* ctx, const v1::ExportMyDataRequest*,
                                           v1::PersonalDataExport* response) {
  auto caller = Authorize(ctx, "ExportMyData");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto account = deps_.accounts.Get(caller->account_id);
  if (!account.ok()) return Done(ctx, account.status());
  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  *response->mutable_exported_at() = Millis(now_ms);
  auto* mine = response->mutable_accounts();
  ToProto(*account, mine->mutable_account());
  auto audit = deps_.accounts.Audit(account->id);
  if (!audit.ok()) return Done(ctx, audit.status());
  for (const std::string& line : *audit) {
    try {
      const nlohmann::json entry = nlohmann::json::parse(line);
      auto* out = mine->add_audit();
      *out->mutable_at() = Millis(entry.value("at", int64_t{0}));
      out->set_kind(entry.value("kind", ""));
      out->set_client(entry.value("client", ""));
      out->set_detail(entry.value("detail", ""));
    } catch (const nlohmann::json::exception&) {
      // Entries are written by this service; a damaged one is skipped, not fatal.
    }
  }
  auto sessions = deps_.sessions.List(account->id, now_ms);
  if (!sessions.ok()) return Done(ctx, sessions.status());
  for (const SessionInfo& s : *sessions) {
    auto* out = mine->add_sessions();
    out->set_family_id(s.family_id);
    *out->mutable_created_at() = Millis(s.created_ms);
    *out->mutable_last_used_at() = Millis(s.last_used_ms);
  }
  auto known = deps_.throttle.KnownAddresses(account->id);
  if (!known.ok()) return Done(ctx, known.status());
  for (const KnownAddress& k : *known) {
    auto* out = mine->add_known_addresses();
    out->set_address_hash(k.address_hash);
    *out->mutable_last_sign_in_at() = Millis(k.last_success_ms);
  }
  // The other services' parts: a partial export would mislead, so any failure fails it all.
  if (deps_.requests != nullptr) {
    auto call = infra::OutboundContext(ctx, settings_.export_timeout);
    call->AddMetadata(infra::auth::kInternalTokenKey, settings_.internal_token);
    cityhub::requests::v1::ExportUserDataRequest request;
    request.set_account_id(account->id);
    const grpc::Status s =
        deps_.requests->ExportUserData(call.get(), request, response->mutable_requests());
    if (!s.ok()) {
      return Done(ctx, absl::UnavailableError(StrCat("requests service: ", s.error_message())));
    }
  }
  if (deps_.notifications != nullptr) {
    auto call = infra::OutboundContext(ctx, settings_.export_timeout);
    call->AddMetadata(infra::auth::kInternalTokenKey, settings_.internal_token);
    cityhub::notifications::v1::ExportUserDataRequest request;
    request.set_account_id(account->id);
    const grpc::Status s =
        deps_.notifications->ExportUserData(call.get(), request, response->mutable_notifications());
    if (!s.ok()) {
      return Done(ctx,
                  absl::UnavailableError(StrCat("notifications service: ", s.error_message())));
    }
  }
  return grpc::Status::OK;
}

grpc::Status AccountsService::DeleteMe(grpc::ServerContext* ctx, const v1::DeleteMeRequest* req,
                                       v1::DeleteMeResponse*) {
  auto caller = Authorize(ctx, "DeleteMe");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto account = deps_.accounts.Get(caller->account_id);
  if (!account.ok()) return Done(ctx, account.status());
  if (auto s = CheckPassword(*account, *caller, req->password(), "password"); !s.ok()) {
    return Done(ctx, s);
  }
  Events events(1, NewEvent(ctx));
  events[0].mutable_account_deleted()->set_account_id(account->id);
  if (auto s = deps_.accounts.Delete(*account, events); !s.ok()) return Done(ctx, s);
  infra::log::Info("account_deleted", {{"request_id", infra::RequestId(*ctx)}});
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------------------------
// Keys, roles, partner keys

grpc::Status AccountsService::GetJwks(grpc::ServerContext* ctx, const v1::GetJwksRequest*,
                                      v1::Jwks* response) {
  auto caller = Authorize(ctx, "GetJwks");
  if (!caller.ok()) return Done(ctx, caller.status());
  *response = deps_.jwks;
  return grpc::Status::OK;
}

grpc::Status AccountsService::GetAccount(grpc::ServerContext* ctx, const v1::GetAccountRequest* req,
                                         v1::Account* response) {
  auto caller = Authorize(ctx, "GetAccount");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (!infra::IsUlid(req->account_id()))
    return Done(ctx, InvalidField("account_id", "not an account id"));
  auto account = deps_.accounts.Get(req->account_id());
  if (!account.ok()) return Done(ctx, account.status());
  ToProto(*account, response);
  return grpc::Status::OK;
}

grpc::Status AccountsService::ListAccounts(grpc::ServerContext* ctx,
                                           const v1::ListAccountsRequest* req,
                                           v1::ListAccountsResponse* response) {
  auto caller = Authorize(ctx, "ListAccounts");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto email = NormalizeEmail("email", req->email());
  if (!email.ok()) return Done(ctx, email.status());
  auto id = deps_.accounts.IdForEmail(email->key);
  if (!id.ok() && id.status().code() == absl::StatusCode::kNotFound) return grpc::Status::OK;
  if (!id.ok()) return Done(ctx, id.status());
  auto account = deps_.accounts.Get(*id);
  if (!account.ok() && account.status().code() == absl::StatusCode::kNotFound)
    return grpc::Status::OK;
  if (!account.ok()) return Done(ctx, account.status());
  ToProto(*account, response->add_accounts());
  return grpc::Status::OK;
}

grpc::Status AccountsService::SetRoles(grpc::ServerContext* ctx, const v1::SetRolesRequest* req,
                                       v1::Account* response) {
  auto caller = Authorize(ctx, "SetRoles");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (!infra::IsUlid(req->account_id()))
    return Done(ctx, InvalidField("account_id", "not an account id"));
  std::set<std::string> roles = {"citizen"};
  for (const std::string& r : req->roles()) {
    if (r != "citizen" && r != "operator" && r != "admin") {
      return Done(ctx, InvalidField("roles", "each must be citizen, operator or admin"));
    }
    roles.insert(r);
  }
  if (req->departments_size() > 32) return Done(ctx, InvalidField("departments", "at most 32"));
  std::set<std::string> departments;
  for (const std::string& d : req->departments()) {
    if (!IsValidDepartment(d)) {
      return Done(ctx,
                  InvalidField("departments", "each must be 1..64 characters of a-z, 0-9, _ or -"));
    }
    departments.insert(d);
  }
  if (roles.count("operator") > 0 && roles.count("admin") == 0 && departments.empty()) {
    return Done(ctx, InvalidField("departments", "an operator needs at least one department"));
  }
  if (req->account_id() == caller->account_id && roles.count("admin") == 0) {
    return Done(ctx, absl::FailedPreconditionError("admins cannot take their own admin role"));
  }
  const std::vector<std::string> role_list(roles.begin(), roles.end());
  const std::vector<std::string> department_list(departments.begin(), departments.end());
  Events events(1, NewEvent(ctx));
  auto* changed = events[0].mutable_roles_changed();
  changed->set_account_id(req->account_id());
  for (const auto& r : role_list) changed->add_roles(r);
  for (const auto& d : department_list) changed->add_departments(d);
  if (auto s = deps_.accounts.Update(
          req->account_id(),
          {{"roles", JoinList(role_list)},
           {"departments", JoinList(department_list)},
           {"updated_ms", std::to_string(infra::UnixMillis(deps_.clock.Now()))}},
          events);
      !s.ok()) {
    return Done(ctx, s);
  }
  Audit(req->account_id(), "roles_changed", *caller,
        StrCat("roles=", JoinList(role_list), " departments=", JoinList(department_list),
               " by=", caller->account_id));
  auto account = deps_.accounts.Get(req->account_id());
  if (!account.ok()) return Done(ctx, account.status());
  ToProto(*account, response);
  return grpc::Status::OK;
}

grpc::Status AccountsService::CreateApiKey(grpc::ServerContext* ctx,
                                           const v1::CreateApiKeyRequest* req,
                                           v1::CreatedApiKey* response) {
  auto caller = Authorize(ctx, "CreateApiKey");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (auto problem = infra::CheckText(req->name(), 1, 100, false)) {
    return Done(ctx, InvalidField("name", *problem));
  }
  const auto now = deps_.clock.Now();
  const StoredApiKey key{infra::NewUlid(now), req->name(), infra::UnixMillis(now)};
  const std::string secret = StrCat("ck_", infra::RandomToken(32));
  if (auto s = deps_.api_keys.Create(key, TokenHash(secret)); !s.ok()) return Done(ctx, s);
  response->set_api_key_id(key.id);
  response->set_name(key.name);
  response->set_api_key(secret);
  *response->mutable_created_at() = Millis(key.created_ms);
  return grpc::Status::OK;
}

grpc::Status AccountsService::ListApiKeys(grpc::ServerContext* ctx, const v1::ListApiKeysRequest*,
                                          v1::ListApiKeysResponse* response) {
  auto caller = Authorize(ctx, "ListApiKeys");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto keys = deps_.api_keys.List();
  if (!keys.ok()) return Done(ctx, keys.status());
  for (const StoredApiKey& k : *keys) {
    auto* out = response->add_api_keys();
    out->set_api_key_id(k.id);
    out->set_name(k.name);
    *out->mutable_created_at() = Millis(k.created_ms);
  }
  return grpc::Status::OK;
}

grpc::Status AccountsService::DeleteApiKey(grpc::ServerContext* ctx,
                                           const v1::DeleteApiKeyRequest* req,
                                           v1::DeleteApiKeyResponse*) {
  auto caller = Authorize(ctx, "DeleteApiKey");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (!infra::IsUlid(req->api_key_id()))
    return Done(ctx, InvalidField("api_key_id", "not an api key id"));
  return Done(ctx, deps_.api_keys.Delete(req->api_key_id()));
}

grpc::Status AccountsService::GetContact(grpc::ServerContext* ctx, const v1::GetContactRequest* req,
                                         v1::Contact* response) {
  auto caller = Authorize(ctx, "GetContact");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (!infra::IsUlid(req->account_id()))
    return Done(ctx, InvalidField("account_id", "not an account id"));
  auto account = deps_.accounts.Get(req->account_id());
  if (!account.ok()) return Done(ctx, account.status());
  response->set_account_id(account->id);
  response->set_email(account->email);
  response->set_email_verified(account->verified);
  response->set_display_name(account->display_name);
  response->set_language(account->language);
  for (const auto& r : account->roles) response->add_roles(r);
  for (const auto& d : account->departments) response->add_departments(d);
  return grpc::Status::OK;
}

grpc::Status AccountsService::CheckApiKey(grpc::ServerContext* ctx,
                                          const v1::CheckApiKeyRequest* req,
                                          v1::CheckApiKeyResponse* response) {
  auto caller = Authorize(ctx, "CheckApiKey");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (req->api_key().empty() || req->api_key().size() > 128) {
    return Done(ctx, absl::PermissionDeniedError("api_key: missing or unknown"));
  }
  auto key = deps_.api_keys.FindByHash(TokenHash(req->api_key()));
  if (!key.ok()) {
    return Done(ctx, key.status().code() == absl::StatusCode::kNotFound
                         ? absl::PermissionDeniedError("api_key: missing or unknown")
                         : key.status());
  }
  response->set_api_key_id(key->id);
  response->set_name(key->name);
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------------------------

absl::Status AccountsService::EnsureAdmin(const std::string& email, const std::string& password) {
  auto normalized = NormalizeEmail("CITYHUB_BOOTSTRAP_ADMIN_EMAIL", email);
  if (!normalized.ok()) return normalized.status();
  // An account already holds the address: fine if it is an admin (an earlier start, or a
  // twin instance). Anyone else is not promoted: whoever registered it chose its password.
  const auto check_existing = [&]() -> absl::Status {
    auto id = deps_.accounts.IdForEmail(normalized->key);
    if (!id.ok()) return id.status();
    auto account = deps_.accounts.Get(*id);
    if (!account.ok()) return account.status();
    if (std::find(account->roles.begin(), account->roles.end(), "admin") != account->roles.end()) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        "CITYHUB_BOOTSTRAP_ADMIN_EMAIL: the address belongs to an account that is not an admin "
        "and is not promoted; configure an address of your own, or let an admin grant the role");
  };
  auto existing = deps_.accounts.IdForEmail(normalized->key);
  if (existing.ok()) return check_existing();
  if (existing.status().code() != absl::StatusCode::kNotFound) return existing.status();
  if (auto s = CheckPasswordPolicy("CITYHUB_BOOTSTRAP_ADMIN_PASSWORD_FILE", password,
                                   normalized->display, "");
      !s.ok()) {
    return s;
  }
  auto hash = deps_.hasher.Hash(password);
  if (!hash.ok()) return hash.status();
  const auto now = deps_.clock.Now();
  StoredAccount account;
  account.id = infra::NewUlid(now);
  account.email = normalized->display;
  account.email_key = normalized->key;
  account.display_name = "Administrator";
  account.password_hash = *hash;
  account.roles = {"admin", "citizen"};
  account.verified = true;
  account.created_ms = account.updated_ms = infra::UnixMillis(now);
  Events events(1, NewEvent(nullptr));
  events[0].mutable_account_registered()->set_account_id(account.id);
  events[0].mutable_account_registered()->set_language(account.language);
  // The unused verification token of an already verified account simply expires.
  auto status = deps_.accounts.Create(account, TokenHash(infra::RandomToken(32)),
                                      std::chrono::milliseconds(1000), account.created_ms, events);
  // Someone took the address meanwhile: a twin instance, or a registration.
  if (status.code() == absl::StatusCode::kAlreadyExists) return check_existing();
  if (status.ok()) infra::log::Info("bootstrap_admin_created", {{"account_id", account.id}});
  return status;
}

}  // namespace cityhub::accounts
