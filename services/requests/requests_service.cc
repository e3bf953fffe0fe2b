#include "services/requests/requests_service.h"

#include <set>

#include "infra/events/events.h"
#include "infra/grpc/context.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"
#include "services/requests/lifecycle.h"
#include "services/requests/media.h"
#include "services/requests/media_download.h"
#include "services/requests/request_input.h"
#include "services/requests/utf8_check.h"

namespace cityhub::requests {

namespace v1 = cityhub::requests::v1;
using cityhub::storage::requests::StoredChange;
using infra::Done;
using infra::InvalidField;
using infra::StrCat;
using infra::auth::Caller;

RequestsService::RequestsService(RequestsDeps deps, RequestsSettings settings,
                                 std::unique_ptr<infra::BoundedExecutor> executor,
                                 std::unique_ptr<infra::BoundedExecutor> media_executor)
    : deps_(deps),
      settings_(std::move(settings)),
      planner_(deps.requests, deps.clock, settings_.max_geo_candidates),
      media_executor_(std::move(media_executor)),
      executor_(std::move(executor)) {}

cityhub::events::v1::Event RequestsService::NewEvent(grpc::ServerContextBase* ctx) const {
  cityhub::events::v1::Event event;
  infra::events::Stamp(event, deps_.clock, ctx == nullptr ? "" : infra::RequestId(*ctx));
  return event;
}

absl::StatusOr<std::string> RequestsService::Jurisdiction(std::string_view requested) const {
  if (requested.empty()) return settings_.default_jurisdiction;
  if (!settings_.jurisdictions.contains(requested)) {
    return absl::NotFoundError("jurisdiction_id: not served here");
  }
  return std::string(requested);
}

void RequestsService::View(const Caller& caller, const StoredRequest& r, std::string_view language,
                           v1::ServiceRequest* out) {
  auto service = deps_.catalogue.Find(r.jurisdiction_id(), r.service_code());
  View(caller, r, service.ok() ? service->get() : nullptr, language, out);
}

void RequestsService::View(const Caller& caller, const StoredRequest& r,
                           const StoredService* service, std::string_view language,
                           v1::ServiceRequest* out) {
  const Visibility visibility = VisibilityFor(caller, r);
  RequestToApi(r, service, visibility, language, settings_.public_base_url, out);
  if (caller.signed_in()) out->set_is_own(r.account_id() == caller.account_id);
}

// ---------------------------------------------------------------------------------------------
// Media

grpc::Status RequestsService::DoUploadMedia(grpc::ServerContextBase* ctx,
                                            const v1::UploadMediaRequest* req,
                                            v1::Media* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "UploadMedia");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (!caller->email_verified) {
    return Done(ctx, absl::PermissionDeniedError("verify your e-mail address first"));
  }
  auto info = SniffImage(req->file().data());
  if (!info.ok()) return Done(ctx, info.status());
  auto stripped = StripMetadata(req->file().data(), *info);
  if (!stripped.ok()) return Done(ctx, stripped.status());
  StoredMedia meta;
  meta.set_content_type(info->content_type);
  meta.set_size_bytes(static_cast<int64_t>(stripped->size()));
  meta.set_width(info->width);
  meta.set_height(info->height);
  meta.set_created_ms(infra::UnixMillis(deps_.clock.Now()));
  auto id = deps_.media.Put(*stripped, meta);
  if (!id.ok()) return Done(ctx, id.status());
  response->set_media_id(*id);
  response->set_url(StrCat(settings_.public_base_url, "/v1/media/", *id));
  response->set_content_type(meta.content_type());
  response->set_size_bytes(meta.size_bytes());
  response->set_width(meta.width());
  response->set_height(meta.height());
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<cityhub::api::HttpBody>* RequestsService::GetMedia(
    grpc::CallbackServerContext* ctx, const v1::GetMediaRequest* req) {
  // The id is the SHA-256 of the bytes: a strong validator as it is.
  return StartMediaDownload(media_executor_ ? *media_executor_ : *executor_, ctx,
                            {settings_.max_media_reads, &open_media_reads_},
                            StrCat("\"", req->media_id(), "\""),
                            [this, ctx, req]() -> absl::StatusOr<MediaFile> {
                              auto caller = deps_.authorizer.Authorize(*ctx, "GetMedia");
                              if (!caller.ok()) return caller.status();
                              if (!IsMediaId(req->media_id()))
                                return InvalidField("media_id", "not a media id");
                              return deps_.media.Open(req->media_id());
                            });
}

// ---------------------------------------------------------------------------------------------
// Filing and reading requests

grpc::ServerUnaryReactor* RequestsService::CreateRequest(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* request,
                                                         grpc::ByteBuffer* response) {
  return infra::RunOnExecutor(*executor_, ctx, [this, ctx, request, response] {
    v1::CreateRequestRequest req;
    if (auto s = ParseRequest(*request, &req); !s.ok()) return Done(ctx, s);
    v1::ServiceRequest out;
    const grpc::Status status = DoCreateRequest(ctx, &req, &out);
    if (status.ok()) {
      grpc::Slice slice(out.SerializeAsString());
      *response = grpc::ByteBuffer(&slice, 1);
    }
    return status;
  });
}

grpc::Status RequestsService::DoCreateRequest(grpc::ServerContextBase* ctx,
                                              const v1::CreateRequestRequest* req,
                                              v1::ServiceRequest* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "CreateRequest");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (caller->signed_in() && !caller->email_verified) {
    return Done(ctx, absl::PermissionDeniedError(
                         "verify your e-mail address first, or report without signing in"));
  }
  auto language = Language(req->language());
  if (!language.ok()) return Done(ctx, language.status());
  auto jurisdiction = Jurisdiction(req->jurisdiction_id());
  if (!jurisdiction.ok()) return Done(ctx, jurisdiction.status());
  if (req->service_code().empty()) return Done(ctx, InvalidField("service_code", "is required"));
  if (!IsServiceCode(req->service_code()))
    return Done(ctx, InvalidField("service_code", "malformed"));
  auto service = deps_.catalogue.Find(*jurisdiction, req->service_code());
  if (!service.ok()) {
    return Done(ctx, service.status().code() == absl::StatusCode::kNotFound
                         ? InvalidField("service_code", "not in the catalogue")
                         : service.status());
  }
  if (!(*service)->active())
    return Done(ctx, InvalidField("service_code", "no longer accepts requests"));
  const std::string idem = infra::IncomingMetadata(*ctx, infra::kIdempotencyKey);
  if (auto s = CheckIdempotencyKey(idem); !s.ok()) return Done(ctx, s);

