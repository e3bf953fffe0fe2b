#include "gateway/open311.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "gateway/errors.h"
#include "gateway/open311_impl.h"
#include "gateway/outbound.h"
#include "infra/auth/authorizer.h"
#include "infra/grpc/context.h"
#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway {

using infra::StrCat;
namespace accounts_v1 = open311::accounts_v1;
namespace requests_v1 = open311::requests_v1;
using open311::Collect;
using open311::Exchange;
using open311::Format;
using open311::Get;

namespace open311 {

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
      if (name.empty()) return infra::InvalidField("form", "a field without a name");
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

}  // namespace open311

Open311::Impl::Impl(Gateway& g, Backends& backends, RateLimiter* l, Open311Options o)
    : gateway(g), limiter(l), options(std::move(o)) {
  if (auto channel = backends.ChannelFor("cityhub.requests.v1.RequestsService")) {
    requests = requests_v1::RequestsService::NewStub(channel);
  }
  if (auto channel = backends.ChannelFor("cityhub.accounts.v1.AccountsService")) {
    accounts = accounts_v1::AccountsService::NewStub(channel);
  }
}

void Open311::Impl::Reply(const ExchangePtr& ex, int status, const Json& doc, std::string_view root,
                          std::string_view item, std::string_view cache_control) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::string(open311::ContentType(ex->format)));
  if (!cache_control.empty()) r.headers.emplace_back("Cache-Control", std::string(cache_control));
  r.body = open311::Render(doc, ex->format, root, item);
  gateway.Send(ex->request, ex->ctx, *ex->responder, std::move(r));
}

void Open311::Impl::Fail(const ExchangePtr& ex, int status, std::string_view description,
                         std::vector<std::pair<std::string, std::string>> headers) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::string(open311::ContentType(ex->format)));
  for (auto& h : headers) r.headers.push_back(std::move(h));
  r.body = open311::RenderErrors(status, description, ex->format);
  gateway.Send(ex->request, ex->ctx, *ex->responder, std::move(r));
}

void Open311::Impl::FailGrpc(const ExchangePtr& ex, const grpc::Status& status,
                             bool invalid_is_unknown) {
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

std::unique_ptr<grpc::ClientContext> Open311::Impl::Outbound(const ExchangePtr& ex) const {
  return NewCallContext(ex->ctx, options.deadline, options.internal_token);
}

bool Open311::Impl::ResolveJurisdiction(const ExchangePtr& ex, const Params& params,
                                        bool required) {
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

bool Open311::Impl::ResolveLanguage(const ExchangePtr& ex, const Params& params) {
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

bool Open311::Impl::NeedRequests(const ExchangePtr& ex) {
  if (requests != nullptr) return true;
  Fail(ex, 503, "this part of the service is not available");
  return false;
}

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
      impl.Fail(ex, 429, "too many requests; slow down", {{"Retry-After", RetryAfterSeconds(d)}});
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
