#pragma once

// Input checks and request building of the requests service: pure functions (no Redis, no
// clock, no gRPC), unit-tested in request_input_test.cc. Every error is INVALID_ARGUMENT whose
// message starts with the field's name.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "cityhub/requests/v1/requests.pb.h"
#include "cityhub/storage/requests.pb.h"
#include "infra/auth/authorizer.h"
#include "services/requests/geo.h"

namespace cityhub::requests {

inline constexpr int kMaxMediaPerRequest = 5;
// A list near a point reaches at most this far.
inline constexpr double kMaxRadiusM = 20'000;

// `text` as a field: UTF-8, between `min` and `max` bytes, line breaks only if `newlines`.
absl::Status CheckText(std::string_view field, const std::string& text, size_t min, size_t max,
                       bool newlines);
// Staff act on requests (status, reroute, assign, moderation, templates, staff comments) only
// with a verified address: an account may be given the operator role before its owner has
// proven the address is theirs. PERMISSION_DENIED otherwise.
absl::Status RequireVerifiedStaff(const infra::auth::Caller& caller);
// request_id: a ULID.
absl::Status CheckRequestId(std::string_view id);
// The contact details a resident gives with a request (contact.*).
absl::StatusOr<cityhub::storage::requests::StoredContact> ContactFromApi(
    const cityhub::requests::v1::ContactDetails& contact);
// media_url: an image hosted elsewhere, an absolute http(s) URL without spaces or control
// characters, at most 2048 bytes; empty is allowed.
absl::Status CheckMediaUrl(std::string_view url);
// An Idempotency-Key header: at most 128 printable ASCII characters; empty when absent.
absl::Status CheckIdempotencyKey(std::string_view key);
// The host part of a client address: the gateway's "203.0.113.7", or gRPC's own peer form
// "ipv4:203.0.113.7:51234" / "ipv6:[::1]:51234" without the port, which changes per connection.
std::string_view HostOf(std::string_view address);

// What a new request is filed into: its category (active, already looked up), the area of its
// jurisdiction, and the id and time it gets.
struct NewRequestPlace {
  const cityhub::storage::requests::StoredService& service;
  const std::string& jurisdiction;
  const Bounds& area;
  std::string id;
  int64_t now_ms = 0;
};

// Checks everything of `req` that needs no lookup (location in the area or an address, texts,
// attributes of the category, photo ids, media_url, contact) and builds the stored request,
// SUBMITTED, without owner or source. Whether the photos exist is the caller's to check.
absl::StatusOr<cityhub::storage::requests::StoredRequest> BuildRequest(
    const cityhub::requests::v1::CreateRequestRequest& req, const NewRequestPlace& place);

// The filters of a list call.
struct ListFilter {
  std::set<std::string> service_codes;
  std::set<int> statuses;
  int64_t since_ms = 0;
  int64_t until_ms = int64_t{1} << 50;
  bool near = false;
  double lat = 0, lon = 0, radius_m = 0;
  bool box = false;
  double min_lat = 0, min_lon = 0, max_lat = 0, max_lon = 0;
  std::string before_id;  // the page token
  // The staff filters (the caller's rights are checked by the service): the department, the
  // assignee's account id ("me" already resolved), and open requests past expected_at.
  std::string department;
  std::string assignee;
  bool overdue = false;
  std::string district;  // #15: requests in this district (an index of its own)
  int64_t now_ms = 0;    // for `overdue`
  bool staff_only() const { return !department.empty() || !assignee.empty() || overdue; }

  bool Matches(const cityhub::storage::requests::StoredRequest& r) const;
};

// Whether a ListRequests call asks for a page near a point or in a box (not by exact ids):
// whenever ParseListFilter accepts such a call, it sets filter.near or filter.box.
bool IsAreaList(const cityhub::requests::v1::ListRequestsRequest& req);

// The filters of a ListRequests call, checked.
absl::StatusOr<ListFilter> ParseListFilter(const cityhub::requests::v1::ListRequestsRequest& req);

// Fills the category names of an event from `service` (null: not in the catalogue).
template <typename Fill>
void FillEventNames(const cityhub::storage::requests::StoredService* service, Fill* out) {
  if (service == nullptr) return;
  out->set_service_name_de(service->name_de());
  out->set_service_name_en(service->name_en());
}

}  // namespace cityhub::requests
