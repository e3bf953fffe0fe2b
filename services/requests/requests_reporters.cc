// Feedback after a resolution and the mails to anonymous reporters (#14, part C): the feedback
// route, the double opt-in and unsubscribe routes behind the mailed links, the internal call the
// notifications service writes those mails with, and the erasure of contacts after retention.
#include <google/protobuf/util/time_util.h>

#include "infra/events/events.h"
#include "infra/grpc/context.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/requests/lifecycle.h"
#include "services/requests/request_input.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

namespace storage = cityhub::storage::requests;
using infra::InvalidField;
using infra::StrCat;
using infra::auth::Caller;

namespace {

// The public note of a request reopened by its reporter's feedback.
constexpr char kReopenedNote[] =
    "Wieder geöffnet: laut Rückmeldung nicht behoben. / Reopened: reported as not fixed.";

absl::Status CheckToken(std::string_view field, const std::string& token, bool required) {
  if (token.empty()) {
    return required ? InvalidField(field, "is required") : absl::OkStatus();
  }
  if (token.size() > 200) return InvalidField(field, "at most 200 characters");
  for (char c : token) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return InvalidField(field, "malformed");
  }
  return absl::OkStatus();
}

// Feedback is asked for once the city says it is fixed: while RESOLVED, and still when the
// request was closed right after its resolution (the city closes resolved requests after a few
// days; the mailed link must not die with that). Not after REJECTED or DUPLICATE: nothing was
// fixed to judge.
bool TakesFeedback(const StoredRequest& r) {
  if (r.status() == v1::RESOLVED) return true;
  if (r.status() != v1::CLOSED || r.history_size() == 0) return false;
  return r.history(r.history_size() - 1).from_status() == v1::RESOLVED;
}

}  // namespace

absl::Status RequestsService::DoGiveFeedback(grpc::ServerContextBase* ctx,
                                             const v1::GiveFeedbackRequest* req,
                                             v1::RequestFeedback* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "GiveFeedback"));
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  if (req->rating() < 1 || req->rating() > 5) return InvalidField("rating", "must be 1 to 5");
  RETURN_IF_ERROR(CheckText("text", req->text(), 0, 1000, true));
  RETURN_IF_ERROR(CheckToken("token", req->token(), false));
  const bool by_token = !req->token().empty();
  if (by_token) {
    auto id = tokens_.Check(req->token(), TokenPurpose::kFeedback, deps_.clock.Now());
    if (!id.ok()) return id.status();
    if (*id != req->request_id()) return absl::NotFoundError(ReporterTokens::kRefused);
  } else if (!caller.signed_in()) {
    return absl::UnauthenticatedError("sign in as the reporter, or use the link of the mail");
  }
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto current, deps_.requests.Get(req->request_id()));
    const StoredRequest& before = current.request;
    if (!by_token && before.account_id() != caller.account_id) {
      return absl::PermissionDeniedError("only the resident who filed it gives feedback");
    }
    if (before.has_feedback()) return absl::AlreadyExistsError("feedback: given already");
    if (!TakesFeedback(before)) {
      // A conflict with the request's state: 409 at the gateway (FAILED_PRECONDITION is 400
      // there), as the contract wants; never retried by the loop below, which only retries a
      // lost race of Update.
      return absl::AbortedError("status: feedback only on a resolved request");
    }
    const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
    StoredRequest after = before;
    auto* f = after.mutable_feedback();
    f->set_fixed(req->fixed());
    f->set_rating(req->rating());
    f->set_text(req->text());
    f->set_at_ms(now_ms);
    f->set_by_token(by_token);
    if (!by_token) f->set_account_id(caller.account_id);
    after.set_updated_ms(now_ms);

    auto service = deps_.catalogue.Find(after.jurisdiction_id(), after.service_code());
    Events events;
    auto given = NewEvent(ctx);
    auto* g = given.mutable_feedback_given();
    g->set_request_id(after.id());
    g->set_service_code(after.service_code());
    g->set_department(after.department());
    g->set_fixed(req->fixed());
    g->set_rating(req->rating());
    events.push_back(std::move(given));
    if (!req->fixed() && before.status() == v1::RESOLVED) {
      // Not fixed: back to work, heard by the department and everyone who follows it.
      after.set_status(v1::IN_PROGRESS);
      after.set_status_notes(kReopenedNote);
      auto* change = after.add_history();
      change->set_from_status(v1::RESOLVED);
      change->set_to_status(v1::IN_PROGRESS);
      change->set_at_ms(now_ms);
      change->set_public_note(kReopenedNote);
      change->set_actor_account_id(by_token ? "" : caller.account_id);
      auto reopened = NewEvent(ctx);
      auto* changed = reopened.mutable_request_status_changed();
      changed->set_request_id(after.id());
      changed->set_service_code(after.service_code());
      changed->set_department(after.department());
      changed->set_owner_account_id(after.account_id());
      changed->set_from_status(v1::RESOLVED);
      changed->set_to_status(v1::IN_PROGRESS);
      changed->set_public_note(kReopenedNote);
      FillEventNames(service.ok() ? service->get() : nullptr, changed);
      events.push_back(std::move(reopened));
    }
    const absl::Status s = deps_.requests.Update(current, after, events);
    if (s.ok()) {
      if (after.status() != before.status())
        deps_.metrics.Transition(v1::RESOLVED, v1::IN_PROGRESS);
      RETURN_IF_ERROR(EraseIfDeletedMeanwhile(caller));
      FeedbackToApi(after.id(), after.feedback(), response);
      return absl::OkStatus();
    }
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
  }
}

