// Moderation (issue #14 B): staff of a request's department, and admins, hide its photos,
// replace its description and hide its comments. Each moderation is one versioned update of
// the request with its audit entry and its RequestModerated event in the same script (outbox);
// nothing removed is kept anywhere, the audit and the event included.
#include <set>

#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/requests/media_store.h"
#include "services/requests/request_input.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

using cityhub::storage::requests::StoredModeration;
using infra::InvalidField;

namespace {

cityhub::events::v1::Event ModeratedEvent(cityhub::events::v1::Event event, const StoredRequest& r,
                                          const StoredModeration& m) {
  auto* e = event.mutable_request_moderated();
  e->set_request_id(r.id());
  e->set_service_code(r.service_code());
  e->set_department(r.department());
  e->set_hidden_media_count(m.hidden_media_ids_size());
  e->set_description_replaced(m.description_replaced());
  e->set_comment_id(m.comment_id());
  return event;
}

}  // namespace

absl::Status RequestsService::DoModerateRequest(grpc::ServerContextBase* ctx,
                                                const v1::ModerateRequestRequest* req,
                                                v1::ServiceRequest* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "ModerateRequest"));
  RETURN_IF_ERROR(RequireVerifiedStaff(caller));
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  if (req->hide_media_ids_size() > kMaxMediaPerRequest)
    return InvalidField("hide_media_ids", "at most 5 photos");
  std::set<std::string> hide;
  for (const auto& id : req->hide_media_ids()) {
    if (!IsMediaId(id)) return InvalidField("hide_media_ids", "not a media id");
    hide.insert(id);
  }
  if (req->has_description())
    RETURN_IF_ERROR(CheckText("description", req->description(), 0, 4000, true));
  RETURN_IF_ERROR(CheckText("reason", req->reason(), 1, 500, true));
  if (hide.empty() && !req->has_description()) {
    return InvalidField("hide_media_ids", "name photos to hide or give a new description");
  }
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto current, deps_.requests.Get(req->request_id()));
    const StoredRequest& before = current.request;
    if (!caller.WorksFor(before.department())) {
      return absl::PermissionDeniedError("only staff of the request's department moderate it");
    }
    std::set<std::string> shown(before.media_ids().begin(), before.media_ids().end());
    std::set<std::string> hidden(before.hidden_media_ids().begin(),
                                 before.hidden_media_ids().end());
    for (const auto& id : hide) {
      if (!shown.contains(id) && !hidden.contains(id))
        return InvalidField("hide_media_ids", "not a photo of this request");
    }
    const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
    StoredRequest after = before;
    after.clear_media_ids();
    for (const auto& id : before.media_ids()) {
      if (!hide.contains(id)) after.add_media_ids(id);
    }
    RequestStore::ExtraWrites extra;
    StoredModeration* m = after.add_moderation();
    m->set_at_ms(now_ms);
    m->set_actor_account_id(caller.account_id);
    m->set_reason(req->reason());
    for (const auto& id : hide) {
      if (!hidden.contains(id)) after.add_hidden_media_ids(id);
      m->add_hidden_media_ids(id);
      extra.ops.push_back(MediaStore::HideCommand(id));
    }
    if (req->has_description()) {
      // Replaced in place: the stored value is the only copy (no event or history holds it).
      after.set_description(req->description());
      m->set_description_replaced(true);
    }
    after.set_updated_ms(now_ms);
    const absl::Status s =
        deps_.requests.Update(current, after, {ModeratedEvent(NewEvent(ctx), after, *m)}, extra);
    if (s.ok()) {
      View(caller, after, "de", response);
      return s;
    }
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
  }
}

absl::Status RequestsService::DoHideComment(grpc::ServerContextBase* ctx,
                                            const v1::HideCommentRequest* req,
                                            v1::Comment* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "HideComment"));
  RETURN_IF_ERROR(RequireVerifiedStaff(caller));
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  if (!infra::IsUlid(req->comment_id())) return InvalidField("comment_id", "not a comment id");
  RETURN_IF_ERROR(CheckText("reason", req->reason(), 1, 500, true));
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto current, deps_.requests.Get(req->request_id()));
    const StoredRequest& before = current.request;
    if (!caller.WorksFor(before.department())) {
      return absl::PermissionDeniedError("only staff of the request's department moderate it");
    }
    ASSIGN_OR_RETURN(auto found, deps_.requests.FindComment(before.id(), req->comment_id()));
    auto& [comment, index] = found;
    // The text goes: a comment is hidden for what it says (insults, someone's personal
    // data), and staff keep the audit, not the words.
    StoredComment hidden = comment;
    hidden.set_hidden(true);
    hidden.clear_text();
    const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
    StoredRequest after = before;
    StoredModeration* m = after.add_moderation();
    m->set_at_ms(now_ms);
    m->set_actor_account_id(caller.account_id);
    m->set_reason(req->reason());
    m->set_comment_id(comment.id());
    RequestStore::ExtraWrites extra;
    RequestStore::ReplaceComment(before.id(), index, comment, hidden, &extra);
    // updated_ms stays: the request itself did not change.
    const absl::Status s =
        deps_.requests.Update(current, after, {ModeratedEvent(NewEvent(ctx), after, *m)}, extra);
    if (s.ok()) {
      ViewComment(hidden, hidden.author_account_id() == caller.account_id, response);
      return s;
    }
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
  }
}

}  // namespace cityhub::requests
