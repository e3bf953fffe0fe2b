// Comments and follows of the requests service.
#include <charconv>

#include <google/protobuf/util/time_util.h>

#include "infra/ids.h"
#include "infra/status.h"
#include "services/requests/request_input.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

using infra::Done;
using infra::InvalidField;

absl::Status RequestsService::DoAddComment(grpc::ServerContextBase* ctx,
                                           const v1::AddCommentRequest* req,
                                           v1::Comment* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "AddComment"));
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  RETURN_IF_ERROR(CheckText("text", req->text(), 1, 2000, true));
  ASSIGN_OR_RETURN(auto current, deps_.requests.Get(req->request_id()));
  const StoredRequest& r = current.request;
  const bool staff = caller.WorksFor(r.department());
  if (!staff && r.account_id() != caller.account_id) {
    return absl::PermissionDeniedError("only the resident who filed it and staff comment");
  }
  if (!caller.email_verified) {
    return absl::PermissionDeniedError(
        staff ? "verify your e-mail address before you act on requests as staff"
              : "verify your e-mail address first");
  }
  const auto now = deps_.clock.Now();
  StoredComment comment;
  comment.set_id(infra::NewUlid(now));
  comment.set_request_id(r.id());
  comment.set_text(req->text());
  comment.set_author_account_id(caller.account_id);
  comment.set_author_role(staff ? "staff" : "resident");
  comment.set_created_ms(infra::UnixMillis(now));
  auto event = NewEvent(ctx);
  auto* added = event.mutable_comment_added();
  added->set_request_id(r.id());
  added->set_comment_id(comment.id());
  added->set_service_code(r.service_code());
  added->set_department(r.department());
  added->set_owner_account_id(r.account_id());
  added->set_author_account_id(caller.account_id);
  added->set_author_role(comment.author_role());
  added->set_text(comment.text());
  auto service = deps_.catalogue.Find(r.jurisdiction_id(), r.service_code());
  // Unknown: a removed category. Any other error must not count as public.
  if (!service.ok() && service.status().code() != absl::StatusCode::kNotFound)
    return service.status();
  FillEventNames(service.ok() ? service->get() : nullptr, added);
  added->set_details_public(
      ShowsDetails(Visibility::kPublic, service.ok() ? service->get() : nullptr));
  RETURN_IF_ERROR(deps_.requests.AddComment(comment, {event}));
  deps_.metrics.Commented();
  RETURN_IF_ERROR(EraseIfDeletedMeanwhile(caller));
  ViewComment(comment, true, response);
  return absl::OkStatus();
}

absl::Status RequestsService::DoListComments(grpc::ServerContextBase* ctx,
                                             const v1::ListCommentsRequest* req,
                                             v1::ListCommentsResponse* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "ListComments"));
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  ASSIGN_OR_RETURN(auto page_size, PageSize(req->page_size()));
  int64_t start = 0;
  if (!req->page_token().empty()) {
    auto [ptr, ec] = std::from_chars(req->page_token().data(),
                                     req->page_token().data() + req->page_token().size(), start);
    if (ec != std::errc() || ptr != req->page_token().data() + req->page_token().size() ||
        start < 0 || start > RequestStore::kMaxComments) {
      return InvalidField("page_token", "not a token from a previous page");
    }
  }
  ASSIGN_OR_RETURN(auto exists, deps_.requests.Get(req->request_id()));
  // Comments are details: where the category keeps those to the reporter and staff, everyone
  // else sees an empty list.
  auto service =
      deps_.catalogue.Find(exists.request.jurisdiction_id(), exists.request.service_code());
  if (!service.ok() && service.status().code() != absl::StatusCode::kNotFound)
    return service.status();
  const Visibility visibility = VisibilityFor(caller, exists.request);
  if (!ShowsDetails(visibility, service.ok() ? service->get() : nullptr)) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(auto comments, deps_.requests.Comments(req->request_id(), start, page_size + 1));
  const bool more = static_cast<int>(comments.size()) > page_size;
  if (more) comments.resize(page_size);
  for (const auto& c : comments) {
    // Hidden comments (moderation) leave every list but staff's, where they show as hidden.
    if (c.hidden() && visibility != Visibility::kStaff) continue;
    ViewComment(c, caller.signed_in() && c.author_account_id() == caller.account_id,
                response->add_comments());
  }
  if (more) response->set_next_page_token(std::to_string(start + page_size));
  return absl::OkStatus();
}

absl::Status RequestsService::DoFollowRequest(grpc::ServerContextBase* ctx,
                                              const v1::FollowRequestRequest* req,
                                              v1::FollowResponse* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "FollowRequest"));
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  if (!caller.email_verified)
    return absl::PermissionDeniedError("verify your e-mail address first");
  auto event = NewEvent(ctx);
  event.mutable_request_followed()->set_request_id(req->request_id());
  event.mutable_request_followed()->set_account_id(caller.account_id);
  ASSIGN_OR_RETURN(auto state,
                   deps_.requests.Follow(req->request_id(), caller.account_id, true, {event}));
  RETURN_IF_ERROR(EraseIfDeletedMeanwhile(caller));
  response->set_following(state.following);
  response->set_follower_count(static_cast<int32_t>(state.followers));
  return absl::OkStatus();
}

absl::Status RequestsService::DoUnfollowRequest(grpc::ServerContextBase* ctx,
                                                const v1::UnfollowRequestRequest* req,
                                                v1::FollowResponse* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "UnfollowRequest"));
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  auto event = NewEvent(ctx);
  event.mutable_request_unfollowed()->set_request_id(req->request_id());
  event.mutable_request_unfollowed()->set_account_id(caller.account_id);
  ASSIGN_OR_RETURN(auto state,
                   deps_.requests.Follow(req->request_id(), caller.account_id, false, {event}));
  response->set_following(state.following);
  response->set_follower_count(static_cast<int32_t>(state.followers));
  return absl::OkStatus();
}

}  // namespace cityhub::requests
