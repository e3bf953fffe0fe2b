// The operator's moves on a request besides its status (issue 14): rerouting it to another
// category (and so, maybe, another department) and assigning it to an operator.
#include <set>

#include "infra/events/events.h"
#include "infra/grpc/context.h"
#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"
#include "services/requests/attributes.h"
#include "services/requests/lifecycle.h"
#include "services/requests/request_input.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

using cityhub::storage::requests::StoredChange;
using infra::InvalidField;
using infra::StrCat;
using infra::auth::Caller;

namespace {

// The answers a rerouted request keeps: those the new category asks too, then `given`.
google::protobuf::Struct ReroutedAnswers(const StoredRequest& r, const StoredService& to,
                                         const google::protobuf::Struct& given) {
  std::set<std::string> asked;
  for (const auto& a : to.attributes()) asked.insert(a.code());
  google::protobuf::Struct answers;
  const google::protobuf::Struct kept = AttributesFromStorage(r.attributes());
  for (const auto& [code, value] : kept.fields()) {
    if (asked.count(code)) (*answers.mutable_fields())[code] = value;
  }
  for (const auto& [code, value] : given.fields()) (*answers.mutable_fields())[code] = value;
  return answers;
}

}  // namespace

absl::Status RequestsService::FillFollowStates(
    const Caller& caller, google::protobuf::RepeatedPtrField<v1::ServiceRequest>* requests) {
  std::vector<std::string> ids;
  ids.reserve(requests->size());
  for (const auto& r : *requests) ids.push_back(r.request_id());
  ASSIGN_OR_RETURN(auto states, deps_.requests.FollowStates(ids, caller.account_id));
  for (int i = 0; i < requests->size() && i < static_cast<int>(states.size()); ++i) {
    (*requests)[i].set_follower_count(static_cast<int32_t>(states[i].followers));
    (*requests)[i].set_following(states[i].following);
  }
  return absl::OkStatus();
}

absl::Status RequestsService::FillFollowState(const Caller& caller, v1::ServiceRequest* out) {
  ASSIGN_OR_RETURN(auto states,
                   deps_.requests.FollowStates({out->request_id()}, caller.account_id));
  out->set_follower_count(static_cast<int32_t>(states.at(0).followers));
  out->set_following(states.at(0).following);
  return absl::OkStatus();
}

absl::Status RequestsService::DoRerouteRequest(grpc::ServerContextBase* ctx,
                                               const v1::RerouteRequestRequest* req,
                                               v1::ServiceRequest* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "RerouteRequest"));
  RETURN_IF_ERROR(RequireVerifiedStaff(caller));
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  if (req->service_code().empty()) return InvalidField("service_code", "is required");
  if (!IsServiceCode(req->service_code())) return InvalidField("service_code", "malformed");
  RETURN_IF_ERROR(CheckText("public_note", req->public_note(), 0, 2000, true));
  RETURN_IF_ERROR(CheckText("internal_note", req->internal_note(), 0, 4000, true));
  if (req->attributes().fields_size() > 50) return InvalidField("attributes", "at most 50");
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto current, deps_.requests.Get(req->request_id()));
    const StoredRequest& before = current.request;
    if (!caller.WorksFor(before.department())) {
      return absl::PermissionDeniedError(
          "only staff of the request's current department reroute it");
    }
    const auto status = static_cast<v1::Status>(before.status());
    if (!IsOpen(status)) {
      return absl::FailedPreconditionError(
          StrCat("status: a ", v1::Status_Name(status), " request is not rerouted"));
    }
    if (req->service_code() == before.service_code()) {
      return InvalidField("service_code", "is the request's category already");
    }
    auto to = deps_.catalogue.Find(before.jurisdiction_id(), req->service_code());
    if (!to.ok()) {
      return to.status().code() == absl::StatusCode::kNotFound
                 ? InvalidField("service_code", "not in the catalogue")
                 : to.status();
    }
    if (!(*to)->active()) return InvalidField("service_code", "no longer accepts requests");
    ASSIGN_OR_RETURN(std::string answers,
                     ValidateAttributes(ReroutedAnswers(before, **to, req->attributes()), **to));

    const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
    StoredRequest after = before;
    after.set_service_code(req->service_code());
    after.set_department((*to)->department());
    // The boundary, and the routing rules for the new category in the request's district (#15).
    RETURN_IF_ERROR(PlaceRequest(after, (*to)->department()));
    after.set_attributes(std::move(answers));
    after.set_expected_ms(before.requested_ms() + int64_t{(*to)->sla_hours()} * 3'600'000);
    after.set_updated_ms(now_ms);
    if (!req->public_note().empty()) after.set_status_notes(req->public_note());
    // An assignee works for the old department: another department assigns its own.
    if (after.department() != before.department()) {
      after.clear_assignee_account_id();
      after.clear_assignee_name();
    }
    StoredChange* change = after.add_history();
    change->set_kind("reroute");
    change->set_from_status(status);
    change->set_to_status(status);
    change->set_at_ms(now_ms);
    change->set_public_note(req->public_note());
    change->set_internal_note(req->internal_note());
    change->set_actor_account_id(caller.account_id);
    change->set_from_value(before.service_code());
    change->set_to_value(after.service_code());

    auto event = RoutedEvent(ctx, before, after);
    event.mutable_request_rerouted()->set_public_note(req->public_note());  // never the internal

    const absl::Status s = deps_.requests.Update(current, after, {event});
    if (s.ok()) {
      View(caller, after, to->get(), "de", response);
      return FillFollowState(caller, response);
    }
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
  }
}

