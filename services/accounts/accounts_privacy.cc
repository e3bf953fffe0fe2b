// AccountsService: privacy export and account erasure.
#include "services/accounts/accounts_service.h"

#include <nlohmann/json.hpp>

#include "infra/grpc/context.h"
#include "infra/grpc/unary.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/accounts/service_helpers.h"

namespace cityhub::accounts {
namespace {

using infra::StrCat;

}  // namespace

absl::Status AccountsService::DoExportMyData(grpc::ServerContextBase* ctx,
                                             const v1::ExportMyDataRequest*,
                                             v1::PersonalDataExport* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "ExportMyData"));
  ASSIGN_OR_RETURN(auto account, deps_.accounts.Get(caller.account_id));
  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  *response->mutable_exported_at() = Millis(now_ms);
  auto* mine = response->mutable_accounts();
  ToProto(account, mine->mutable_account());
  ASSIGN_OR_RETURN(auto audit, deps_.accounts.Audit(account.id));
  for (const std::string& line : audit) {
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
  ASSIGN_OR_RETURN(auto sessions, deps_.sessions.List(account.id, now_ms));
  for (const SessionInfo& s : sessions) {
    auto* out = mine->add_sessions();
    out->set_family_id(s.family_id);
    *out->mutable_created_at() = Millis(s.created_ms);
    *out->mutable_last_used_at() = Millis(s.last_used_ms);
  }
  ASSIGN_OR_RETURN(auto known, deps_.throttle.KnownAddresses(account.id));
  for (const KnownAddress& k : known) {
    auto* out = mine->add_known_addresses();
    out->set_address_hash(k.address_hash);
    *out->mutable_last_sign_in_at() = Millis(k.last_success_ms);
  }
  // The other services' parts: a partial export would mislead, so any failure fails it all.
  if (deps_.requests != nullptr) {
    auto call = infra::OutboundContext(ctx, settings_.export_timeout);
    call->AddMetadata(infra::auth::kInternalTokenKey, settings_.internal_token);
    cityhub::requests::v1::ExportUserDataRequest request;
    request.set_account_id(account.id);
    const grpc::Status s =
        deps_.requests->ExportUserData(call.get(), request, response->mutable_requests());
    if (!s.ok()) {
      return absl::UnavailableError(StrCat("requests service: ", s.error_message()));
    }
  }
  if (deps_.notifications != nullptr) {
    auto call = infra::OutboundContext(ctx, settings_.export_timeout);
    call->AddMetadata(infra::auth::kInternalTokenKey, settings_.internal_token);
    cityhub::notifications::v1::ExportUserDataRequest request;
    request.set_account_id(account.id);
    const grpc::Status s =
        deps_.notifications->ExportUserData(call.get(), request, response->mutable_notifications());
    if (!s.ok()) {
      return absl::UnavailableError(StrCat("notifications service: ", s.error_message()));
    }
  }
  return absl::OkStatus();
}

absl::Status AccountsService::DoDeleteMe(grpc::ServerContextBase* ctx,
                                         const v1::DeleteMeRequest* req, v1::DeleteMeResponse*) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "DeleteMe"));
  ASSIGN_OR_RETURN(auto account, deps_.accounts.Get(caller.account_id));
  RETURN_IF_ERROR(CheckPassword(account, caller, req->password(), "password"));
  Events events(1, NewEvent(ctx));
  events[0].mutable_account_deleted()->set_account_id(account.id);
  RETURN_IF_ERROR(deps_.accounts.Delete(account, events));
  deps_.metrics.Deleted();
  infra::log::Info("account_deleted", {{"request_id", infra::RequestId(*ctx)}});
  return absl::OkStatus();
}

}  // namespace cityhub::accounts
