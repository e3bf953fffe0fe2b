// AccountsService: sign-in, refresh tokens and sessions.
#include "services/accounts/accounts_service.h"

#include "infra/grpc/context.h"
#include "infra/grpc/unary.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/accounts/service_helpers.h"
#include "services/accounts/validation.h"

namespace cityhub::accounts {
namespace {

using infra::InvalidField;
using infra::StrCat;

constexpr char kRefreshSeparator = '.';
constexpr size_t kFamilyLength = 26;  // a ULID

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

}  // namespace

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
  RETURN_IF_ERROR(deps_.sessions.Create(account.id, family, TokenHash(secret), times));
  return MakePair(account, family, secret);
}

absl::Status AccountsService::DoSignIn(grpc::ServerContextBase* ctx, const v1::SignInRequest* req,
                                       v1::TokenPair* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "SignIn"));
  ASSIGN_OR_RETURN(auto email, NormalizeEmail("email", req->email()));
  RETURN_IF_ERROR(CheckPasswordLength("password", req->password()));

  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  const std::string email_hash = TokenHash(email.key);
  const std::string address_hash = TokenHash(ClientIp(caller.client_address));
  auto id = deps_.accounts.IdForEmail(email.key);
  if (!id.ok() && id.status().code() != absl::StatusCode::kNotFound) return id.status();
  const std::string account_id = id.ok() ? *id : "";
  // The attempt counts as a failure from here on, so parallel guesses see each other.
  ASSIGN_OR_RETURN(auto attempt,
                   deps_.throttle.Reserve(email_hash, address_hash, account_id, now_ms));
  if (!attempt.admitted()) {
    deps_.metrics.SignIn(SignInOutcome::kThrottled);
    ctx->AddTrailingMetadata("retry-after", std::to_string((attempt.wait_ms + 999) / 1000));
    return Throttled("too many failed sign-ins", attempt.wait_ms);
  }

  // Unknown e-mails cost one Argon2id verification too, so that the answer time does not tell
  // which addresses have accounts.
  absl::StatusOr<StoredAccount> account = absl::NotFoundError("");
  bool matches = false;
  bool needs_rehash = false;
  if (!account_id.empty()) account = deps_.accounts.Get(account_id);
  if (!account.ok() && account.status().code() != absl::StatusCode::kNotFound) {
    Release(deps_.throttle, attempt);  // not checked: no failure
    return account.status();
  }
  if (account.ok()) {
    auto ok = deps_.hasher.Verify(account->password_hash, req->password(), &needs_rehash);
    if (!ok.ok()) {
      Release(deps_.throttle, attempt);
      return ok.status();
    }
    matches = *ok;
  } else {
    deps_.hasher.VerifyAgainstDummy(req->password());
  }
  if (!matches) {
    deps_.metrics.SignIn(SignInOutcome::kBadCredentials);
    if (account.ok()) Audit(account->id, "sign_in_failed", caller);
    return absl::UnauthenticatedError("e-mail address or password is wrong");
  }
  if (auto s = deps_.throttle.RecordSuccess(attempt, account->id, now_ms); !s.ok()) {
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
  ASSIGN_OR_RETURN(auto pair, StartSession(*account));
  deps_.metrics.SignIn(SignInOutcome::kOk);
  deps_.metrics.TokenIssued(TokenPurpose::kSignIn);
  Audit(account->id, "sign_in", caller);
  *response = std::move(pair);
  return absl::OkStatus();
}

absl::Status AccountsService::DoRefresh(grpc::ServerContextBase* ctx, const v1::RefreshRequest* req,
                                        v1::TokenPair* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "Refresh"));
  if (req->refresh_token().empty()) return InvalidField("refresh_token", "must not be empty");
  ASSIGN_OR_RETURN(auto token, ParseRefreshToken(req->refresh_token()));
  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  const std::string next = infra::RandomToken(32);
  // The account is read before the token is spent: should that read fail, the client's retry
  // with the same token must not look like reuse (which would revoke the whole family).
  auto owner = deps_.sessions.FamilyAccount(token.family);
  if (!owner.ok()) {
    return owner.status().code() == absl::StatusCode::kNotFound
               ? absl::UnauthenticatedError("refresh token unknown or expired")
               : owner.status();
  }
  auto account = deps_.accounts.Get(*owner);
  if (!account.ok()) {
    return account.status().code() == absl::StatusCode::kNotFound
               ? absl::UnauthenticatedError("the account no longer exists")
               : account.status();
  }
  auto account_id = deps_.sessions.Rotate(token.family, TokenHash(token.secret), TokenHash(next),
                                          now_ms, now_ms + settings_.refresh_idle_ttl.count());
  if (!account_id.ok()) {
    if (infra::StdView(account_id.status().message()).find("already used") !=
        std::string_view::npos) {
      infra::log::Warn("refresh_token_reuse", {{"request_id", infra::RequestId(*ctx)}});
    }
    return account_id.status();
  }
  if (*account_id != account->id)
    return absl::UnauthenticatedError("refresh token unknown or expired");
  *response = MakePair(*account, token.family, next);
  deps_.metrics.TokenIssued(TokenPurpose::kRefresh);
  return absl::OkStatus();
}

absl::Status AccountsService::DoSignOut(grpc::ServerContextBase* ctx, const v1::SignOutRequest* req,
                                        v1::SignOutResponse*) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "SignOut"));
  if (req->refresh_token().empty()) return InvalidField("refresh_token", "must not be empty");
  auto token = ParseRefreshToken(req->refresh_token());
  if (!token.ok()) return InvalidField("refresh_token", "not a refresh token");
  RETURN_IF_ERROR(deps_.sessions.Revoke(caller.account_id, token->family));
  Audit(caller.account_id, "sign_out", caller);
  return absl::OkStatus();
}

absl::Status AccountsService::DoSignOutEverywhere(grpc::ServerContextBase* ctx,
                                                  const v1::SignOutEverywhereRequest*,
                                                  v1::SignOutResponse*) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "SignOutEverywhere"));
  RETURN_IF_ERROR(deps_.sessions.RevokeAll(caller.account_id, ""));
  Audit(caller.account_id, "sign_out_everywhere", caller);
  return absl::OkStatus();
}

}  // namespace cityhub::accounts
