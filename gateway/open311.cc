#include "gateway/open311.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include <google/protobuf/util/time_util.h>
#include <grpcpp/client_context.h>
#include <nlohmann/json.hpp>

#include "cityhub/accounts/v1/accounts.grpc.pb.h"
#include "cityhub/requests/v1/requests.grpc.pb.h"
#include "gateway/errors.h"
#include "gateway/open311_format.h"
#include "gateway/transcode.h"
#include "infra/auth/authorizer.h"
#include "infra/grpc/context.h"
#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway {

using google::protobuf::util::TimeUtil;
using infra::StrCat;
using Json = nlohmann::ordered_json;
using open311::Format;
namespace accounts_v1 = cityhub::accounts::v1;
namespace requests_v1 = cityhub::requests::v1;

namespace {

constexpr char kSpecification[] = "http://wiki.open311.org/GeoReport_v2";
constexpr int kMaxResults = 1000;
// How far page/page_size may reach into the newest results of the date range.
constexpr int kMaxPagedResults = 10'000;
constexpr int64_t kMaxSpanMs = int64_t{90} * 24 * 3600 * 1000;

// One Open311 exchange: what the callbacks need after Handle returned.
struct Exchange {
  HttpRequest request;  // without the body
  RequestContext ctx;
  std::shared_ptr<Responder> responder;
  Format format = Format::kJson;
  std::string language = "de";
  std::string jurisdiction;
};
using ExchangePtr = std::shared_ptr<Exchange>;

// The single-valued parameters of a call, checked against what the resource takes.
using Params = std::map<std::string, std::string, std::less<>>;

// A form (POST, `attributes`) must hold only fields the resource takes: a misspelt field would
// drop what a resident wrote. In a query, parameters the resource does not take are ignored, as
// grpc-gateway does: real clients send the spec's extensions (lat, long, radius, extensions…),
// and refusing them broke those clients. Known ones are checked where they are read.
absl::StatusOr<Params> Collect(const ParsedQuery& given, const std::set<std::string_view>& allowed,
                               bool attributes) {
  Params out;
  for (const auto& [name, value] : given.params) {
    if (attributes && name.starts_with("attribute")) continue;  // AttributesFromForm reads them
    if (!allowed.contains(name)) {
      if (!attributes) continue;
      const std::string shown = name.size() <= 64 ? name : name.substr(0, 64) + "…";
      return absl::InvalidArgumentError(StrCat(shown, ": not a field of this form"));
    }
    if (!out.emplace(name, value).second) return infra::InvalidField(name, "given more than once");
  }
  return out;
}

std::string Get(const Params& params, std::string_view name) {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

bool ParseDouble(std::string_view text, double* out) {
  if (text.empty() || text.size() > 32) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(*out);
}

bool ParseInt(std::string_view text, int* out) {
  if (text.empty() || text.size() > 9) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

Json OrNull(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

bool IsOpen(requests_v1::Status status) {
  return status == requests_v1::SUBMITTED || status == requests_v1::ACKNOWLEDGED ||
         status == requests_v1::IN_PROGRESS;
}

// A request as GeoReport v2 shows it; private fields (owner, contact, internal notes) are not
// in the public view the service answered with, and are not read here either.
Json RequestObject(const requests_v1::ServiceRequest& r) {
  const bool located = r.lat() != 0 || r.long_() != 0;
  const int64_t requested = TimeUtil::TimestampToMilliseconds(r.requested_at());
  const int64_t expected = TimeUtil::TimestampToMilliseconds(r.expected_at());
  Json o;
  o["service_request_id"] = r.request_id();
  o["status"] = IsOpen(r.status()) ? "open" : "closed";
  o["status_notes"] = OrNull(r.status_notes());
  o["service_name"] = r.service_name();
  o["service_code"] = r.service_code();
  o["description"] = r.description();
  o["agency_responsible"] = OrNull(r.department());
  o["service_notice"] = OrNull(r.service_notice());
  o["requested_datetime"] = open311::FormatDateTime(requested);
  o["updated_datetime"] =
      open311::FormatDateTime(TimeUtil::TimestampToMilliseconds(r.updated_at()));
  o["expected_datetime"] =
      expected > requested ? Json(open311::FormatDateTime(expected)) : Json(nullptr);
  o["address"] = r.address();
  o["address_id"] = OrNull(r.address_id());
  o["zipcode"] = OrNull(r.zipcode());
  o["lat"] = located ? Json(r.lat()) : Json(nullptr);
  o["long"] = located ? Json(r.long_()) : Json(nullptr);
  o["media_url"] = r.media_urls().empty() ? Json(nullptr) : Json(r.media_urls(0));
  return o;
}

Json ServiceObject(const requests_v1::Service& s) {
  const bool metadata = std::any_of(s.attributes().begin(), s.attributes().end(),
                                    [](const auto& a) { return a.variable(); });
  Json o;
  o["service_code"] = s.service_code();
  o["service_name"] = s.name();
  o["description"] = s.description();
  o["metadata"] = metadata;
  o["type"] = "realtime";
  o["keywords"] = infra::StrJoin(s.keywords(), ", ");
  o["group"] = s.group();
  return o;
}

Json ServiceDefinition(const requests_v1::Service& s) {
  Json attributes = Json::array();
  for (const auto& a : s.attributes()) {
    Json values = Json::array();
    for (const auto& v : a.values()) values.push_back(Json{{"key", v.key()}, {"name", v.name()}});
    Json o;
    o["variable"] = a.variable();
    o["code"] = a.code();
    o["datatype"] = a.datatype();
    o["required"] = a.required();
    o["datatype_description"] = nullptr;
    o["order"] = a.order();
    o["description"] = a.description();
    o["values"] = std::move(values);
    attributes.push_back(std::move(o));
  }
  Json o;
  o["service_code"] = s.service_code();
  o["attributes"] = std::move(attributes);
  return o;
}

// A unary call's context and messages, kept alive until its callback ran.
template <typename Request, typename Response>
struct Call {
  std::unique_ptr<grpc::ClientContext> context;
  Request request;
  Response response;
};

}  // namespace

struct Open311::Impl {
  Gateway& gateway;
  RateLimiter* limiter;
  Open311Options options;
  std::unique_ptr<requests_v1::RequestsService::Stub> requests;
  std::unique_ptr<accounts_v1::AccountsService::Stub> accounts;

  Impl(Gateway& g, Backends& backends, RateLimiter* l, Open311Options o)
      : gateway(g), limiter(l), options(std::move(o)) {
    if (auto channel = backends.ChannelFor("cityhub.requests.v1.RequestsService")) {
      requests = requests_v1::RequestsService::NewStub(channel);
    }
    if (auto channel = backends.ChannelFor("cityhub.accounts.v1.AccountsService")) {
      accounts = accounts_v1::AccountsService::NewStub(channel);
    }
  }

  // --- answers -------------------------------------------------------------------------------

  void Reply(const ExchangePtr& ex, int status, const Json& doc, std::string_view root,
             std::string_view item, std::string_view cache_control = "") {
    HttpResponse r;
    r.status = status;
    r.headers.emplace_back("Content-Type", std::string(open311::ContentType(ex->format)));
    if (!cache_control.empty()) r.headers.emplace_back("Cache-Control", std::string(cache_control));
    r.body = open311::Render(doc, ex->format, root, item);
    gateway.Send(ex->request, ex->ctx, *ex->responder, std::move(r));
  }

  void Fail(const ExchangePtr& ex, int status, std::string_view description,
            std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpResponse r;
    r.status = status;
    r.headers.emplace_back("Content-Type", std::string(open311::ContentType(ex->format)));
    for (auto& h : headers) r.headers.push_back(std::move(h));
    r.body = open311::RenderErrors(status, description, ex->format);
    gateway.Send(ex->request, ex->ctx, *ex->responder, std::move(r));
  }

  // The spec knows 400, 403 and 404; the rest keeps its HTTP meaning (429, 503, 500).
  void FailGrpc(const ExchangePtr& ex, const grpc::Status& status,
                bool invalid_is_unknown = false) {
    int http = HttpStatusFor(status.error_code());
    if (http == 401) http = 403;
    if (http == 409) http = 400;
    if (invalid_is_unknown && http == 400) http = 404;
    std::string message = status.error_message();
    if (http >= 500) message = "the service could not answer; try again later";
    std::vector<std::pair<std::string, std::string>> headers;
    if (http == 429) headers.emplace_back("Retry-After", "1");
    Fail(ex, http, message, std::move(headers));
  }

  std::unique_ptr<grpc::ClientContext> Outbound(const ExchangePtr& ex) const {
    auto call = std::make_unique<grpc::ClientContext>();
    call->set_deadline(std::chrono::system_clock::now() + options.deadline);
    call->AddMetadata(infra::kRequestIdKey, ex->ctx.request_id);
    call->AddMetadata(infra::kClientAddressKey, ex->ctx.client_address);
    if (!options.internal_token.empty()) {
      call->AddMetadata(infra::auth::kInternalTokenKey, options.internal_token);
    }
    return call;
  }

  // jurisdiction_id: required when several are served (unless `required` is false: discovery
  // describes the endpoint, which serves them all); unknown ones are not found.
  bool ResolveJurisdiction(const ExchangePtr& ex, const Params& params, bool required = true) {
    const std::string given = Get(params, "jurisdiction_id");
    if (given.empty()) {
      if (required && options.jurisdictions.size() > 1) {
        Fail(ex, 400, "jurisdiction_id: required, this server serves more than one jurisdiction");
        return false;
      }
      ex->jurisdiction = options.jurisdictions.empty() ? "" : options.jurisdictions.front();
      return true;
    }
    if (std::find(options.jurisdictions.begin(), options.jurisdictions.end(), given) ==
        options.jurisdictions.end()) {
      Fail(ex, 404, "jurisdiction_id: not served here");
      return false;
    }
    ex->jurisdiction = given;
    return true;
  }

  // locale: "de" or "en" (a region such as "en_GB" or "de-DE" is allowed and ignored).
  bool ResolveLanguage(const ExchangePtr& ex, const Params& params) {
    const std::string locale = Get(params, "locale");
    if (locale.empty()) return true;
    const std::string language = locale.substr(0, 2);
    if ((language != "de" && language != "en") ||
        (locale.size() > 2 && (locale.size() > 10 || (locale[2] != '_' && locale[2] != '-')))) {
      Fail(ex, 400, "locale: de or en");
      return false;
    }
    ex->language = language;
    return true;
  }

  bool NeedRequests(const ExchangePtr& ex) {
    if (requests != nullptr) return true;
    Fail(ex, 503, "this part of the service is not available");
    return false;
  }

  // --- resources -----------------------------------------------------------------------------

  void Discovery(const ExchangePtr& ex) {
    const std::string changeset = open311::FormatDateTime(options.changeset_ms);
    Json endpoint;
    endpoint["specification"] = kSpecification;
    endpoint["url"] = StrCat(options.public_url, "/open311/v2");
    endpoint["changeset"] = changeset;
    endpoint["type"] = "production";
    endpoint["formats"] = Json::array({"text/xml", "application/json"});
    Json doc;
    doc["changeset"] = changeset;
    doc["contact"] = options.contact;
    doc["key_service"] = options.key_service;
    doc["endpoints"] = Json::array({std::move(endpoint)});
    Reply(ex, 200, doc, "discovery", "item", "public, max-age=300");
  }

  void Services(const ExchangePtr& ex) {
    if (!NeedRequests(ex)) return;
    auto call = std::make_shared<
        Call<requests_v1::ListServicesRequest, requests_v1::ListServicesResponse>>();
    call->context = Outbound(ex);
    call->request.set_jurisdiction_id(ex->jurisdiction);
    call->request.set_language(ex->language);
    requests->async()->ListServices(call->context.get(), &call->request, &call->response,
                                    [this, ex, call](grpc::Status status) {
                                      if (!status.ok()) return FailGrpc(ex, status);
                                      Json list = Json::array();
                                      for (const auto& s : call->response.services()) {
                                        if (s.active()) list.push_back(ServiceObject(s));
                                      }
                                      Reply(ex, 200, list, "services", "service",
                                            "public, max-age=60");
                                    });
  }

  void ServiceDefinitionOf(const ExchangePtr& ex, std::string code) {
    if (!NeedRequests(ex)) return;
    auto call = std::make_shared<Call<requests_v1::GetServiceRequest, requests_v1::Service>>();
    call->context = Outbound(ex);
    call->request.set_service_code(std::move(code));
    call->request.set_jurisdiction_id(ex->jurisdiction);
    call->request.set_language(ex->language);
    requests->async()->GetService(call->context.get(), &call->request, &call->response,
                                  [this, ex, call](grpc::Status status) {
                                    if (!status.ok()) return FailGrpc(ex, status, true);
                                    if (!call->response.active()) {
                                      return Fail(ex, 404, "service_code: not in the catalogue");
                                    }
                                    Reply(ex, 200, ServiceDefinition(call->response),
                                          "service_definition", "item", "public, max-age=60");
                                  });
  }

  // requests/{id} and tokens/{token}: requests are created at once, so a token is the id.
  void OneRequest(const ExchangePtr& ex, std::string id, bool as_token) {
    if (!infra::IsUlid(id))
      return Fail(ex, 404, as_token ? "token: unknown" : "service_request_id: unknown");
    if (!NeedRequests(ex)) return;
    auto call =
        std::make_shared<Call<requests_v1::GetRequestRequest, requests_v1::ServiceRequest>>();
    call->context = Outbound(ex);
    call->request.set_request_id(std::move(id));
    call->request.set_language(ex->language);
    requests->async()->GetRequest(
        call->context.get(), &call->request, &call->response,
        [this, ex, call, as_token](grpc::Status status) {
          if (!status.ok()) return FailGrpc(ex, status, true);
          const auto& r = call->response;
          if (r.jurisdiction_id() != ex->jurisdiction) {
            return Fail(ex, 404, "service_request_id: unknown");
          }
          Json list = Json::array();
          if (as_token) {
            list.push_back(Json{{"service_request_id", r.request_id()}, {"token", r.request_id()}});
          } else {
            list.push_back(RequestObject(r));
          }
          Reply(ex, 200, list, "service_requests", "request");
        });
  }

  struct Listing {
    ExchangePtr ex;
    requests_v1::ListRequestsRequest query;
    int skip = 0;
    int want = 0;
    Json out = Json::array();
  };

  void ListRequests(const ExchangePtr& ex, const Params& params) {
    if (!NeedRequests(ex)) return;
    auto listing = std::make_shared<Listing>();
    listing->ex = ex;
    auto& q = listing->query;
    q.set_jurisdiction_id(ex->jurisdiction);
    q.set_language(ex->language);
    const std::string ids = Get(params, "service_request_id");
    if (!ids.empty()) {
      // A list of ids overrides every other filter.
      for (const auto& id : infra::SplitList(ids)) {
        if (!infra::IsUlid(id))
          return Fail(ex, 400, "service_request_id: not a list of request ids");
        q.add_request_ids(id);
      }
      if (q.request_ids_size() > 100) return Fail(ex, 400, "service_request_id: at most 100 ids");
      listing->want = q.request_ids_size();
      return NextPage(listing);
    }
    for (const auto& code : infra::SplitList(Get(params, "service_code"))) {
      if (q.service_code_size() >= 20) return Fail(ex, 400, "service_code: at most 20 codes");
      q.add_service_code(code);
    }
    for (const auto& status : infra::SplitList(Get(params, "status"))) {
      if (status == "open") {
        for (auto s : {requests_v1::SUBMITTED, requests_v1::ACKNOWLEDGED, requests_v1::IN_PROGRESS})
          q.add_status(s);
      } else if (status == "closed") {
        for (auto s : {requests_v1::RESOLVED, requests_v1::REJECTED, requests_v1::DUPLICATE,
                       requests_v1::CLOSED}) {
          q.add_status(s);
        }
      } else {
        return Fail(ex, 400, "status: open or closed");
      }
    }
    // The date range: at most 90 days, the last 90 days by default.
    std::optional<int64_t> start, end;
    if (const std::string text = Get(params, "start_date"); !text.empty()) {
      start = open311::ParseDateTime(text);
      if (!start)
        return Fail(
            ex, 400,
            "start_date: not a W3C date-time with a time zone, e.g. 2026-11-01T00:00:00+01:00");
    }
    if (const std::string text = Get(params, "end_date"); !text.empty()) {
      end = open311::ParseDateTime(text);
      if (!end)
        return Fail(
            ex, 400,
            "end_date: not a W3C date-time with a time zone, e.g. 2026-11-30T00:00:00+01:00");
    }
    const int64_t now = infra::UnixMillis(std::chrono::system_clock::now());
    if (!start && !end) {
      end = now + 1;  // until is exclusive
      start = *end - kMaxSpanMs;
    } else if (!start) {
      start = *end - kMaxSpanMs;
    } else if (!end) {
      end = *start + kMaxSpanMs;
    }
    if (*start >= *end) return Fail(ex, 400, "start_date: must be before end_date");
    if (*end - *start > kMaxSpanMs)
      return Fail(ex, 400, "start_date: the range may span at most 90 days");
    *q.mutable_since() = TimeUtil::MillisecondsToTimestamp(*start);
    *q.mutable_until() = TimeUtil::MillisecondsToTimestamp(*end);
    int page = 1, page_size = kMaxResults;
    if (const std::string text = Get(params, "page");
        !text.empty() && (!ParseInt(text, &page) || page < 1)) {
      return Fail(ex, 400, "page: a number from 1");
    }
    if (const std::string text = Get(params, "page_size");
        !text.empty() &&
        (!ParseInt(text, &page_size) || page_size < 1 || page_size > kMaxResults)) {
      return Fail(ex, 400, "page_size: a number from 1 to 1000");
    }
    if (int64_t{page} * page_size > kMaxPagedResults) {
      return Fail(ex, 400,
                  "page: only the newest 10000 results can be paged through; narrow the dates");
    }
    listing->skip = (page - 1) * page_size;
    listing->want = page_size;
    // One read unit was spent on the way in; each further page of the service this answer
    // walks through costs one more, so a deep page costs what its backend calls cost.
    if (limiter != nullptr) {
      const int backend_pages = (listing->skip + listing->want + 99) / 100;
      for (int i = 1; i < backend_pages; ++i) {
        const Decision d =
            limiter->Check(cityhub::api::RATE_CLASS_READ, ex->ctx.client_address, "");
        if (!d.allowed) {
          return Fail(ex, 429, "too many requests; ask for smaller pages or slow down",
                      {{"Retry-After", std::to_string((d.retry_after.count() + 999) / 1000)}});
        }
      }
    }
    NextPage(listing);
  }

  // Walks the service's cursor pages (at most 100 each) until the Open311 page is full.
  void NextPage(const std::shared_ptr<Listing>& listing) {
    auto call = std::make_shared<
        Call<requests_v1::ListRequestsRequest, requests_v1::ListRequestsResponse>>();
    call->context = Outbound(listing->ex);
    call->request = listing->query;
    if (call->request.request_ids_size() == 0) {
      const int missing = listing->skip + listing->want - static_cast<int>(listing->out.size());
      call->request.set_page_size(std::clamp(missing, 1, 100));
    }
    requests->async()->ListRequests(
        call->context.get(), &call->request, &call->response,
        [this, listing, call](grpc::Status status) {
          if (!status.ok()) return FailGrpc(listing->ex, status);
          for (const auto& r : call->response.requests()) {
            if (listing->skip > 0) {
              --listing->skip;
              continue;
            }
            if (static_cast<int>(listing->out.size()) < listing->want)
              listing->out.push_back(RequestObject(r));
          }
          const std::string& next = call->response.next_page_token();
          if (static_cast<int>(listing->out.size()) >= listing->want || next.empty()) {
            return Reply(listing->ex, 200, listing->out, "service_requests", "request");
          }
          listing->query.set_page_token(next);
          NextPage(listing);
        });
  }

  // POST requests: the partner's api_key is checked before anything else in the form, so
  // that a caller without a valid key learns nothing about what a valid form looks like.
  void CreateRequest(const ExchangePtr& ex, std::shared_ptr<const ParsedQuery> form) {
    std::string api_key;
    for (const auto& [name, value] : form->params) {
      if (name == "api_key" && !value.empty()) {
        api_key = value;
        break;
      }
    }
    if (api_key.empty()) return Fail(ex, 403, "api_key: missing; partners get one from the city");
    if (api_key.size() > 128)
      return Fail(ex, 403, "api_key: missing or unknown");  // keys are shorter
    if (accounts == nullptr || !NeedRequests(ex)) {
      if (accounts == nullptr) Fail(ex, 503, "this part of the service is not available");
      return;
    }
    auto check =
        std::make_shared<Call<accounts_v1::CheckApiKeyRequest, accounts_v1::CheckApiKeyResponse>>();
    check->context = Outbound(ex);
    check->request.set_api_key(std::move(api_key));
    accounts->async()->CheckApiKey(
        check->context.get(), &check->request, &check->response,
        [this, ex, check, form](grpc::Status status) {
          if (!status.ok()) return FailGrpc(ex, status);
          if (limiter != nullptr) {
            const Decision d = limiter->CheckPartner(check->response.api_key_id());
            if (!d.allowed) {
              return Fail(ex, 429, "too many requests from this partner; slow down",
                          {{"Retry-After", std::to_string((d.retry_after.count() + 999) / 1000)}});
            }
          }
          auto create = CreationFromForm(ex, *form);
          if (!create) return;  // answered
          SubmitRequest(ex, std::move(*create), check->response.api_key_id());
        });
  }

  // The creation call a checked form asks for, or nullopt once a 400 went out.
  std::optional<requests_v1::CreateRequestRequest> CreationFromForm(const ExchangePtr& ex,
                                                                    const ParsedQuery& form) {
    auto params =
        Collect(form,
                {"jurisdiction_id", "api_key", "service_code", "lat", "long", "address_string",
                 "address_id", "zipcode", "email", "device_id", "account_id", "first_name",
                 "last_name", "phone", "description", "media_url", "locale"},
                true);
    if (!params.ok()) {
      Fail(ex, 400, infra::StdView(params.status().message()));
      return std::nullopt;
    }
    if (!ResolveJurisdiction(ex, *params) || !ResolveLanguage(ex, *params)) return std::nullopt;
    auto invalid = [&](std::string_view description) {
      Fail(ex, 400, description);
      return std::nullopt;
    };
    requests_v1::CreateRequestRequest create;
    create.set_jurisdiction_id(ex->jurisdiction);
    create.set_language(ex->language);
    create.set_service_code(Get(*params, "service_code"));
    if (create.service_code().empty()) return invalid("service_code: required");
    const std::string lat = Get(*params, "lat"), lon = Get(*params, "long");
    if (lat.empty() != lon.empty()) return invalid("lat: give lat and long together");
    if (!lat.empty()) {
      double v = 0;
      if (!ParseDouble(lat, &v) || v < -90 || v > 90)
        return invalid("lat: a number from -90 to 90");
      create.set_lat(v);
      if (!ParseDouble(lon, &v) || v < -180 || v > 180)
        return invalid("long: a number from -180 to 180");
      create.set_long_(v);
    }
    create.set_address(Get(*params, "address_string"));
    create.set_address_id(Get(*params, "address_id"));
    if (lat.empty() && infra::TrimAscii(create.address()).empty() && create.address_id().empty()) {
      return invalid("lat: a location is required: lat and long, address_string or address_id");
    }
    create.set_zipcode(Get(*params, "zipcode"));
    create.set_description(Get(*params, "description"));
    create.set_media_url(Get(*params, "media_url"));
    auto attributes = open311::AttributesFromForm(form);
    if (!attributes.ok()) return invalid(infra::StdView(attributes.status().message()));
    if (attributes->fields_size() > 0) *create.mutable_attributes() = std::move(*attributes);
    auto* contact = create.mutable_contact();
    contact->set_email(Get(*params, "email"));
    contact->set_first_name(Get(*params, "first_name"));
    contact->set_last_name(Get(*params, "last_name"));
    contact->set_phone(Get(*params, "phone"));
    contact->set_device_id(Get(*params, "device_id"));
    contact->set_partner_account_id(Get(*params, "account_id"));
    if (contact->ByteSizeLong() == 0) create.clear_contact();
    return create;
  }

  // Files the request in the partner's name.
  void SubmitRequest(const ExchangePtr& ex, requests_v1::CreateRequestRequest create,
                     const std::string& api_key_id) {
    auto call =
        std::make_shared<Call<requests_v1::CreateRequestRequest, requests_v1::ServiceRequest>>();
    call->context = Outbound(ex);
    call->context->AddMetadata("x-cityhub-partner", api_key_id);
    call->request = std::move(create);
    requests->async()->CreateRequest(
        call->context.get(), &call->request, &call->response,
        [this, ex, call](grpc::Status status) {
          if (!status.ok()) return FailGrpc(ex, status);
          Json o;
          o["service_request_id"] = call->response.request_id();
          o["service_notice"] = OrNull(call->response.service_notice());
          o["account_id"] = OrNull(call->request.contact().partner_account_id());
          Reply(ex, 201, Json::array({std::move(o)}), "service_requests", "request");
        });
  }
};

Open311::Open311(Gateway& gateway, Backends& backends, RateLimiter* limiter, Open311Options options)
    : impl_(std::make_unique<Impl>(gateway, backends, limiter, std::move(options))) {}

Open311::~Open311() = default;

bool Open311::Handle(const HttpRequest& request, const RequestContext& context,
                     std::shared_ptr<Responder> responder) {
  auto ex = std::make_shared<Exchange>();
  ex->request = request.Head();
  ex->ctx = context;
  ex->responder = std::move(responder);
  Impl& impl = *impl_;

  const std::string_view rest =
      std::string_view(request.path).substr(std::string_view(kPrefix).size());
  const auto resource = open311::SplitFormat(rest);
  if (resource) ex->format = resource->format;
  // The route label names the resource template, never an id.
  std::string_view name = resource ? resource->name : std::string_view();
  std::string_view kind = name, argument;
  if (const size_t slash = name.find('/'); slash != std::string_view::npos) {
    kind = name.substr(0, slash);
    argument = name.substr(slash + 1);
  }
  const bool known =
      resource &&
      ((argument.empty() && (kind == "discovery" || kind == "services" || kind == "requests")) ||
       (!argument.empty() && argument.find('/') == std::string_view::npos &&
        (kind == "services" || kind == "requests" || kind == "tokens")));
  const bool post = kind == "requests" && argument.empty();
  ex->ctx.route_label =
      known ? StrCat(kPrefix, kind, argument.empty() ? "" : "/{id}") : "/open311/v2/unknown";
  if (!known) {
    impl.Fail(ex, 404, "no such resource; Open311 resources end in .json or .xml");
    return true;
  }
  if (request.method != "GET" && request.method != "HEAD" && !(post && request.method == "POST")) {
    impl.Fail(ex, 405, StrCat("method ", request.method, " is not allowed here"),
              {{"Allow", post ? "GET, POST" : "GET"}});
    return true;
  }
  const bool is_post = request.method == "POST";
  ex->ctx.route_label = StrCat(is_post ? "POST " : "GET ", ex->ctx.route_label);
  if (impl.limiter != nullptr) {
    // Reads spend the address's read budget. A POST first spends its address's write budget
    // (whatever its key: bad keys cannot be tried without limit), then, once its key is known
    // good, the partner's own budget (CheckPartner): a partner speaks for many residents from
    // one address, so the residents' creation budget would be far too small for it.
    const Decision d = impl.limiter->Check(
        is_post ? cityhub::api::RATE_CLASS_WRITE : cityhub::api::RATE_CLASS_READ,
        ex->ctx.client_address, "");
    if (!d.allowed) {
      impl.Fail(ex, 429, "too many requests; slow down",
                {{"Retry-After", std::to_string((d.retry_after.count() + 999) / 1000)}});
      return true;
    }
  }
  auto form = ParseQuery(request.query);
  if (!form.ok()) {
    impl.Fail(ex, 400, infra::StdView(form.status().message()));
    return true;
  }
  if (is_post) {
    const std::string_view type = request.header("content-type");
    if (!infra::TrimAscii(type.substr(0, type.find(';'))).empty() &&
        infra::TrimAscii(type.substr(0, type.find(';'))) != "application/x-www-form-urlencoded") {
      impl.Fail(ex, 400, "send the request as application/x-www-form-urlencoded");
      return true;
    }
    auto body = ParseQuery(request.body);
    if (!body.ok()) {
      impl.Fail(ex, 400, infra::StdView(body.status().message()));
      return true;
    }
    for (auto& p : body->params) form->params.push_back(std::move(p));
    impl.CreateRequest(ex, std::make_shared<const ParsedQuery>(std::move(*form)));
    return true;
  }

  std::set<std::string_view> allowed = {"jurisdiction_id", "locale", "api_key"};
  if (kind == "requests" && argument.empty()) {
    allowed.insert({"service_request_id", "service_code", "start_date", "end_date", "status",
                    "page", "page_size"});
  }
  auto params = Collect(*form, allowed, false);
  if (!params.ok()) {
    impl.Fail(ex, 400, infra::StdView(params.status().message()));
    return true;
  }
  // The spec's discovery takes no jurisdiction_id: it describes the endpoint, which serves all.
  if (!impl.ResolveJurisdiction(ex, *params, kind != "discovery") ||
      !impl.ResolveLanguage(ex, *params)) {
    return true;
  }
  // The id in the path, decoded like a v1 path variable: a service code, request id or token.
  std::string id;
  if (!argument.empty()) {
    const std::string_view field = kind == "services" ? "service_code"
                                   : kind == "tokens" ? "token"
                                                      : "service_request_id";
    auto decoded = PercentDecode(argument, false);
    if (!decoded || !infra::IsValidUtf8(*decoded)) {
      impl.Fail(ex, 400,
                StrCat(field, decoded ? ": not valid UTF-8" : ": malformed percent-encoding"));
      return true;
    }
    id = std::move(*decoded);
  }
  if (kind == "discovery") {
    impl.Discovery(ex);
  } else if (kind == "services") {
    if (argument.empty()) {
      impl.Services(ex);
    } else {
      impl.ServiceDefinitionOf(ex, std::move(id));
    }
  } else if (kind == "tokens") {
    impl.OneRequest(ex, std::move(id), true);
  } else if (argument.empty()) {
    impl.ListRequests(ex, *params);
  } else {
    impl.OneRequest(ex, std::move(id), false);
  }
  return true;
}

}  // namespace cityhub::gateway
