#include "services/requests/requests_service.h"

#include <cmath>
#include <set>

#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "infra/events/events.h"
#include "infra/grpc/context.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"
#include "services/requests/attributes.h"
#include "services/requests/lifecycle.h"
#include "services/requests/media.h"
#include "services/requests/media_download.h"
#include "services/requests/utf8_check.h"

namespace cityhub::requests {

using cityhub::storage::requests::StoredChange;
using cityhub::storage::requests::StoredContact;
using google::protobuf::util::TimeUtil;
using infra::Done;
using infra::InvalidField;
using infra::StrCat;
using infra::auth::Caller;

namespace {

constexpr int kMaxMediaPerRequest = 5;

absl::Status CheckText(const std::string& field, const std::string& text, size_t min, size_t max,
                       bool newlines) {
  if (auto problem = infra::CheckText(text, min, max, newlines))
    return InvalidField(field, *problem);
  return absl::OkStatus();
}

absl::Status CheckRequestId(std::string_view id) {
  if (!infra::IsUlid(id)) return InvalidField("request_id", "not a request id");
  return absl::OkStatus();
}

absl::StatusOr<StoredContact> ContactFromApi(const v1::ContactDetails& c) {
  StoredContact out;
  if (auto s = CheckText("contact.first_name", c.first_name(), 0, 100, false); !s.ok()) return s;
  if (auto s = CheckText("contact.last_name", c.last_name(), 0, 100, false); !s.ok()) return s;
  if (auto s = CheckText("contact.device_id", c.device_id(), 0, 128, false); !s.ok()) return s;
  if (auto s = CheckText("contact.partner_account_id", c.partner_account_id(), 0, 128, false);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckText("contact.email", c.email(), 0, 254, false); !s.ok()) return s;
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

// The host part of a client address: the gateway's "203.0.113.7", or gRPC's own peer form
// "ipv4:203.0.113.7:51234" / "ipv6:[::1]:51234" without the port, which changes per connection.
std::string_view HostOf(std::string_view address) {
  if (!address.starts_with("ipv4:") && !address.starts_with("ipv6:")) return address;
  address.remove_prefix(5);
  const size_t colon = address.rfind(':');
  return colon == std::string_view::npos ? address : address.substr(0, colon);
}

// An image hosted elsewhere: an absolute http(s) URL without spaces or control characters.
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

// The Idempotency-Key of a call: at most 128 printable ASCII characters; empty when absent.
absl::StatusOr<std::string> IdempotencyKey(const grpc::ServerContextBase& ctx) {
  const std::string key = infra::IncomingMetadata(ctx, infra::kIdempotencyKey);
  if (key.size() > 128) return InvalidField("Idempotency-Key", "longer than 128 characters");
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return InvalidField("Idempotency-Key", "only printable ASCII");
  }
  return key;
}

template <typename Fill>
void FillEventNames(const StoredService* service, Fill* out) {
  if (service == nullptr) return;
  out->set_service_name_de(service->name_de());
  out->set_service_name_en(service->name_en());
}

}  // namespace

RequestsService::RequestsService(RequestsDeps deps, RequestsSettings settings,
                                 std::unique_ptr<infra::BoundedExecutor> executor,
                                 std::unique_ptr<infra::BoundedExecutor> media_executor)
    : deps_(deps),
      settings_(std::move(settings)),
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
// Catalogue

grpc::Status RequestsService::DoListServices(grpc::ServerContextBase* ctx,
                                             const v1::ListServicesRequest* req,
                                             v1::ListServicesResponse* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "ListServices");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto jurisdiction = Jurisdiction(req->jurisdiction_id());
  if (!jurisdiction.ok()) return Done(ctx, jurisdiction.status());
  auto language = Language(req->language());
  if (!language.ok()) return Done(ctx, language.status());
  auto services = deps_.catalogue.All(*jurisdiction);
  if (!services.ok()) return Done(ctx, services.status());
  for (const auto& s : *services) {
    if (s->active() || caller->is_admin()) *response->add_services() = ServiceToApi(*s, *language);
  }
  return grpc::Status::OK;
}

