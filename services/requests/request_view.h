#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "cityhub/requests/v1/requests.pb.h"
#include "cityhub/storage/requests.pb.h"
#include "infra/auth/authorizer.h"

// How stored requests look from outside, and the small input rules list calls share.
namespace cityhub::requests {

// Who sees what of a request.
enum class Visibility {
  kPublic,  // anyone: no owner, no contact, public notes only; details per category
  kOwner,   // the resident who filed it: also their own private fields
  kStaff,   // operators of its department and admins: everything, internal notes included
};

Visibility VisibilityFor(const infra::auth::Caller& caller,
                         const cityhub::storage::requests::StoredRequest& r);

// Whether a request's details (description, photos, answers and comments) are shown with
// `visibility`: to the reporter and staff always, to everyone else when the category keeps
// them public (`details_public`) or is no longer in the catalogue (`service` null). The one
// place of this rule: answers, comment lists and the CommentAdded event (which tells webhooks
// and followers) all ask here.
bool ShowsDetails(Visibility visibility, const cityhub::storage::requests::StoredService* service);

// `service` may be null (a category removed since). `base_url` prefixes media URLs. With
// `consumed` (`r` itself, when it was read only to be shown), the request's texts move into
// the answer instead of being copied, and `r` is left without them.
void RequestToApi(const cityhub::storage::requests::StoredRequest& r,
                  const cityhub::storage::requests::StoredService* service, Visibility visibility,
                  std::string_view language, std::string_view base_url,
                  cityhub::requests::v1::ServiceRequest* out,
                  cityhub::storage::requests::StoredRequest* consumed = nullptr);

// The reporter's feedback as the owner and staff see it.
void FeedbackToApi(std::string_view request_id, const cityhub::storage::requests::StoredFeedback& f,
                   cityhub::requests::v1::RequestFeedback* out);

// page_size: 0 → 20; 1..100 as given; anything else INVALID_ARGUMENT.
absl::StatusOr<int> PageSize(int32_t requested);

// "de" (default) or "en"; INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> Language(std::string_view requested);

// A stored comment as the API shows it; `is_own` when the caller wrote it.
void ViewComment(const cityhub::storage::requests::StoredComment& c, bool is_own,
                 cityhub::requests::v1::Comment* out);
// A stored response template as the API shows it.
void ViewTemplate(const cityhub::storage::requests::StoredResponseTemplate& t,
                  cityhub::requests::v1::ResponseTemplate* out);

// A page token is the id of the last item of the previous page (a ULID); empty is the start.
absl::Status CheckPageToken(std::string_view token);

}  // namespace cityhub::requests
