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
      tokens_(settings_.reporter_token_secret.empty() ? infra::RandomBytes(32)
                                                      : settings_.reporter_token_secret),
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
                           v1::ServiceRequest* out, StoredRequest* consumed) {
  const Visibility visibility = VisibilityFor(caller, r);
  if (caller.signed_in()) out->set_is_own(r.account_id() == caller.account_id);
  RequestToApi(r, service, visibility, language, settings_.public_base_url, out, consumed);
}

// ---------------------------------------------------------------------------------------------
// Media

absl::Status RequestsService::DoUploadMedia(grpc::ServerContextBase* ctx,
                                            const v1::UploadMediaRequest* req,
                                            v1::Media* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "UploadMedia"));
  // Anonymous reporters upload too (the gateway gives them their own budget); a signed-in
  // resident verifies their address first, as for everything they publish.
  if (caller.signed_in() && !caller.email_verified) {
    return absl::PermissionDeniedError("verify your e-mail address first");
  }
  ASSIGN_OR_RETURN(auto info, SniffImage(req->file().data()));
  ASSIGN_OR_RETURN(auto stripped, StripMetadata(req->file().data(), info));
  StoredMedia meta;
  meta.set_content_type(info.content_type);
  meta.set_size_bytes(static_cast<int64_t>(stripped.size()));
  meta.set_width(info.width);
  meta.set_height(info.height);
  meta.set_created_ms(infra::UnixMillis(deps_.clock.Now()));
  ASSIGN_OR_RETURN(auto id, deps_.media.Put(stripped, meta));
  response->set_media_id(id);
  response->set_url(StrCat(settings_.public_base_url, "/v1/media/", id));
  response->set_content_type(meta.content_type());
  response->set_size_bytes(meta.size_bytes());
  response->set_width(meta.width());
  response->set_height(meta.height());
  return absl::OkStatus();
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
                              // A photo staff hid is served to staff only (moderation).
                              if (!caller->is_staff()) {
                                auto hidden = deps_.media.Hidden({req->media_id()});
                                if (!hidden.ok()) return hidden.status();
                                if (hidden->front()) return absl::NotFoundError("media not found");
                              }
                              return deps_.media.Open(req->media_id());
                            });
}

absl::Status RequestsService::CheckMediaUsable(const std::vector<std::string>& ids) {
  ASSIGN_OR_RETURN(auto exist, deps_.media.Exist(ids));
  for (bool e : exist) {
    if (!e) return InvalidField("media_ids", "unknown photo; upload it first");
  }
  ASSIGN_OR_RETURN(auto hidden, deps_.media.Hidden(ids));
  for (bool h : hidden) {
    if (h) return InvalidField("media_ids", "this photo was removed by moderation");
  }
  return absl::OkStatus();
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
    const absl::Status status = DoCreateRequest(ctx, &req, &out);
    if (status.ok()) {
      grpc::Slice slice(out.SerializeAsString());
      *response = grpc::ByteBuffer(&slice, 1);
    }
    return Done(ctx, status);
  });
}