absl::Status RequestsService::ChangeContactState(grpc::ServerContextBase* ctx,
                                                 std::string_view token, TokenPurpose purpose,
                                                 int from, int to,
                                                 v1::ReporterContactResponse* response) {
  ASSIGN_OR_RETURN(auto id, tokens_.Check(token, purpose, deps_.clock.Now()));
  const absl::Status refused = absl::NotFoundError(ReporterTokens::kRefused);
  for (int attempt = 0;; ++attempt) {
    auto current = deps_.requests.Get(id);
    if (!current.ok()) {
      return current.status().code() == absl::StatusCode::kNotFound ? refused : current.status();
    }
    const StoredRequest& before = current->request;
    // Spent (confirmed or unsubscribed already) or erased: the same answer as a forged token.
    if (before.contact_state() != from || before.contact().email().empty()) return refused;
    StoredRequest after = before;
    after.set_contact_state(to);
    auto event = NewEvent(ctx);
    if (to == storage::REPORTER_CONTACT_CONFIRMED) {
      event.mutable_reporter_contact_confirmed()->set_request_id(id);
    } else {
      event.mutable_reporter_contact_ended()->set_request_id(id);
    }
    const absl::Status s = deps_.requests.Update(*current, after, {event});
    if (s.ok()) {
      response->set_request_id(id);
      response->set_subscribed(to == storage::REPORTER_CONTACT_CONFIRMED);
      return absl::OkStatus();
    }
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
  }
}

absl::Status RequestsService::DoConfirmContact(grpc::ServerContextBase* ctx,
                                               const v1::ConfirmContactRequest* req,
                                               v1::ReporterContactResponse* response) {
  RETURN_IF_ERROR(deps_.authorizer.Authorize(*ctx, "ConfirmContact").status());
  RETURN_IF_ERROR(CheckToken("token", req->token(), true));
  return ChangeContactState(ctx, req->token(), TokenPurpose::kConfirm,
                            storage::REPORTER_CONTACT_UNCONFIRMED,
                            storage::REPORTER_CONTACT_CONFIRMED, response);
}