grpc::Status RequestsService::DoGetService(grpc::ServerContextBase* ctx,
                                           const v1::GetServiceRequest* req,
                                           v1::Service* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "GetService");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto jurisdiction = Jurisdiction(req->jurisdiction_id());
  if (!jurisdiction.ok()) return Done(ctx, jurisdiction.status());
  auto language = Language(req->language());
  if (!language.ok()) return Done(ctx, language.status());
  if (!IsServiceCode(req->service_code()))
    return Done(ctx, InvalidField("service_code", "malformed"));
  auto service = deps_.catalogue.Find(*jurisdiction, req->service_code());
  if (!service.ok()) return Done(ctx, service.status());
  *response = ServiceToApi(**service, *language);
  return grpc::Status::OK;
}

grpc::Status RequestsService::DoCreateService(grpc::ServerContextBase* ctx,
                                              const v1::CreateServiceRequest* req,
                                              v1::Service* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "CreateService");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto jurisdiction = Jurisdiction(req->service().jurisdiction_id());
  if (!jurisdiction.ok()) return Done(ctx, jurisdiction.status());
  auto stored = ServiceFromApi(req->service(), *jurisdiction);
  if (!stored.ok()) return Done(ctx, stored.status());
  const int64_t now = infra::UnixMillis(deps_.clock.Now());
  stored->set_created_ms(now);
  stored->set_updated_ms(now);
  if (auto s = deps_.catalogue_store.Create(*stored); !s.ok()) return Done(ctx, s);
  deps_.catalogue.Invalidate(*jurisdiction);
  *response = ServiceToApi(*stored, "de");
  return grpc::Status::OK;
}

grpc::Status RequestsService::DoUpdateService(grpc::ServerContextBase* ctx,
                                              const v1::UpdateServiceRequest* req,
                                              v1::Service* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "UpdateService");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto jurisdiction = Jurisdiction(req->service().jurisdiction_id());
  if (!jurisdiction.ok()) return Done(ctx, jurisdiction.status());
  if (!IsServiceCode(req->service_code()))
    return Done(ctx, InvalidField("service_code", "malformed"));
  if (!req->service().service_code().empty() &&
      req->service().service_code() != req->service_code()) {
    return Done(ctx, InvalidField("service.service_code", "cannot be changed"));
  }
  auto current = deps_.catalogue_store.Get(*jurisdiction, req->service_code());
  if (!current.ok()) return Done(ctx, current.status());
  // Merge the named fields (or every field given) into the current form, lists replaced.
  v1::Service merged = ServiceToApi(*current, "de");
  google::protobuf::FieldMask mask = req->update_mask();
  if (mask.paths_size() == 0) {
    std::vector<const google::protobuf::FieldDescriptor*> present;
    req->service().GetReflection()->ListFields(req->service(), &present);
    for (const auto* f : present) mask.add_paths(f->name());
  }
  for (const auto& path : mask.paths()) {
    if (path == "service_code" || path == "jurisdiction_id" || path == "name" ||
        path == "description" || path == "service_notice") {
      continue;  // identity and output-only fields
    }
    if (!google::protobuf::util::FieldMaskUtil::GetFieldDescriptors(v1::Service::descriptor(), path,
                                                                    nullptr)) {
      return Done(ctx, InvalidField("update_mask", StrCat("unknown field ", path)));
    }
    google::protobuf::FieldMask one;
    one.add_paths(path);
    google::protobuf::util::FieldMaskUtil::MergeOptions options;
    options.set_replace_repeated_fields(true);
    options.set_replace_message_fields(true);
    google::protobuf::util::FieldMaskUtil::MergeMessageTo(req->service(), one, options, &merged);
  }
  auto stored = ServiceFromApi(merged, *jurisdiction);
  if (!stored.ok()) return Done(ctx, stored.status());
  stored->set_created_ms(current->created_ms());
  stored->set_updated_ms(infra::UnixMillis(deps_.clock.Now()));
  if (auto s = deps_.catalogue_store.Update(*stored); !s.ok()) return Done(ctx, s);
  deps_.catalogue.Invalidate(*jurisdiction);
  *response = ServiceToApi(*stored, "de");
  return grpc::Status::OK;
}