absl::Status RequestsService::DoCreateRequest(grpc::ServerContextBase* ctx,
                                              const v1::CreateRequestRequest* req,
                                              v1::ServiceRequest* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "CreateRequest"));
  if (caller.signed_in() && !caller.email_verified) {
    return absl::PermissionDeniedError(
        "verify your e-mail address first, or report without signing in");
  }
  ASSIGN_OR_RETURN(auto language, Language(req->language()));
  ASSIGN_OR_RETURN(auto jurisdiction, Jurisdiction(req->jurisdiction_id()));
  if (req->service_code().empty()) return InvalidField("service_code", "is required");
  if (!IsServiceCode(req->service_code())) return InvalidField("service_code", "malformed");
  auto service = deps_.catalogue.Find(jurisdiction, req->service_code());
  if (!service.ok()) {
    return service.status().code() == absl::StatusCode::kNotFound
               ? InvalidField("service_code", "not in the catalogue")
               : service.status();
  }
  if (!(*service)->active()) return InvalidField("service_code", "no longer accepts requests");
  const std::string idem = infra::IncomingMetadata(*ctx, infra::kIdempotencyKey);
  RETURN_IF_ERROR(CheckIdempotencyKey(idem));

  const auto now = deps_.clock.Now();
  // With a boundary set, it decides (PlaceRequest) instead of the configured rectangle.
  static constexpr Bounds kAnywhere{};
  ASSIGN_OR_RETURN(auto geography, deps_.geography.Current(jurisdiction));
  ASSIGN_OR_RETURN(
      StoredRequest r,
      BuildRequest(*req,
                   {**service, jurisdiction,
                    geography->boundary ? kAnywhere : settings_.jurisdictions.at(jurisdiction),
                    infra::NewUlid(now), infra::UnixMillis(now)}));
  RETURN_IF_ERROR(PlaceRequest(r, (*service)->department()));
  std::vector<std::string> media(r.media_ids().begin(), r.media_ids().end());
  RETURN_IF_ERROR(CheckMediaUsable(media));
  r.set_account_id(caller.account_id);
  const std::string partner =
      caller.internal ? infra::IncomingMetadata(*ctx, "x-cityhub-partner") : "";
  r.set_source(partner.empty() ? "app" : StrCat("open311:", partner));
  if (!partner.empty()) {
    // The key's name as the gateway read it with the key: staff see which partner filed it.
    const std::string name = infra::IncomingMetadata(*ctx, "x-cityhub-partner-name-bin");
    if (!infra::CheckText(name, 1, 200, false)) r.set_partner_name(name);
  }
  r.set_language(language);
  // An anonymous reporter of the app who left an address is asked once to confirm it (double
  // opt-in) before hearing of changes. Partners keep their own users informed.
  const bool mail_reporter = !caller.signed_in() && partner.empty() && !r.contact().email().empty();
  if (mail_reporter) {
    r.set_contact_state(cityhub::storage::requests::REPORTER_CONTACT_UNCONFIRMED);
  }

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
        caller.signed_in()
            ? caller.account_id
            : StrCat("anonymous:", infra::HexEncode(infra::Sha256(HostOf(caller.client_address))));
    idem_key = RequestStore::IdempotencyKey(scope, idem);
  }
  Events events = {event};
  if (mail_reporter) {
    auto added = NewEvent(ctx);
    added.mutable_reporter_contact_added()->set_request_id(r.id());
    events.push_back(std::move(added));
  }
  ASSIGN_OR_RETURN(auto result,
                   deps_.requests.Create(r, events, idem_key, settings_.idempotency_ttl));
  if (result.created) deps_.metrics.Created(r.service_code());
  RETURN_IF_ERROR(EraseIfDeletedMeanwhile(caller));
  // Every answer, first or repeated, is built from what is stored, so retries see the same.
  ASSIGN_OR_RETURN(auto stored, deps_.requests.Get(result.id));
  View(caller, stored.request, language, response);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* RequestsService::GetRequest(grpc::CallbackServerContext* ctx,
                                                      const v1::GetRequestRequest* req,
                                                      v1::ServiceRequest* response) {
  return StartWithoutBlocking(ctx, [=, this](grpc::ServerUnaryReactor* reactor) {
    StartGetRequest(ctx, req, response, reactor);
  });
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
        auto got = std::make_shared<std::pair<VersionedRequest, FollowState>>(std::move(*found));
        const StoredRequest& r = got->first.request;
        // The category when it is cached; else reloading it is a blocking round trip, so the
        // rest of the call moves to the executor.
        auto cached = deps_.catalogue.Cached(r.jurisdiction_id(), r.service_code());
        FinishWithoutBlocking(
            !cached, reactor,
            [this, reactor, response, caller, language, got, cached = std::move(cached)] {
              StoredRequest& r = got->first.request;
              std::shared_ptr<const StoredService> service;
              if (cached) {
                service = *cached;
              } else {
                auto found = deps_.catalogue.Find(r.jurisdiction_id(), r.service_code());
                if (found.ok()) service = *found;
              }
              View(caller, r, service.get(), language, response, &r);
              response->set_follower_count(static_cast<int32_t>(got->second.followers));
              response->set_following(got->second.following);
              reactor->Finish(grpc::Status::OK);
            });
      });
}

