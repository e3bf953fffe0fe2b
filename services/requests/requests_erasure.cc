// Erasure on account deletion, and the check that keeps a deleted account's late writes out.
#include "infra/auth/deleted_accounts.h"
#include "infra/log.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

absl::Status RequestsService::OnAccountEvent(const std::string& payload) {
  cityhub::events::v1::Event event;
  if (!event.ParseFromString(payload)) return absl::InvalidArgumentError("unreadable event");
  if (!event.has_account_deleted()) return absl::OkStatus();
  // ForgetAccount sets the marker first, then erases.
  const absl::Status s = deps_.requests.ForgetAccount(event.account_deleted().account_id());
  if (s.ok()) infra::log::Info("account_forgotten", {{"event_id", event.event_id()}});
  return s;
}

absl::Status RequestsService::EraseIfDeletedMeanwhile(const infra::auth::Caller& caller) {
  const infra::auth::DeletedAccounts* deleted = deps_.authorizer.deleted_accounts();
  if (deleted == nullptr || !caller.signed_in()) return absl::OkStatus();
  const absl::Status check = deleted->CheckNotDeleted(caller.account_id);
  // Redis cannot say: the write was accepted by the check before it, and stays.
  if (check.code() != absl::StatusCode::kUnauthenticated) return absl::OkStatus();
  if (auto s = deps_.requests.ForgetAccount(caller.account_id); !s.ok()) return s;
  infra::log::Info("late_write_erased", {});
  return check;
}

}  // namespace cityhub::requests