absl::StatusOr<int> RequestsService::SeedCatalogue(const std::string& json,
                                                   const std::string& jurisdiction) {
  auto existing = deps_.catalogue_store.List(jurisdiction);
  if (!existing.ok()) return existing.status();
  if (!existing->empty()) return 0;
  v1::ListServicesResponse seed;
  const auto parsed =
      google::protobuf::util::JsonStringToMessage(StrCat("{\"services\":", json, "}"), &seed);
  if (!parsed.ok())
    return absl::InvalidArgumentError(StrCat("catalogue seed: ", parsed.message().as_string()));
  int created = 0;
  const int64_t now = infra::UnixMillis(deps_.clock.Now());
  for (const auto& service : seed.services()) {
    auto stored = ServiceFromApi(service, jurisdiction);
    if (!stored.ok())
      return absl::InvalidArgumentError(
          StrCat("catalogue seed ", service.service_code(), ": ", stored.status().message()));
    stored->set_created_ms(now);
    stored->set_updated_ms(now);
    const absl::Status s = deps_.catalogue_store.Create(*stored);
    if (s.ok())
      ++created;
    else if (s.code() != absl::StatusCode::kAlreadyExists)
      return s;
  }
  deps_.catalogue.Invalidate(jurisdiction);
  return created;
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
  auto idem = IdempotencyKey(*ctx);
  if (!idem.ok()) return Done(ctx, idem.status());

  StoredRequest r;
  const bool located =
      req->lat() != 0 || req->long_() != 0 || std::isnan(req->lat()) || std::isnan(req->long_());
  if (located) {
    if (auto s = CheckCoordinates(req->lat(), req->long_(), "lat", "long"); !s.ok())
      return Done(ctx, s);
    if (!settings_.jurisdictions.at(*jurisdiction).Contains(req->lat(), req->long_())) {
      return Done(ctx, InvalidField("lat", "the location lies outside the city's area"));
    }
    r.set_has_location(true);
    r.set_lat(req->lat());
    r.set_long_(req->long_());
  }
  if (auto s = CheckText("address", req->address(), 0, 250, false); !s.ok()) return Done(ctx, s);
  if (!located && infra::TrimAscii(req->address()).empty() && req->address_id().empty()) {
    return Done(ctx, InvalidField("lat", "a location (lat and long) or an address is required"));
  }
  if (auto s = CheckText("address_id", req->address_id(), 0, 100, false); !s.ok())
    return Done(ctx, s);
  if (auto s = CheckText("zipcode", req->zipcode(), 0, 10, false); !s.ok()) return Done(ctx, s);
  if (auto s = CheckText("description", req->description(), 0, 4000, true); !s.ok())
    return Done(ctx, s);
  auto attributes = ValidateAttributes(req->attributes(), **service);
  if (!attributes.ok()) return Done(ctx, attributes.status());
  if (req->media_ids_size() > kMaxMediaPerRequest) {
    return Done(ctx, InvalidField("media_ids", "at most 5 photos per request"));
  }
  std::vector<std::string> media(req->media_ids().begin(), req->media_ids().end());
  for (const auto& id : media) {
    if (!IsMediaId(id)) return Done(ctx, InvalidField("media_ids", "not a media id"));
  }
  if (std::set<std::string>(media.begin(), media.end()).size() != media.size()) {
    return Done(ctx, InvalidField("media_ids", "lists a photo twice"));
  }
  auto exist = deps_.media.Exist(media);
  if (!exist.ok()) return Done(ctx, exist.status());
  for (bool e : *exist) {
    if (!e) return Done(ctx, InvalidField("media_ids", "unknown photo; upload it first"));
  }
  if (auto s = CheckMediaUrl(req->media_url()); !s.ok()) return Done(ctx, s);
  if (req->has_contact()) {
    auto contact = ContactFromApi(req->contact());
    if (!contact.ok()) return Done(ctx, contact.status());
    *r.mutable_contact() = *contact;
  }

  const auto now = deps_.clock.Now();
  const int64_t now_ms = infra::UnixMillis(now);
  r.set_id(infra::NewUlid(now));
  r.set_jurisdiction_id(*jurisdiction);
  r.set_service_code(req->service_code());
  r.set_status(v1::SUBMITTED);
  r.set_description(req->description());
  r.set_address(std::string(infra::TrimAscii(req->address())));
  r.set_address_id(req->address_id());
  r.set_zipcode(req->zipcode());
  for (const auto& id : media) r.add_media_ids(id);
  r.set_media_url(req->media_url());
  r.set_requested_ms(now_ms);
  r.set_updated_ms(now_ms);
  r.set_expected_ms(now_ms + int64_t{(*service)->sla_hours()} * 3'600'000);
  r.set_department((*service)->department());
  r.set_attributes(*attributes);
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
  if (!idem->empty()) {
    // Anonymous callers are told apart by address (as the gateway reports it), so that two
    // residents who happen to send one key never get each other's answer.
    const std::string scope =
        caller->signed_in()
            ? caller->account_id
            : StrCat("anonymous:", infra::HexEncode(infra::Sha256(HostOf(caller->client_address))));
    idem_key = RequestStore::IdempotencyKey(scope, *idem);
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

// ---------------------------------------------------------------------------------------------
// Comments and follows

grpc::Status RequestsService::DoAddComment(grpc::ServerContextBase* ctx,
                                           const v1::AddCommentRequest* req,
                                           v1::Comment* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "AddComment");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (auto s = CheckRequestId(req->request_id()); !s.ok()) return Done(ctx, s);
  if (auto s = CheckText("text", req->text(), 1, 2000, true); !s.ok()) return Done(ctx, s);
  auto current = deps_.requests.Get(req->request_id());
  if (!current.ok()) return Done(ctx, current.status());
  const StoredRequest& r = current->request;
  const bool staff = caller->WorksFor(r.department());
  if (!staff && r.account_id() != caller->account_id) {
    return Done(ctx,
                absl::PermissionDeniedError("only the resident who filed it and staff comment"));
  }
  if (!staff && !caller->email_verified) {
    return Done(ctx, absl::PermissionDeniedError("verify your e-mail address first"));
  }
  const auto now = deps_.clock.Now();
  StoredComment comment;
  comment.set_id(infra::NewUlid(now));
  comment.set_request_id(r.id());
  comment.set_text(req->text());
  comment.set_author_account_id(caller->account_id);
  comment.set_author_role(staff ? "staff" : "resident");
  comment.set_created_ms(infra::UnixMillis(now));
  auto event = NewEvent(ctx);
  auto* added = event.mutable_comment_added();
  added->set_request_id(r.id());
  added->set_comment_id(comment.id());
  added->set_service_code(r.service_code());
  added->set_department(r.department());
  added->set_owner_account_id(r.account_id());
  added->set_author_account_id(caller->account_id);
  added->set_author_role(comment.author_role());
  added->set_text(comment.text());
  auto service = deps_.catalogue.Find(r.jurisdiction_id(), r.service_code());
  // Unknown: a removed category. Any other error must not count as public.
  if (!service.ok() && service.status().code() != absl::StatusCode::kNotFound)
    return Done(ctx, service.status());
  FillEventNames(service.ok() ? service->get() : nullptr, added);
  added->set_details_public(
      ShowsDetails(Visibility::kPublic, service.ok() ? service->get() : nullptr));
  if (auto s = deps_.requests.AddComment(comment, {event}); !s.ok()) return Done(ctx, s);
  if (auto s = EraseIfDeletedMeanwhile(*caller); !s.ok()) return Done(ctx, s);
  response->set_comment_id(comment.id());
  response->set_request_id(comment.request_id());
  response->set_text(comment.text());
  response->set_author_role(comment.author_role());
  *response->mutable_created_at() = TimeUtil::MillisecondsToTimestamp(comment.created_ms());
  response->set_is_own(true);
  return grpc::Status::OK;
}

grpc::Status RequestsService::DoListComments(grpc::ServerContextBase* ctx,
                                             const v1::ListCommentsRequest* req,
                                             v1::ListCommentsResponse* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "ListComments");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (auto s = CheckRequestId(req->request_id()); !s.ok()) return Done(ctx, s);
  auto page_size = PageSize(req->page_size());
  if (!page_size.ok()) return Done(ctx, page_size.status());
  int64_t start = 0;
  if (!req->page_token().empty()) {
    auto [ptr, ec] = std::from_chars(req->page_token().data(),
                                     req->page_token().data() + req->page_token().size(), start);
    if (ec != std::errc() || ptr != req->page_token().data() + req->page_token().size() ||
        start < 0 || start > RequestStore::kMaxComments) {
      return Done(ctx, InvalidField("page_token", "not a token from a previous page"));
    }
  }
  auto exists = deps_.requests.Get(req->request_id());
  if (!exists.ok()) return Done(ctx, exists.status());
  // Comments are details: where the category keeps those to the reporter and staff, everyone
  // else sees an empty list.
  auto service =
      deps_.catalogue.Find(exists->request.jurisdiction_id(), exists->request.service_code());
  if (!service.ok() && service.status().code() != absl::StatusCode::kNotFound)
    return Done(ctx, service.status());
  if (!ShowsDetails(VisibilityFor(*caller, exists->request),
                    service.ok() ? service->get() : nullptr)) {
    return grpc::Status::OK;
  }
  auto comments = deps_.requests.Comments(req->request_id(), start, *page_size + 1);
  if (!comments.ok()) return Done(ctx, comments.status());
  const bool more = static_cast<int>(comments->size()) > *page_size;
  if (more) comments->resize(*page_size);
  for (const auto& c : *comments) {
    auto* out = response->add_comments();
    out->set_comment_id(c.id());
    out->set_request_id(c.request_id());
    out->set_text(c.text());
    out->set_author_role(c.author_role());
    *out->mutable_created_at() = TimeUtil::MillisecondsToTimestamp(c.created_ms());
    out->set_is_own(caller->signed_in() && c.author_account_id() == caller->account_id);
  }
  if (more) response->set_next_page_token(std::to_string(start + *page_size));
  return grpc::Status::OK;
}