absl::Status RequestsService::DoUnsubscribeContact(grpc::ServerContextBase* ctx,
                                                   const v1::UnsubscribeContactRequest* req,
                                                   v1::ReporterContactResponse* response) {
  RETURN_IF_ERROR(deps_.authorizer.Authorize(*ctx, "UnsubscribeContact").status());
  RETURN_IF_ERROR(CheckToken("token", req->token(), true));
  return ChangeContactState(ctx, req->token(), TokenPurpose::kUnsubscribe,
                            storage::REPORTER_CONTACT_CONFIRMED,
                            storage::REPORTER_CONTACT_UNSUBSCRIBED, response);
}

absl::Status RequestsService::DoGetReporterMail(grpc::ServerContextBase* ctx,
                                                const v1::GetReporterMailRequest* req,
                                                v1::ReporterMail* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "GetReporterMail"));
  if (!caller.internal) return absl::PermissionDeniedError("internal only");
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  ASSIGN_OR_RETURN(auto current, deps_.requests.Get(req->request_id()));
  const StoredRequest& r = current.request;
  const absl::Status nobody = absl::NotFoundError("no reporter to write to");
  if (r.contact().email().empty()) return nobody;
  const auto now = deps_.clock.Now();
  switch (req->purpose()) {
    case v1::REPORTER_MAIL_PURPOSE_CONFIRM:
      if (r.contact_state() != storage::REPORTER_CONTACT_UNCONFIRMED) return nobody;
      response->set_confirm_token(
          tokens_.Issue(r.id(), TokenPurpose::kConfirm, now + settings_.confirm_token_ttl));
      break;
    case v1::REPORTER_MAIL_PURPOSE_UPDATE:
      if (r.contact_state() != storage::REPORTER_CONTACT_CONFIRMED) return nobody;
      response->set_unsubscribe_token(
          tokens_.Issue(r.id(), TokenPurpose::kUnsubscribe, now + settings_.unsubscribe_token_ttl));
      if (TakesFeedback(r) && !r.has_feedback()) {
        response->set_feedback_token(
            tokens_.Issue(r.id(), TokenPurpose::kFeedback, now + settings_.feedback_token_ttl));
      }
      break;
    default:
      return InvalidField("purpose", "must be CONFIRM or UPDATE");
  }
  response->set_email(r.contact().email());
  response->set_language(r.language().empty() ? "de" : r.language());
  response->set_status(static_cast<v1::Status>(r.status()));
  return absl::OkStatus();
}

absl::StatusOr<int> RequestsService::SweepContactErasures(int limit) {
  const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
  ASSIGN_OR_RETURN(auto due, deps_.requests.DueContactErasures(now_ms, limit));
  for (const std::string& id : due) {
    for (int attempt = 0;; ++attempt) {
      auto current = deps_.requests.Get(id);
      if (!current.ok() && current.status().code() != absl::StatusCode::kNotFound) {
        return current.status();
      }
      // Gone, open again (reopened: the schedule starts anew when it is final again) or
      // nothing left to erase: only the schedule entry goes.
      if (!current.ok() || IsOpen(static_cast<v1::Status>(current->request.status())) ||
          !current->request.has_contact()) {
        break;
      }
      StoredRequest after = current->request;
      after.clear_contact();
      Events events;
      if (after.contact_state() == storage::REPORTER_CONTACT_CONFIRMED ||
          after.contact_state() == storage::REPORTER_CONTACT_UNCONFIRMED) {
        auto ended = NewEvent(nullptr);
        ended.mutable_reporter_contact_ended()->set_request_id(id);
        events.push_back(std::move(ended));
      }
      if (after.contact_state() != storage::REPORTER_CONTACT_NONE) {
        after.set_contact_state(storage::REPORTER_CONTACT_ERASED);
      }
      const absl::Status s = deps_.requests.Update(*current, after, events);
      if (s.ok()) break;
      if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
    }
    RETURN_IF_ERROR(deps_.requests.DropContactErasure(id));
  }
  return static_cast<int>(due.size());
}

}  // namespace cityhub::requests
