#include "services/requests/request_input.h"

#include <cmath>
#include <vector>

#include <google/protobuf/util/time_util.h>

#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"
#include "services/requests/attributes.h"
#include "services/requests/catalogue.h"
#include "services/requests/lifecycle.h"
#include "services/requests/media_store.h"
#include "services/requests/request_view.h"

namespace cityhub::requests {

using cityhub::storage::requests::StoredContact;
using cityhub::storage::requests::StoredRequest;
using google::protobuf::util::TimeUtil;
using infra::InvalidField;

namespace {

// Seconds within RFC 3339's years 0001..9999 and nanos below a second.
bool IsValidTimestamp(const google::protobuf::Timestamp& t) {
  return t.seconds() >= TimeUtil::kTimestampMinSeconds &&
         t.seconds() <= TimeUtil::kTimestampMaxSeconds && t.nanos() >= 0 &&
         t.nanos() < 1'000'000'000;
}

// The photos of a new request: at most kMaxMediaPerRequest media ids, none twice.
absl::StatusOr<std::vector<std::string>> MediaIds(const v1::CreateRequestRequest& req) {
  if (req.media_ids_size() > kMaxMediaPerRequest) {
    return InvalidField("media_ids", "at most 5 photos per request");
  }
  std::vector<std::string> media(req.media_ids().begin(), req.media_ids().end());
  for (const auto& id : media) {
    if (!IsMediaId(id)) return InvalidField("media_ids", "not a media id");
  }
  if (std::set<std::string>(media.begin(), media.end()).size() != media.size()) {
    return InvalidField("media_ids", "lists a photo twice");
  }
  return media;
}

absl::Status ParseNear(const v1::ListRequestsRequest& req, ListFilter* f) {
  const int near_parts = req.has_lat() + req.has_long_() + req.has_radius_m();
  if (near_parts != 0 && near_parts != 3) {
    return InvalidField("radius_m", "lat, long and radius_m go together");
  }
  if (near_parts == 0) return absl::OkStatus();
  RETURN_IF_ERROR(CheckCoordinates(req.lat(), req.long_(), "lat", "long"));
  if (!std::isfinite(req.radius_m()) || req.radius_m() <= 0 || req.radius_m() > kMaxRadiusM) {
    return InvalidField("radius_m", "must be more than 0 and at most 20000");
  }
  f->near = true;
  f->lat = req.lat();
  f->lon = req.long_();
  f->radius_m = req.radius_m();
  return absl::OkStatus();
}

absl::Status ParseBox(const v1::ListRequestsRequest& req, ListFilter* f) {
  const int box_parts =
      req.has_min_lat() + req.has_min_long() + req.has_max_lat() + req.has_max_long();
  if (box_parts != 0 && box_parts != 4) {
    return InvalidField("min_lat", "min_lat, min_long, max_lat and max_long go together");
  }
  if (box_parts == 0) return absl::OkStatus();
  if (f->near) return InvalidField("min_lat", "use either a radius or a box, not both");
  RETURN_IF_ERROR(CheckCoordinates(req.min_lat(), req.min_long(), "min_lat", "min_long"));
  RETURN_IF_ERROR(CheckCoordinates(req.max_lat(), req.max_long(), "max_lat", "max_long"));
  if (req.min_lat() >= req.max_lat()) return InvalidField("min_lat", "must be less than max_lat");
  if (req.min_long() >= req.max_long())
    return InvalidField("min_long", "must be less than max_long");
  if (DistanceM(req.min_lat(), req.min_long(), req.max_lat(), req.max_long()) > 2 * kMaxRadiusM) {
    return InvalidField("max_lat", "the box is larger than 40 km across");
  }
  f->box = true;
  f->min_lat = req.min_lat();
  f->min_lon = req.min_long();
  f->max_lat = req.max_lat();
  f->max_lon = req.max_long();
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckText(std::string_view field, const std::string& text, size_t min, size_t max,
                       bool newlines) {
  if (auto problem = infra::CheckText(text, min, max, newlines))
    return InvalidField(field, *problem);
  return absl::OkStatus();
}

absl::Status RequireVerifiedStaff(const infra::auth::Caller& caller) {
  if (caller.signed_in() && !caller.email_verified) {
    return absl::PermissionDeniedError(
        "verify your e-mail address before you act on requests as staff");
  }
  return absl::OkStatus();
}

absl::Status CheckRequestId(std::string_view id) {
  if (!infra::IsUlid(id)) return InvalidField("request_id", "not a request id");
  return absl::OkStatus();
}

absl::StatusOr<StoredContact> ContactFromApi(const v1::ContactDetails& c) {
  StoredContact out;
  RETURN_IF_ERROR(CheckText("contact.first_name", c.first_name(), 0, 100, false));
  RETURN_IF_ERROR(CheckText("contact.last_name", c.last_name(), 0, 100, false));
  RETURN_IF_ERROR(CheckText("contact.device_id", c.device_id(), 0, 128, false));
  RETURN_IF_ERROR(CheckText("contact.partner_account_id", c.partner_account_id(), 0, 128, false));
  RETURN_IF_ERROR(CheckText("contact.email", c.email(), 0, 254, false));
  if (!c.email().empty() &&
      (c.email().find('@') == std::string::npos || c.email().find(' ') != std::string::npos)) {
    return InvalidField("contact.email", "not an e-mail address");
  }
  if (c.phone().size() > 32 ||
      c.phone().find_first_not_of("+0123456789 -/()") != std::string::npos) {
    return InvalidField("contact.phone",
                        "only digits, spaces and + - / ( ) are allowed, at most 32");
  }
  out.set_first_name(c.first_name());
  out.set_last_name(c.last_name());
  out.set_email(c.email());
  out.set_phone(c.phone());
  out.set_device_id(c.device_id());
  out.set_partner_account_id(c.partner_account_id());
  return out;
}

std::string_view HostOf(std::string_view address) {
  if (!address.starts_with("ipv4:") && !address.starts_with("ipv6:")) return address;
  address.remove_prefix(5);
  const size_t colon = address.rfind(':');
  return colon == std::string_view::npos ? address : address.substr(0, colon);
}

absl::Status CheckMediaUrl(std::string_view url) {
  if (url.empty()) return absl::OkStatus();
  if (url.size() > 2048) return InvalidField("media_url", "longer than 2048 bytes");
  const bool https = url.starts_with("https://");
  if (!https && !url.starts_with("http://"))
    return InvalidField("media_url", "must be an http or https URL");
  const std::string_view rest = url.substr(https ? 8 : 7);
  if (rest.empty() || rest.front() == '/') return InvalidField("media_url", "has no host");
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\') {
      return InvalidField("media_url", "must be a URL-encoded ASCII URL without spaces");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckIdempotencyKey(std::string_view key) {
  if (key.size() > 128) return InvalidField("Idempotency-Key", "longer than 128 characters");
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return InvalidField("Idempotency-Key", "only printable ASCII");
  }
  return absl::OkStatus();
}

absl::StatusOr<StoredRequest> BuildRequest(const v1::CreateRequestRequest& req,
                                           const NewRequestPlace& place) {
  StoredRequest r;
  const bool located =
      req.lat() != 0 || req.long_() != 0 || std::isnan(req.lat()) || std::isnan(req.long_());
  if (located) {
    RETURN_IF_ERROR(CheckCoordinates(req.lat(), req.long_(), "lat", "long"));
    if (!place.area.Contains(req.lat(), req.long_())) {
      return InvalidField("lat", "the location lies outside the city");
    }
    r.set_has_location(true);
    r.set_lat(req.lat());
    r.set_long_(req.long_());
  }
  RETURN_IF_ERROR(CheckText("address", req.address(), 0, 250, false));
  if (!located && infra::TrimAscii(req.address()).empty() && req.address_id().empty()) {
    return InvalidField("lat", "a location (lat and long) or an address is required");
  }
  RETURN_IF_ERROR(CheckText("address_id", req.address_id(), 0, 100, false));
  RETURN_IF_ERROR(CheckText("zipcode", req.zipcode(), 0, 10, false));
  RETURN_IF_ERROR(CheckText("description", req.description(), 0, 4000, true));
  ASSIGN_OR_RETURN(std::string attributes, ValidateAttributes(req.attributes(), place.service));
  ASSIGN_OR_RETURN(std::vector<std::string> media, MediaIds(req));
  RETURN_IF_ERROR(CheckMediaUrl(req.media_url()));
  if (req.has_contact()) {
    ASSIGN_OR_RETURN(*r.mutable_contact(), ContactFromApi(req.contact()));
  }
  r.set_id(place.id);
  r.set_jurisdiction_id(place.jurisdiction);
  r.set_service_code(req.service_code());
  r.set_status(v1::SUBMITTED);
  r.set_description(req.description());
  r.set_address(std::string(infra::TrimAscii(req.address())));
  r.set_address_id(req.address_id());
  r.set_zipcode(req.zipcode());
  for (const auto& id : media) r.add_media_ids(id);
  r.set_media_url(req.media_url());
  r.set_requested_ms(place.now_ms);
  r.set_updated_ms(place.now_ms);
  r.set_expected_ms(place.now_ms + int64_t{place.service.sla_hours()} * 3'600'000);
  r.set_department(place.service.department());
  r.set_attributes(std::move(attributes));
  return r;
}

bool ListFilter::Matches(const StoredRequest& r) const {
  if (!service_codes.empty() && !service_codes.count(r.service_code())) return false;
  if (!statuses.empty() && !statuses.count(r.status())) return false;
  if (r.requested_ms() < since_ms || r.requested_ms() >= until_ms) return false;
  if (!before_id.empty() && r.id() >= before_id) return false;
  if (!department.empty() && r.department() != department) return false;
  if (!district.empty() && r.district() != district) return false;
  if (!assignee.empty() && r.assignee_account_id() != assignee) return false;
  if (overdue && (!IsOpen(static_cast<Status>(r.status())) || r.expected_ms() <= 0 ||
                  r.expected_ms() >= now_ms)) {
    return false;
  }
  if (near && (!r.has_location() || DistanceM(lat, lon, r.lat(), r.long_()) > radius_m))
    return false;
  if (box && (!r.has_location() || r.lat() < min_lat || r.lat() > max_lat || r.long_() < min_lon ||
              r.long_() > max_lon)) {
    return false;
  }
  return true;
}

bool IsAreaList(const v1::ListRequestsRequest& req) {
  return req.request_ids_size() == 0 &&
         (req.has_lat() || req.has_long_() || req.has_radius_m() || req.has_min_lat() ||
          req.has_min_long() || req.has_max_lat() || req.has_max_long());
}

absl::StatusOr<ListFilter> ParseListFilter(const v1::ListRequestsRequest& req) {
  ListFilter f;
  if (req.service_code_size() > 20) return InvalidField("service_code", "at most 20 codes");
  for (const auto& code : req.service_code()) {
    if (!IsServiceCode(code)) return InvalidField("service_code", "malformed");
    f.service_codes.insert(code);
  }
  for (int s : req.status()) {
    if (!v1::Status_IsValid(s) || s == v1::STATUS_UNSPECIFIED) {
      return InvalidField(
          "status",
          "not one of SUBMITTED, ACKNOWLEDGED, IN_PROGRESS, RESOLVED, REJECTED, DUPLICATE, CLOSED");
    }
    f.statuses.insert(s);
  }
  if (req.has_since()) {
    if (!IsValidTimestamp(req.since())) return InvalidField("since", "not a valid time");
    f.since_ms = TimeUtil::TimestampToMilliseconds(req.since());
  }
  if (req.has_until()) {
    if (!IsValidTimestamp(req.until())) return InvalidField("until", "not a valid time");
    f.until_ms = TimeUtil::TimestampToMilliseconds(req.until());
  }
  if (f.since_ms >= f.until_ms) return InvalidField("since", "must be before until");
  RETURN_IF_ERROR(ParseNear(req, &f));
  RETURN_IF_ERROR(ParseBox(req, &f));
  RETURN_IF_ERROR(CheckPageToken(req.page_token()));
  f.before_id = req.page_token();
  if (!req.department().empty() && !infra::IsSlug(req.department(), 64)) {
    return InvalidField("department", "must be 1..64 characters of a-z, 0-9, _ or -");
  }
  f.department = req.department();
  if (!req.district().empty() && !IsServiceCode(req.district())) {
    return InvalidField("district", "must be 1..64 characters of A-Z, a-z, 0-9, _, . or -");
  }
  f.district = req.district();
  if (!req.assignee().empty() && req.assignee() != "me" && !infra::IsUlid(req.assignee())) {
    return InvalidField("assignee", "must be an account id or \"me\"");
  }
  f.assignee = req.assignee();  // the service resolves "me"
  f.overdue = req.overdue();
  if (req.request_ids_size() > 100) return InvalidField("request_ids", "at most 100");
  for (const auto& id : req.request_ids()) {
    if (!infra::IsUlid(id)) return InvalidField("request_ids", "not request ids");
  }
  return f;
}

}  // namespace cityhub::requests