grpc::Status RequestsService::DoFollowRequest(grpc::ServerContextBase* ctx,
                                              const v1::FollowRequestRequest* req,
                                              v1::FollowResponse* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "FollowRequest");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (auto s = CheckRequestId(req->request_id()); !s.ok()) return Done(ctx, s);
  if (!caller->email_verified)
    return Done(ctx, absl::PermissionDeniedError("verify your e-mail address first"));
  auto event = NewEvent(ctx);
  event.mutable_request_followed()->set_request_id(req->request_id());
  event.mutable_request_followed()->set_account_id(caller->account_id);
  auto state = deps_.requests.Follow(req->request_id(), caller->account_id, true, {event});
  if (!state.ok()) return Done(ctx, state.status());
  if (auto s = EraseIfDeletedMeanwhile(*caller); !s.ok()) return Done(ctx, s);
  response->set_following(state->following);
  response->set_follower_count(static_cast<int32_t>(state->followers));
  return grpc::Status::OK;
}

grpc::Status RequestsService::DoUnfollowRequest(grpc::ServerContextBase* ctx,
                                                const v1::UnfollowRequestRequest* req,
                                                v1::FollowResponse* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "UnfollowRequest");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (auto s = CheckRequestId(req->request_id()); !s.ok()) return Done(ctx, s);
  auto event = NewEvent(ctx);
  event.mutable_request_unfollowed()->set_request_id(req->request_id());
  event.mutable_request_unfollowed()->set_account_id(caller->account_id);
  auto state = deps_.requests.Follow(req->request_id(), caller->account_id, false, {event});
  if (!state.ok()) return Done(ctx, state.status());
  response->set_following(state->following);
  response->set_follower_count(static_cast<int32_t>(state->followers));
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------------------------
// Privacy

