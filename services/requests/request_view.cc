#include "services/requests/request_view.h"

#include <cassert>

#include <google/protobuf/util/time_util.h>

#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/requests/attributes.h"

namespace cityhub::requests {

using cityhub::storage::requests::StoredRequest;
using google::protobuf::util::TimeUtil;

Visibility VisibilityFor(const infra::auth::Caller& caller, const StoredRequest& r) {
  if (caller.WorksFor(r.department())) return Visibility::kStaff;
  if (caller.signed_in() && caller.account_id == r.account_id()) return Visibility::kOwner;
  return Visibility::kPublic;
}

bool ShowsDetails(Visibility visibility, const cityhub::storage::requests::StoredService* service) {
  return visibility != Visibility::kPublic || service == nullptr || service->details_public();
}

namespace {

// A text of a request for its answer: moved out of `consumed` when given (no allocation),
// else copied.
std::string Text(const std::string& value, std::string* (StoredRequest::*field)(),
                 StoredRequest* consumed) {
  if (consumed == nullptr || value.empty()) return value;
  return std::move(*(consumed->*field)());
}

}  // namespace

void RequestToApi(const StoredRequest& r, const cityhub::storage::requests::StoredService* service,
                  Visibility visibility, std::string_view language, std::string_view base_url,
                  v1::ServiceRequest* out, StoredRequest* consumed) {
  assert(consumed == nullptr || consumed == &r);
  const bool en = language == "en";
  out->set_request_id(Text(r.id(), &StoredRequest::mutable_id, consumed));
  out->set_jurisdiction_id(
      Text(r.jurisdiction_id(), &StoredRequest::mutable_jurisdiction_id, consumed));
  out->set_service_code(Text(r.service_code(), &StoredRequest::mutable_service_code, consumed));
  if (service != nullptr) {
    out->set_service_name(en && !service->name_en().empty() ? service->name_en()
                                                            : service->name_de());
    out->set_service_notice(en && !service->notice_en().empty() ? service->notice_en()
                                                                : service->notice_de());
  }
  out->set_status(static_cast<v1::Status>(r.status()));
  out->set_status_notes(Text(r.status_notes(), &StoredRequest::mutable_status_notes, consumed));
  if (r.has_location()) {
    out->set_lat(r.lat());
    out->set_long_(r.long_());
  }
  out->set_address(Text(r.address(), &StoredRequest::mutable_address, consumed));
  out->set_address_id(Text(r.address_id(), &StoredRequest::mutable_address_id, consumed));
  out->set_zipcode(Text(r.zipcode(), &StoredRequest::mutable_zipcode, consumed));
  *out->mutable_requested_at() = TimeUtil::MillisecondsToTimestamp(r.requested_ms());
  *out->mutable_updated_at() = TimeUtil::MillisecondsToTimestamp(r.updated_ms());
  *out->mutable_expected_at() = TimeUtil::MillisecondsToTimestamp(r.expected_ms());
  out->set_department(Text(r.department(), &StoredRequest::mutable_department, consumed));
  out->set_district(r.district());
  out->set_duplicate_of(Text(r.duplicate_of(), &StoredRequest::mutable_duplicate_of, consumed));
  if (ShowsDetails(visibility, service)) {
    out->set_description(Text(r.description(), &StoredRequest::mutable_description, consumed));
    for (const auto& id : r.media_ids()) {
      out->add_media_ids(id);
      out->add_media_urls(infra::StrCat(base_url, "/v1/media/", id));
    }
    if (!r.media_url().empty()) out->add_media_urls(r.media_url());
    if (!r.attributes().empty()) *out->mutable_attributes() = AttributesFromStorage(r.attributes());
  }
  for (const auto& change : r.history()) {
    auto* h = out->add_history();
    h->set_from_status(static_cast<v1::Status>(change.from_status()));
    h->set_to_status(static_cast<v1::Status>(change.to_status()));
    *h->mutable_at() = TimeUtil::MillisecondsToTimestamp(change.at_ms());
    h->set_public_note(change.public_note());
    h->set_duplicate_of(change.duplicate_of());
    h->set_kind(change.kind().empty() ? "status" : change.kind());
    // Who is assigned is for staff only; where a request moved is public.
    if (change.kind() != "assign" || visibility == Visibility::kStaff) {
      h->set_from_value(change.from_value());
      h->set_to_value(change.to_value());
    }
    if (visibility == Visibility::kStaff) {
      h->set_internal_note(change.internal_note());
      h->set_actor_account_id(change.actor_account_id());
    }
  }
  if (visibility == Visibility::kStaff) {
    for (const auto& m : r.moderation()) {
      auto* e = out->add_moderation();
      *e->mutable_at() = TimeUtil::MillisecondsToTimestamp(m.at_ms());
      e->set_actor_account_id(m.actor_account_id());
      e->set_reason(m.reason());
      *e->mutable_hidden_media_ids() = m.hidden_media_ids();
      e->set_description_replaced(m.description_replaced());
      e->set_comment_id(m.comment_id());
    }
    out->set_assignee_account_id(r.assignee_account_id());
    out->set_assignee_name(r.assignee_name());
    out->set_partner_name(r.partner_name());
  }
  if (visibility != Visibility::kPublic) {
    out->set_account_id(Text(r.account_id(), &StoredRequest::mutable_account_id, consumed));
    if (r.has_contact()) {
      auto* c = out->mutable_contact();
      c->set_first_name(r.contact().first_name());
      c->set_last_name(r.contact().last_name());
      c->set_email(r.contact().email());
      c->set_phone(r.contact().phone());
      c->set_device_id(r.contact().device_id());
      c->set_partner_account_id(r.contact().partner_account_id());
    }
    if (r.has_feedback()) FeedbackToApi(r.id(), r.feedback(), out->mutable_feedback());
    out->set_contact_confirmed(r.contact_state() ==
                               cityhub::storage::requests::REPORTER_CONTACT_CONFIRMED);
  }
}

void FeedbackToApi(std::string_view request_id, const cityhub::storage::requests::StoredFeedback& f,
                   cityhub::requests::v1::RequestFeedback* out) {
  out->set_request_id(std::string(request_id));
  out->set_fixed(f.fixed());
  out->set_rating(f.rating());
  out->set_text(f.text());
  *out->mutable_given_at() = TimeUtil::MillisecondsToTimestamp(f.at_ms());
}

absl::StatusOr<int> PageSize(int32_t requested) {
  if (requested == 0) return 20;
  if (requested < 0 || requested > 100) return infra::InvalidField("page_size", "must be 1..100");
  return requested;
}

absl::StatusOr<std::string> Language(std::string_view requested) {
  if (requested.empty() || requested == "de") return std::string("de");
  if (requested == "en") return std::string("en");
  return infra::InvalidField("language", "must be \"de\" or \"en\"");
}

absl::Status CheckPageToken(std::string_view token) {
  if (token.empty() || infra::IsUlid(token)) return absl::OkStatus();
  return infra::InvalidField("page_token", "not a token from a previous page");
}

void ViewComment(const cityhub::storage::requests::StoredComment& c, bool is_own,
                 cityhub::requests::v1::Comment* out) {
  out->set_comment_id(c.id());
  out->set_request_id(c.request_id());
  out->set_text(c.text());
  out->set_author_role(c.author_role());
  *out->mutable_created_at() = TimeUtil::MillisecondsToTimestamp(c.created_ms());
  out->set_is_own(is_own);
  out->set_hidden(c.hidden());
}

void ViewTemplate(const cityhub::storage::requests::StoredResponseTemplate& t,
                  cityhub::requests::v1::ResponseTemplate* out) {
  out->set_template_id(t.id());
  out->set_department(t.department());
  out->set_title(t.title());
  out->set_text_de(t.text_de());
  out->set_text_en(t.text_en());
  out->set_author_account_id(t.author_account_id());
  *out->mutable_created_at() = TimeUtil::MillisecondsToTimestamp(t.created_ms());
  *out->mutable_updated_at() = TimeUtil::MillisecondsToTimestamp(t.updated_ms());
}

}  // namespace cityhub::requests