absl::Status RequestsService::DoAddMedia(grpc::ServerContextBase* ctx,
                                         const v1::AddMediaRequest* req,
                                         v1::ServiceRequest* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "AddMedia"));
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  if (req->media_ids_size() == 0) return InvalidField("media_ids", "is required");
  for (const auto& id : req->media_ids()) {
    if (!IsMediaId(id)) return InvalidField("media_ids", "not a media id");
  }
  std::vector<std::string> ids(req->media_ids().begin(), req->media_ids().end());
  if (ids.size() > kMaxMediaPerRequest)
    return InvalidField("media_ids", "at most 5 photos per request");
  RETURN_IF_ERROR(CheckMediaUsable(ids));
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto current, deps_.requests.Get(req->request_id()));
    if (current.request.account_id() != caller.account_id) {
      return absl::PermissionDeniedError("only the resident who filed it adds photos");
    }
    StoredRequest after = current.request;
    std::set<std::string> have(after.media_ids().begin(), after.media_ids().end());
    // Hidden by moderation after the check above: still refused.
    const std::set<std::string> hidden(after.hidden_media_ids().begin(),
                                       after.hidden_media_ids().end());
    for (const auto& id : ids) {
      if (hidden.contains(id))
        return InvalidField("media_ids", "this photo was removed by moderation");
    }
    for (const auto& id : ids) {
      if (have.insert(id).second) after.add_media_ids(id);
    }
    if (after.media_ids_size() > kMaxMediaPerRequest) {
      return InvalidField("media_ids", "at most 5 photos per request");
    }
    after.set_updated_ms(infra::UnixMillis(deps_.clock.Now()));
    const absl::Status s = deps_.requests.Update(current, after, {});
    if (s.ok()) {
      View(caller, after, "de", response);
      return absl::OkStatus();
    }
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
  }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

absl::Status RequestsService::Transition(const Caller& caller,
                                         const v1::TransitionRequestRequest& req,
                                         const std::string& trace_id, StoredRequest* result) {
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto current, deps_.requests.Get(req.request_id()));
    const StoredRequest& before = current.request;
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

    const absl::Status s = deps_.requests.Update(current, after, {event});
    if (s.ok()) {
      deps_.metrics.Transition(from, req.status());
      *result = std::move(after);
      return s;
    }
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
  }
}

absl::Status RequestsService::DoTransitionRequest(grpc::ServerContextBase* ctx,
                                                  const v1::TransitionRequestRequest* req,
                                                  v1::ServiceRequest* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "TransitionRequest"));
  RETURN_IF_ERROR(RequireVerifiedStaff(caller));
  RETURN_IF_ERROR(CheckRequestId(req->request_id()));
  if (!v1::Status_IsValid(req->status()) || req->status() == v1::STATUS_UNSPECIFIED) {
    return InvalidField("status", "must be a request status");
  }
  RETURN_IF_ERROR(CheckText("public_note", req->public_note(), 0, 2000, true));
  RETURN_IF_ERROR(CheckText("internal_note", req->internal_note(), 0, 4000, true));
  StoredRequest after;
  RETURN_IF_ERROR(Transition(caller, *req, infra::RequestId(*ctx), &after));
  View(caller, after, "de", response);
  return FillFollowState(caller, response);
}

}  // namespace cityhub::requests
