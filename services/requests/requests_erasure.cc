// Privacy: the export of a resident's data, erasure on account deletion, and the check that
// keeps a deleted account's late writes out.
#include <google/protobuf/util/time_util.h>

#include "infra/auth/deleted_accounts.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/status.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

using infra::Done;
using infra::InvalidField;
using infra::auth::Caller;

absl::Status RequestsService::OnAccountEvent(const std::string& payload) {
  cityhub::events::v1::Event event;
  if (!event.ParseFromString(payload)) return absl::InvalidArgumentError("unreadable event");
  if (!event.has_account_deleted()) return absl::OkStatus();
  // ForgetAccount sets the marker first, then erases.
  absl::Status s = deps_.requests.ForgetAccount(event.account_deleted().account_id());
  // Templates a staff member wrote stay with the department, without their author.
  if (s.ok()) s = deps_.templates.ForgetAuthor(event.account_deleted().account_id());
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

namespace {

// Visits the requests of an index read newest first in pages (`page(before)` gives the ids
// older than `before`), one MGET per page; requests gone since are skipped.
template <typename Page, typename Visit>
absl::Status ForEachIndexed(RequestStore& store, const Page& page, const Visit& visit) {
  std::string before;
  while (true) {
    ASSIGN_OR_RETURN(auto ids, page(before));
    if (ids.empty()) return absl::OkStatus();
    std::vector<std::string> keys;
    for (const auto& i : ids) keys.push_back(i.id);
    ASSIGN_OR_RETURN(auto requests, store.GetMany(keys));
    for (const auto& r : requests) {
      if (r) visit(*r);
    }
    before = ids.back().id;
  }
}

}  // namespace

absl::Status RequestsService::DoExportUserData(grpc::ServerContextBase* ctx,
                                               const v1::ExportUserDataRequest* req,
                                               v1::UserDataExport* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "ExportUserData"));
  if (!infra::IsUlid(req->account_id())) return InvalidField("account_id", "not an account id");
  Caller owner;
  owner.account_id = req->account_id();
  const std::string& account = req->account_id();
  RETURN_IF_ERROR(ForEachIndexed(
      deps_.requests,
      [&](const std::string& before) { return deps_.requests.NewestOfOwner(account, before, 200); },
      [&](const StoredRequest& r) {
        View(owner, r, "de", response->add_requests());
        if (r.has_feedback() && r.feedback().account_id() == account) {
          FeedbackToApi(r.id(), r.feedback(), response->add_feedback());
        }
      }));
  RETURN_IF_ERROR(FillFollowStates(owner, response->mutable_requests()));
  // Staff: the assignments the account made, from the history of the requests it assigned.
  RETURN_IF_ERROR(ForEachIndexed(
      deps_.requests,
      [&](const std::string& before) {
        return deps_.requests.NewestAssignedBy(account, before, 200);
      },
      [&](const StoredRequest& r) {
        for (const auto& change : r.history()) {
          if (change.kind() != "assign" || change.actor_account_id() != account) continue;
          auto* made = response->add_assignments_made();
          made->set_request_id(r.id());
          made->set_assignee_account_id(change.to_value());
          *made->mutable_at() =
              google::protobuf::util::TimeUtil::MillisecondsToTimestamp(change.at_ms());
        }
      }));
  ASSIGN_OR_RETURN(auto comments, deps_.requests.CommentsBy(req->account_id()));
  for (const auto& c : comments) {
    ViewComment(c, true, response->add_comments());
  }
  ASSIGN_OR_RETURN(auto following, deps_.requests.Following(req->account_id()));
  for (const auto& id : following) response->add_followed_request_ids(id);
  ASSIGN_OR_RETURN(auto templates, deps_.templates.By(req->account_id()));
  for (const auto& t : templates) ViewTemplate(t, response->add_response_templates());
  return absl::OkStatus();
}

}  // namespace cityhub::requests
