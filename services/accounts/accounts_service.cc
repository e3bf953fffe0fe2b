// AccountsService: construction, the pieces its methods share, and the first admin.
#include "services/accounts/accounts_service.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "infra/events/events.h"
#include "infra/grpc/context.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/accounts/service_helpers.h"
#include "services/accounts/validation.h"

namespace cityhub::accounts {
namespace {

using infra::InvalidField;
using infra::auth::Caller;

}  // namespace

AccountsService::AccountsService(AccountsDeps deps, AccountsSettings settings,
                                 std::unique_ptr<infra::BoundedExecutor> executor)
    : deps_(deps), settings_(std::move(settings)), executor_(std::move(executor)) {}

AccountsService::AccountsService(AccountsDeps deps, AccountsSettings settings)
    : deps_(deps),
      settings_(std::move(settings)),
      own_metrics_(std::make_unique<infra::MetricsRegistry>()),
      executor_(std::make_unique<infra::BoundedExecutor>(infra::ExecutorOptions{"accounts", 4, 64},
                                                         *own_metrics_)) {}

absl::StatusOr<Caller> AccountsService::Authorize(grpc::ServerContextBase* ctx,
                                                  std::string_view method) {
  return deps_.authorizer.Authorize(*ctx, method);
}

cityhub::events::v1::Event AccountsService::NewEvent(grpc::ServerContextBase* ctx) const {
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

absl::Status AccountsService::CheckPassword(const StoredAccount& account, const Caller& caller,
                                            std::string_view password, std::string_view field) {
  RETURN_IF_ERROR(CheckPasswordLength(field, password));
  ASSIGN_OR_RETURN(const ThrottleReservation attempt,
                   deps_.throttle.Reserve(TokenHash(account.email_key),
                                          TokenHash(ClientIp(caller.client_address)), account.id,
                                          infra::UnixMillis(deps_.clock.Now())));
  if (!attempt.admitted()) return Throttled("too many wrong passwords", attempt.wait_ms);
  auto ok = deps_.hasher.Verify(account.password_hash, password);
  if (!ok.ok() || *ok) {
    // Right, or not checked at all: either way this attempt is no failure.
    Release(deps_.throttle, attempt);
    return ok.status();
  }
  // Someone with the resident's session guessing the password (to change it or to delete the
  // account) is a security event like a failed sign-in.
  Audit(account.id, "password_confirmation_failed", caller);
  return InvalidField(field, "wrong password");
}

absl::Status AccountsService::EnsureAdmin(const std::string& email, const std::string& password) {
  ASSIGN_OR_RETURN(const NormalizedEmail normalized,
                   NormalizeEmail("CITYHUB_BOOTSTRAP_ADMIN_EMAIL", email));
  // An account already holds the address: fine if it is an admin (an earlier start, or a
  // twin instance). Anyone else is not promoted: whoever registered it chose its password.
  const auto check_existing = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(const std::string id, deps_.accounts.IdForEmail(normalized.key));
    ASSIGN_OR_RETURN(const StoredAccount account, deps_.accounts.Get(id));
    if (std::find(account.roles.begin(), account.roles.end(), "admin") != account.roles.end()) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        "CITYHUB_BOOTSTRAP_ADMIN_EMAIL: the address belongs to an account that is not an admin "
        "and is not promoted; configure an address of your own, or let an admin grant the role");
  };
  auto existing = deps_.accounts.IdForEmail(normalized.key);
  if (existing.ok()) return check_existing();
  if (existing.status().code() != absl::StatusCode::kNotFound) return existing.status();
  RETURN_IF_ERROR(CheckPasswordPolicy("CITYHUB_BOOTSTRAP_ADMIN_PASSWORD_FILE", password,
                                      normalized.display, ""));
  ASSIGN_OR_RETURN(std::string hash, deps_.hasher.Hash(password));
  const auto now = deps_.clock.Now();
  StoredAccount account;
  account.id = infra::NewUlid(now);
  account.email = normalized.display;
  account.email_key = normalized.key;
  account.display_name = "Administrator";
  account.password_hash = std::move(hash);
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