grpc::Status RequestsService::DoExportUserData(grpc::ServerContextBase* ctx,
                                               const v1::ExportUserDataRequest* req,
                                               v1::UserDataExport* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "ExportUserData");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (!infra::IsUlid(req->account_id()))
    return Done(ctx, InvalidField("account_id", "not an account id"));
  Caller owner;
  owner.account_id = req->account_id();
  std::string before;
  while (true) {
    auto ids = deps_.requests.NewestOfOwner(req->account_id(), before, 200);
    if (!ids.ok()) return Done(ctx, ids.status());
    if (ids->empty()) break;
    std::vector<std::string> keys;
    for (const auto& i : *ids) keys.push_back(i.id);
    auto requests = deps_.requests.GetMany(keys);
    if (!requests.ok()) return Done(ctx, requests.status());
    for (const auto& r : *requests) {
      if (r) View(owner, *r, "de", response->add_requests());
    }
    before = ids->back().id;
  }
  auto comments = deps_.requests.CommentsBy(req->account_id());
  if (!comments.ok()) return Done(ctx, comments.status());
  for (const auto& c : *comments) {
    auto* out = response->add_comments();
    out->set_comment_id(c.id());
    out->set_request_id(c.request_id());
    out->set_text(c.text());
    out->set_author_role(c.author_role());
    *out->mutable_created_at() = TimeUtil::MillisecondsToTimestamp(c.created_ms());
    out->set_is_own(true);
  }
  auto following = deps_.requests.Following(req->account_id());
  if (!following.ok()) return Done(ctx, following.status());
  for (const auto& id : *following) response->add_followed_request_ids(id);
  return grpc::Status::OK;
}

}  // namespace cityhub::requests
