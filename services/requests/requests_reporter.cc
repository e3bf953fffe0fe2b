// The reporter's control (issue #14 B): while a request is SUBMITTED (nobody at the city has
// taken it up yet), its owner may correct it or withdraw it. Both are versioned updates of the
// request with their event in the same script (outbox).
#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"
#include "services/requests/attributes.h"
#include "services/requests/request_input.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

using infra::InvalidField;
using infra::auth::Caller;

namespace {

inline constexpr char kWithdrawnNote[] = "withdrawn by the reporter";

// The owner's check and the state check, the same for edit and withdraw.
absl::Status CheckReporterMayChange(const Caller& caller, const StoredRequest& r,
                                    std::string_view what) {
  if (!caller.signed_in() || r.account_id() != caller.account_id) {
    return absl::PermissionDeniedError(
        infra::StrCat("only the resident who filed it ", what, " it"));
  }
  if (r.status() != v1::SUBMITTED) {
    return absl::FailedPreconditionError(infra::StrCat(
        "status: the city has taken the request up (", v1::Status_Name(r.status()), "); it can be ",
        what == "edits" ? "edited" : "withdrawn", " only while SUBMITTED"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RequestsService::DoEditRequest(grpc::ServerContextBase* ctx,
                                            const v1::EditRequestRequest* req,
                                            v1::ServiceRequest* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "EditRequest"));
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  ASSIGN_OR_RETURN(auto language, Language(req->language()));
  if (req->has_description())
    RETURN_IF_ERROR(CheckText("description", req->description(), 0, 4000, true));
  if (req->has_address()) RETURN_IF_ERROR(CheckText("address", req->address(), 0, 250, false));
  if (req->has_lat() != req->has_long_())
    return InvalidField(req->has_lat() ? "long" : "lat", "lat and long go together");
  if (req->has_lat()) RETURN_IF_ERROR(CheckCoordinates(req->lat(), req->long_(), "lat", "long"));
  // Nothing present: nothing changes, the answer is the request as it is (as PATCH /v1/me).
  const bool changes =
      req->has_description() || req->has_address() || req->has_lat() || req->has_attributes();
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto current, deps_.requests.Get(req->request_id()));
    const StoredRequest& before = current.request;
    RETURN_IF_ERROR(CheckReporterMayChange(caller, before, "edits"));
    if (!changes) {
      View(caller, before, language, response);
      return absl::OkStatus();
    }
    StoredRequest after = before;
    auto event = NewEvent(ctx);
    auto* edited = event.mutable_request_edited();
    if (req->has_description()) {
      after.set_description(req->description());
      edited->add_fields("description");
    }
    if (req->has_attributes()) {
      auto service = deps_.catalogue.Find(before.jurisdiction_id(), before.service_code());
      if (!service.ok()) {
        return service.status().code() == absl::StatusCode::kNotFound
                   ? InvalidField("attributes", "the category is no longer in the catalogue")
                   : service.status();
      }
      ASSIGN_OR_RETURN(auto attributes, ValidateAttributes(req->attributes(), **service));
      after.set_attributes(std::move(attributes));
      edited->add_fields("attributes");
    }
    if (req->has_address()) {
      after.set_address(std::string(infra::TrimAscii(req->address())));
      edited->add_fields("address");
    }
    Events events;
    if (req->has_lat()) {
      ASSIGN_OR_RETURN(auto geography, deps_.geography.Current(before.jurisdiction_id()));
      const auto area = settings_.jurisdictions.find(before.jurisdiction_id());
      if (!geography->boundary && area != settings_.jurisdictions.end() &&
          !area->second.Contains(req->lat(), req->long_())) {
        return InvalidField("lat", "the location lies outside the city");
      }
      // The geo indexes move with the request in the update's script (IndexesOf).
      after.set_has_location(true);
      after.set_lat(req->lat());
      after.set_long_(req->long_());
      edited->add_fields("position");
      // The boundary, the new district and its routing rules (#15).
      auto category = deps_.catalogue.Find(before.jurisdiction_id(), before.service_code());
      RETURN_IF_ERROR(
          PlaceRequest(after, category.ok() ? (*category)->department() : before.department()));
      if (after.department() != before.department()) {
        after.clear_assignee_account_id();
        after.clear_assignee_name();
        events.push_back(RoutedEvent(ctx, before, after));
      }
    }
    if (!after.has_location() && infra::TrimAscii(after.address()).empty() &&
        after.address_id().empty()) {
      return InvalidField("address", "a request without a location needs an address");
    }
    after.set_updated_ms(infra::UnixMillis(deps_.clock.Now()));
    edited->set_request_id(after.id());
    edited->set_service_code(after.service_code());
    edited->set_department(after.department());
    edited->set_owner_account_id(after.account_id());
    if (after.has_location()) {
      edited->set_lat(after.lat());
      edited->set_long_(after.long_());
    }
    edited->set_address(after.address());
    events.insert(events.begin(), event);
    const absl::Status s = deps_.requests.Update(current, after, events);
    if (s.ok()) {
      View(caller, after, language, response);
      return s;
    }
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
  }
}

absl::Status RequestsService::DoWithdrawRequest(grpc::ServerContextBase* ctx,
                                                const v1::WithdrawRequestRequest* req,
                                                v1::ServiceRequest* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "WithdrawRequest"));
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto current, deps_.requests.Get(req->request_id()));
    const StoredRequest& before = current.request;
    RETURN_IF_ERROR(CheckReporterMayChange(caller, before, "withdraws"));
    const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
    StoredRequest after = before;
    after.set_status(v1::CLOSED);
    after.set_status_notes(kWithdrawnNote);
    after.set_updated_ms(now_ms);
    auto* change = after.add_history();
    change->set_from_status(v1::SUBMITTED);
    change->set_to_status(v1::CLOSED);
    change->set_at_ms(now_ms);
    change->set_public_note(kWithdrawnNote);
    change->set_actor_account_id(caller.account_id);
    // As for any close, so that followers and webhooks hear of it.
    auto event = NewEvent(ctx);
    auto* changed = event.mutable_request_status_changed();
    changed->set_request_id(after.id());
    changed->set_service_code(after.service_code());
    changed->set_department(after.department());
    changed->set_owner_account_id(after.account_id());
    changed->set_from_status(v1::SUBMITTED);
    changed->set_to_status(v1::CLOSED);
    changed->set_public_note(kWithdrawnNote);
    auto service = deps_.catalogue.Find(after.jurisdiction_id(), after.service_code());
    FillEventNames(service.ok() ? service->get() : nullptr, changed);
    const absl::Status s = deps_.requests.Update(current, after, {event});
    if (s.ok()) {
      deps_.metrics.Transition(v1::SUBMITTED, v1::CLOSED);
      View(caller, after, "de", response);
      return s;
    }
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
  }
}

}  // namespace cityhub::requests