  const auto now = deps_.clock.Now();
  auto built =
      BuildRequest(*req, {**service, *jurisdiction, settings_.jurisdictions.at(*jurisdiction),
                          infra::NewUlid(now), infra::UnixMillis(now)});
  if (!built.ok()) return Done(ctx, built.status());
  StoredRequest& r = *built;
  std::vector<std::string> media(r.media_ids().begin(), r.media_ids().end());
  auto exist = deps_.media.Exist(media);
  if (!exist.ok()) return Done(ctx, exist.status());
  for (bool e : *exist) {
    if (!e) return Done(ctx, InvalidField("media_ids", "unknown photo; upload it first"));
  }
  r.set_account_id(caller->account_id);
  const std::string partner =
      caller->internal ? infra::IncomingMetadata(*ctx, "x-cityhub-partner") : "";
  r.set_source(partner.empty() ? "app" : StrCat("open311:", partner));

  auto event = NewEvent(ctx);
  auto* created = event.mutable_request_created();
  created->set_request_id(r.id());
  created->set_service_code(r.service_code());
  created->set_department(r.department());
  created->set_owner_account_id(r.account_id());
  created->set_lat(r.lat());
  created->set_long_(r.long_());
  created->set_address(r.address());
  created->set_jurisdiction_id(r.jurisdiction_id());
  created->set_status(v1::SUBMITTED);
  FillEventNames(service->get(), created);