absl::Status RequestsService::DoAssignRequest(grpc::ServerContextBase* ctx,
                                              const v1::AssignRequestRequest* req,
                                              v1::ServiceRequest* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "AssignRequest"));
  RETURN_IF_ERROR(RequireVerifiedStaff(caller));
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  const std::string& assignee = req->assignee_account_id();
  if (!assignee.empty() && !infra::IsUlid(assignee)) {
    return InvalidField("assignee_account_id", "not an account id");
  }
  std::string checked_department;  // the department the assignee was found to work for
  std::string assignee_name;
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto current, deps_.requests.Get(req->request_id()));
    const StoredRequest& before = current.request;
    if (!caller.WorksFor(before.department())) {
      return absl::PermissionDeniedError("only staff of the request's department assign it");
    }
    if (!assignee.empty() && checked_department != before.department()) {
      // Who the account is now, from the accounts service (a blocking call: this body runs on
      // the service's executor).
      auto member = deps_.staff.Get(assignee);
      if (!member.ok()) {
        const auto code = member.status().code();
        if (code == absl::StatusCode::kNotFound || code == absl::StatusCode::kInvalidArgument) {
          return InvalidField("assignee_account_id", "no such account");
        }
        return member.status();
      }
      if (!member->OperatesFor(before.department())) {
        return InvalidField("assignee_account_id",
                            StrCat("not an operator of department ", before.department()));
      }
      checked_department = before.department();
      assignee_name = member->display_name;
    }
    if (!assignee.empty() && !IsOpen(static_cast<v1::Status>(before.status()))) {
      // Unassigning stays possible, so that a closed request leaves someone's queue.
      return absl::FailedPreconditionError(StrCat("status: a ", v1::Status_Name(before.status()),
                                                  " request is not assigned; reopen it first"));
    }
    if (before.assignee_account_id() == assignee) {  // nothing changes: no history, no event
      View(caller, before, "de", response);
      return absl::OkStatus();
    }
    const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
    StoredRequest after = before;
    after.set_assignee_account_id(assignee);
    after.set_assignee_name(assignee_name);
    after.set_updated_ms(now_ms);
    StoredChange* change = after.add_history();
    change->set_kind("assign");
    change->set_from_status(before.status());
    change->set_to_status(before.status());
    change->set_at_ms(now_ms);
    change->set_actor_account_id(caller.account_id);
    change->set_from_value(before.assignee_account_id());
    change->set_to_value(assignee);

    auto event = NewEvent(ctx);
    auto* assigned = event.mutable_request_assigned();
    assigned->set_request_id(after.id());
    assigned->set_department(after.department());
    assigned->set_service_code(after.service_code());
    assigned->set_from_assignee_account_id(before.assignee_account_id());
    assigned->set_to_assignee_account_id(assignee);
    assigned->set_actor_account_id(caller.account_id);

    const absl::Status s = deps_.requests.Update(current, after, {event}, caller.account_id);
    if (s.ok()) {
      RETURN_IF_ERROR(EraseIfDeletedMeanwhile(caller));
      View(caller, after, "de", response);
      return FillFollowState(caller, response);
    }
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
  }
}

}  // namespace cityhub::requests
