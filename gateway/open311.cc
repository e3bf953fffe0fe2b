#include "gateway/open311.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "gateway/errors.h"
#include "gateway/open311_impl.h"
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

HttpResponse GeoReportErrors::Error(int status, grpc::StatusCode, std::string_view message) const {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::string(ContentType(format_)));
  r.body = RenderErrors(status, message, format_);
  return r;
}

namespace {

// A path under the prefix, as far as dispatch and labels need it.
struct Target {
  Format format = Format::kJson;
  std::string_view kind, argument;
  bool known = false;
  bool post = false;  // the resource takes POST (requests.json)
};

Target ParseTarget(std::string_view path) {
  Target r;
  const auto resource = SplitFormat(path.substr(std::string_view(Open311::kPrefix).size()));
  if (!resource) return r;
  r.format = resource->format;
  const std::string_view name = resource->name;
  r.kind = name;
  if (const size_t slash = name.find('/'); slash != std::string_view::npos) {
    r.kind = name.substr(0, slash);
    r.argument = name.substr(slash + 1);
  }
  r.known = (r.argument.empty() &&
             (r.kind == "discovery" || r.kind == "services" || r.kind == "requests")) ||
            (!r.argument.empty() && r.argument.find('/') == std::string_view::npos &&
             (r.kind == "services" || r.kind == "requests" || r.kind == "tokens"));
  r.post = r.kind == "requests" && r.argument.empty();
  return r;
}

bool MethodAllowed(std::string_view method, const Target& r) {
  return method == "GET" || method == "HEAD" || (r.post && method == "POST");
}

}  // namespace

}  // namespace open311

Open311::Impl::Impl(Gateway& g, Backends& backends, Open311Options o)
    : gateway(g), options(std::move(o)) {
  read_policy.set_access(cityhub::api::ACCESS_PUBLIC);
  read_policy.set_rate_class(cityhub::api::RATE_CLASS_READ);
  write_policy.set_access(cityhub::api::ACCESS_PUBLIC);
  write_policy.set_rate_class(cityhub::api::RATE_CLASS_WRITE);
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
  HttpResponse r = ErrorsIn(ex->format).Error(status, grpc::StatusCode::UNKNOWN, description);
  for (auto& h : headers) r.headers.push_back(std::move(h));
  gateway.Send(ex->request, ex->ctx, *ex->responder, std::move(r));
}

void Open311::Impl::Refuse(const ExchangePtr& ex, HttpResponse refusal) {
  gateway.Send(ex->request, ex->ctx, *ex->responder, std::move(refusal));
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
  return gateway.NewCall(ex->ctx);
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

Open311::Open311(Gateway& gateway, Backends& backends, Open311Options options)
    : impl_(std::make_unique<Impl>(gateway, backends, std::move(options))) {}

Open311::~Open311() = default;

void Open311::Classify(const HttpRequest& request, RequestContext& ctx) const {
  const open311::Target r = open311::ParseTarget(request.path);
  ctx.identify = false;
  ctx.errors = &impl_->ErrorsIn(r.format);
  // The route label names the resource template, never an id.
  ctx.route_label =
      r.known ? StrCat(kPrefix, r.kind, r.argument.empty() ? "" : "/{id}") : "/open311/v2/unknown";
  // Unknown resources and methods are answered by Handle (404, 405) without spending budget.
  if (!r.known || !open311::MethodAllowed(request.method, r)) return;
  const bool is_post = request.method == "POST";
  ctx.route_label = StrCat(is_post ? "POST " : "GET ", ctx.route_label);
  // Reads spend the address's read budget. A POST first spends its address's write budget
  // (whatever its key: bad keys cannot be tried without limit), then, once its key is known
  // good, the partner's own budget (ChargePartner): a partner speaks for many residents from
  // one address, so the residents' creation budget would be far too small for it.
  ctx.policy = is_post ? &impl_->write_policy : &impl_->read_policy;
}

void Open311::Handle(const HttpRequest& request, const RequestContext& context,
                     std::shared_ptr<Responder> responder) {
  auto ex = std::make_shared<Exchange>();
  ex->request = request.Head();
  ex->ctx = context;
  ex->responder = std::move(responder);
  Impl& impl = *impl_;

  const open311::Target r = open311::ParseTarget(request.path);
  ex->format = r.format;
  const std::string_view kind = r.kind, argument = r.argument;
  if (!r.known) {
    impl.Fail(ex, 404, "no such resource; Open311 resources end in .json or .xml");
    return;
  }
  if (!open311::MethodAllowed(request.method, r)) {
    impl.Fail(ex, 405, StrCat("method ", request.method, " is not allowed here"),
              {{"Allow", r.post ? "GET, POST" : "GET"}});
    return;
  }
  const bool is_post = request.method == "POST";
  auto form = ParseQuery(request.query);
  if (!form.ok()) {
    impl.Fail(ex, 400, infra::StdView(form.status().message()));
    return;
  }
  if (is_post) {
    const std::string_view type = request.header("content-type");
    if (!infra::TrimAscii(type.substr(0, type.find(';'))).empty() &&
        infra::TrimAscii(type.substr(0, type.find(';'))) != "application/x-www-form-urlencoded") {
      impl.Fail(ex, 400, "send the request as application/x-www-form-urlencoded");
      return;
    }
    auto body = ParseQuery(request.body);
    if (!body.ok()) {
      impl.Fail(ex, 400, infra::StdView(body.status().message()));
      return;
    }
    for (auto& p : body->params) form->params.push_back(std::move(p));
    impl.CreateRequest(ex, std::make_shared<const ParsedQuery>(std::move(*form)));
    return;
  }

  std::set<std::string_view> allowed = {"jurisdiction_id", "locale", "api_key"};
  if (kind == "requests" && argument.empty()) {
    allowed.insert({"service_request_id", "service_code", "start_date", "end_date", "status",
                    "page", "page_size", "lat", "long", "radius", "district", "extensions"});
  }
  auto params = Collect(*form, allowed, false);
  if (!params.ok()) {
    impl.Fail(ex, 400, infra::StdView(params.status().message()));
    return;
  }
  // The spec's discovery takes no jurisdiction_id: it describes the endpoint, which serves all.
  if (!impl.ResolveJurisdiction(ex, *params, kind != "discovery") ||
      !impl.ResolveLanguage(ex, *params)) {
    return;
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
      return;
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
}

}  // namespace cityhub::gateway