  std::string idem_key;
  if (!idem.empty()) {
    // Anonymous callers are told apart by address (as the gateway reports it), so that two
    // residents who happen to send one key never get each other's answer.
    const std::string scope =
        caller->signed_in()
            ? caller->account_id
            : StrCat("anonymous:", infra::HexEncode(infra::Sha256(HostOf(caller->client_address))));
    idem_key = RequestStore::IdempotencyKey(scope, idem);
  }
  auto result = deps_.requests.Create(r, {event}, idem_key, settings_.idempotency_ttl);
  if (!result.ok()) return Done(ctx, result.status());
  if (auto s = EraseIfDeletedMeanwhile(*caller); !s.ok()) return Done(ctx, s);
  // Every answer, first or repeated, is built from what is stored, so retries see the same.
  auto stored = deps_.requests.Get(result->id);
  if (!stored.ok()) return Done(ctx, stored.status());
  View(*caller, stored->request, *language, response);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* RequestsService::GetRequest(grpc::CallbackServerContext* ctx,
                                                      const v1::GetRequestRequest* req,
                                                      v1::ServiceRequest* response) {
  auto* reactor = ctx->DefaultReactor();
  if (deps_.authorizer.MayBlock(*ctx)) {
    // The token names a key not known yet: fetching the keys is an outbound call, which the
    // callback thread must not wait for.
    if (!executor_->TryPost([=, this] { StartGetRequest(ctx, req, response, reactor); })) {
      reactor->Finish(infra::BusyStatus());
    }
    return reactor;
  }
  StartGetRequest(ctx, req, response, reactor);
  return reactor;
}

void RequestsService::StartGetRequest(grpc::CallbackServerContext* ctx,
                                      const v1::GetRequestRequest* req,
                                      v1::ServiceRequest* response,
                                      grpc::ServerUnaryReactor* reactor) {
  auto caller = deps_.authorizer.Authorize(*ctx, "GetRequest");
  if (!caller.ok()) return reactor->Finish(Done(ctx, caller.status()));
  if (auto s = CheckRequestId(req->request_id()); !s.ok()) return reactor->Finish(Done(ctx, s));
  auto language = Language(req->language());
  if (!language.ok()) return reactor->Finish(Done(ctx, language.status()));
  const std::string account = caller->account_id;
  // The reply arrives on the async client's reader thread, which must not block.
  deps_.requests.GetWithFollowersAsync(
      req->request_id(), account,
      [this, ctx, reactor, response, caller = std::move(*caller), language = std::move(*language)](
          absl::StatusOr<std::pair<VersionedRequest, FollowState>> found) {
        if (!found.ok()) {
          reactor->Finish(Done(ctx, found.status()));
          return;
        }
        auto got =
            std::make_shared<const std::pair<VersionedRequest, FollowState>>(std::move(*found));
        auto finish = [this, reactor, response, caller, language,
                       got](const StoredService* service) {
          View(caller, got->first.request, service, language, response);
          response->set_follower_count(static_cast<int32_t>(got->second.followers));
          response->set_following(got->second.following);
          reactor->Finish(grpc::Status::OK);
        };
        const StoredRequest& r = got->first.request;
        if (auto cached = deps_.catalogue.Cached(r.jurisdiction_id(), r.service_code())) {
          finish(cached->get());
          return;
        }
        // The category is not cached (or is stale): reloading it is a blocking round trip,
        // so the rest of the call moves to the executor.
        const bool queued = executor_->TryPost([this, finish, got] {
          const StoredRequest& r = got->first.request;
          auto service = deps_.catalogue.Find(r.jurisdiction_id(), r.service_code());
          finish(service.ok() ? service->get() : nullptr);
        });
        if (!queued) reactor->Finish(infra::BusyStatus());
      });
}

grpc::Status RequestsService::DoAddMedia(grpc::ServerContextBase* ctx,
                                         const v1::AddMediaRequest* req,
                                         v1::ServiceRequest* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "AddMedia");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (auto s = CheckRequestId(req->request_id()); !s.ok()) return Done(ctx, s);
  if (req->media_ids_size() == 0) return Done(ctx, InvalidField("media_ids", "is required"));
  for (const auto& id : req->media_ids()) {
    if (!IsMediaId(id)) return Done(ctx, InvalidField("media_ids", "not a media id"));
  }
  std::vector<std::string> ids(req->media_ids().begin(), req->media_ids().end());
  if (ids.size() > kMaxMediaPerRequest)
    return Done(ctx, InvalidField("media_ids", "at most 5 photos per request"));
  auto exist = deps_.media.Exist(ids);
  if (!exist.ok()) return Done(ctx, exist.status());
  for (bool e : *exist) {
    if (!e) return Done(ctx, InvalidField("media_ids", "unknown photo; upload it first"));
  }
  for (int attempt = 0;; ++attempt) {
    auto current = deps_.requests.Get(req->request_id());
    if (!current.ok()) return Done(ctx, current.status());
    if (current->request.account_id() != caller->account_id) {
      return Done(ctx, absl::PermissionDeniedError("only the resident who filed it adds photos"));
    }
    StoredRequest after = current->request;
    std::set<std::string> have(after.media_ids().begin(), after.media_ids().end());
    for (const auto& id : ids) {
      if (have.insert(id).second) after.add_media_ids(id);
    }
    if (after.media_ids_size() > kMaxMediaPerRequest) {
      return Done(ctx, InvalidField("media_ids", "at most 5 photos per request"));
    }
    after.set_updated_ms(infra::UnixMillis(deps_.clock.Now()));
    const absl::Status s = deps_.requests.Update(*current, after, {});
    if (s.ok()) {
      View(*caller, after, "de", response);
      return grpc::Status::OK;
    }
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return Done(ctx, s);
  }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

absl::Status RequestsService::Transition(const Caller& caller,
                                         const v1::TransitionRequestRequest& req,
                                         const std::string& trace_id, StoredRequest* result) {
  for (int attempt = 0;; ++attempt) {
    auto current = deps_.requests.Get(req.request_id());
    if (!current.ok()) return current.status();
    const StoredRequest& before = current->request;
    if (!caller.WorksFor(before.department())) {
      return absl::PermissionDeniedError(
          "only staff of the request's department change its status");
    }
    const auto from = static_cast<v1::Status>(before.status());
    if (!CanTransition(from, req.status())) {
      return absl::FailedPreconditionError(StrCat("status: a request cannot go from ",
                                                  v1::Status_Name(from), " to ",
                                                  v1::Status_Name(req.status())));
    }
    if (req.status() == v1::DUPLICATE) {
      if (!infra::IsUlid(req.duplicate_of()) || req.duplicate_of() == before.id()) {
        return InvalidField("duplicate_of", "must name another request");
      }
      auto original = deps_.requests.Get(req.duplicate_of());
      if (!original.ok()) {
        return original.status().code() == absl::StatusCode::kNotFound
                   ? InvalidField("duplicate_of", "no such request")
                   : original.status();
      }
    } else if (!req.duplicate_of().empty()) {
      return InvalidField("duplicate_of", "only for status DUPLICATE");
    }
    const int64_t now_ms = infra::UnixMillis(deps_.clock.Now());
    StoredRequest after = before;
    after.set_status(req.status());
    after.set_status_notes(req.public_note());
    after.set_updated_ms(now_ms);
    if (req.status() == v1::DUPLICATE) after.set_duplicate_of(req.duplicate_of());
    StoredChange* change = after.add_history();
    change->set_from_status(from);
    change->set_to_status(req.status());
    change->set_at_ms(now_ms);
    change->set_public_note(req.public_note());
    change->set_internal_note(req.internal_note());
    change->set_actor_account_id(caller.account_id);
    change->set_duplicate_of(req.duplicate_of());

    cityhub::events::v1::Event event;
    infra::events::Stamp(event, deps_.clock, trace_id);
    auto* changed = event.mutable_request_status_changed();
    changed->set_request_id(after.id());
    changed->set_service_code(after.service_code());
    changed->set_department(after.department());
    changed->set_owner_account_id(after.account_id());
    changed->set_from_status(from);
    changed->set_to_status(req.status());
    changed->set_public_note(req.public_note());  // never the internal note
    auto service = deps_.catalogue.Find(after.jurisdiction_id(), after.service_code());
    FillEventNames(service.ok() ? service->get() : nullptr, changed);

    const absl::Status s = deps_.requests.Update(*current, after, {event});
    if (s.ok()) {
      *result = std::move(after);
      return s;
    }
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
  }
}

grpc::Status RequestsService::DoTransitionRequest(grpc::ServerContextBase* ctx,
                                                  const v1::TransitionRequestRequest* req,
                                                  v1::ServiceRequest* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "TransitionRequest");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (auto s = CheckRequestId(req->request_id()); !s.ok()) return Done(ctx, s);
  if (!v1::Status_IsValid(req->status()) || req->status() == v1::STATUS_UNSPECIFIED) {
    return Done(ctx, InvalidField("status", "must be a request status"));
  }
  if (auto s = CheckText("public_note", req->public_note(), 0, 2000, true); !s.ok())
    return Done(ctx, s);
  if (auto s = CheckText("internal_note", req->internal_note(), 0, 4000, true); !s.ok())
    return Done(ctx, s);
  StoredRequest after;
  if (auto s = Transition(*caller, *req, infra::RequestId(*ctx), &after); !s.ok())
    return Done(ctx, s);
  View(*caller, after, "de", response);
  return grpc::Status::OK;
}

}  // namespace cityhub::requests
