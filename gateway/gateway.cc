#include "gateway/gateway.h"

#include <algorithm>

#include "gateway/errors.h"
#include "gateway/openapi.h"
#include "infra/grpc/context.h"
#include "infra/ids.h"
#include "infra/strings.h"

namespace cityhub::gateway {

using infra::StrAppend;
using infra::StrCat;

Gateway::Gateway(const RouteTable& routes, Backends& backends,
                 const infra::auth::TokenVerifier& verifier, std::function<bool()> refresh_keys,
                 RateLimiter* limiter, infra::MetricsRegistry& metrics, const infra::Clock& clock,
                 GatewayOptions options)
    : routes_(routes),
      backends_(backends),
      verifier_(verifier),
      refresh_keys_(std::move(refresh_keys)),
      limiter_(limiter),
      metrics_(metrics),
      clock_(clock),
      options_(std::move(options)),
      openapi_(OpenApiJson(routes, options_.public_url)),
      requests_(metrics.AddCounter("http_requests_total", "HTTP requests by route and status",
                                   {"route", "status"})),
      latency_(metrics.AddHistogram("http_request_duration_seconds",
                                    "HTTP request latency by route", {"route"})),
      streams_(metrics.AddGauge("http_event_streams", "Open Server-Sent Events streams").Get()),
      streams_replaced_(
          metrics
              .AddCounter("http_event_streams_replaced_total",
                          "Event streams closed because their account opened more than its cap")
              .Get()),
      connections_refused_(metrics.AddCounter(
          "http_connections_refused_total",
          "Connections refused at once: reason server_full (the global cap) or per_address",
          {"reason"})) {
  heartbeat_ = std::thread([this] { Heartbeats(); });
}

Gateway::~Gateway() {
  if (limiter_ != nullptr) limiter_->StopRefunds();  // their answers go through this object
  {
    std::lock_guard lock(streams_mu_);
    stopping_ = true;
  }
  heartbeat_cv_.notify_all();
  heartbeat_.join();
  CloseStreams();
  // Downloads end on gRPC's threads too, once the HTTP server has let go of their pieces.
  std::unique_lock lock(streams_mu_);
  streams_done_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return downloads_.empty(); });
}

void Gateway::CloseStreams() {
  CloseDownloads();
  std::vector<std::shared_ptr<SseStream>> alive;
  {
    std::lock_guard lock(streams_mu_);
    for (const auto& w : live_streams_) {
      if (auto s = w.lock()) alive.push_back(std::move(s));
    }
  }
  for (auto& s : alive) CloseStream(*s);
  alive.clear();
  // Streams end on gRPC's threads and report back to this object: wait until every one has
  // (bounded, should gRPC never call back).
  std::unique_lock lock(streams_mu_);
  streams_done_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return open_streams_ == 0; });
}

void Gateway::AddPrefixHandler(std::string prefix, PrefixHandler handler) {
  prefix_handlers_.emplace_back(std::move(prefix), std::move(handler));
}

HttpResponse Gateway::ServerError(int status, std::string_view message, const HttpRequest* head) {
  const grpc::StatusCode code = status == 413 || status == 431 ? grpc::StatusCode::INVALID_ARGUMENT
                                : status == 408                ? grpc::StatusCode::DEADLINE_EXCEEDED
                                : status == 429 ? grpc::StatusCode::RESOURCE_EXHAUSTED
                                                : grpc::StatusCode::UNAVAILABLE;
  HttpResponse r = ErrorResponse(status, code, message);
  // Like every answer: a request id to quote, and CORS so that a browser app can read why.
  const std::string_view given_id =
      head != nullptr ? head->header("x-request-id") : std::string_view();
  r.headers.emplace_back("X-Request-Id", infra::IsValidRequestId(given_id)
                                             ? std::string(given_id)
                                             : infra::NewTraceId(clock_.Now()));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Cache-Control", "no-store");
  if (head != nullptr) AddCors(*head, &r);
  return r;
}

size_t Gateway::BodyLimit(const HttpRequest& head) {
  auto match = routes_.Find(head.method, head.path);
  if (match && match->route->policy.max_body_bytes() > 0)
    return match->route->policy.max_body_bytes();
  return options_.default_body_limit;
}

bool Gateway::Builtin(const HttpRequest& request, const RequestContext& ctx, Responder& responder) {
  static constexpr std::string_view kBuiltins[] = {"/healthz", "/readyz", "/metrics",
                                                   "/openapi.json"};
  if (request.method != "GET" && request.method != "HEAD") {
    if (std::find(std::begin(kBuiltins), std::end(kBuiltins), request.path) == std::end(kBuiltins))
      return false;
    HttpResponse r = ErrorResponse(405, grpc::StatusCode::UNIMPLEMENTED,
                                   StrCat("method ", request.method, " is not allowed here"));
    r.headers.emplace_back("Allow", "GET, HEAD");
    Send(request, ctx, responder, std::move(r));
    return true;
  }
  HttpResponse r;
  if (request.path == "/healthz") {
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"status":"ok"})";
  } else if (request.path == "/readyz") {
    bool ready = true;
    std::string body = R"({"backends":{)";
    bool first = true;
    for (const auto& [service, ok] : backends_.Health()) {
      StrAppend(&body, first ? "" : ",", "\"", service, "\":\"", ok ? "SERVING" : "NOT_SERVING",
                "\"");
      first = false;
      ready = ready && ok;
    }
    body += "}}";
    r.status = ready ? 200 : 503;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = std::move(body);
  } else if (request.path == "/metrics") {
    r.headers = {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}};
    r.body = metrics_.Render();
  } else if (request.path == "/openapi.json") {
    r.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "public, max-age=300"}};
    r.body = openapi_;
  } else {
    return false;
  }
  Send(request, ctx, responder, std::move(r));
  return true;
}

void Gateway::Handle(HttpRequest request, std::shared_ptr<Responder> responder) {
  // Admitted from its headers already (a request with a body), or new.
  auto* admitted = std::any_cast<RequestContext>(&request.admission);
  RequestContext ctx = admitted != nullptr ? std::move(*admitted) : NewContext(request);
  ctx.route_label = "builtin";

  // CORS preflight.
  if (request.method == "OPTIONS" && !request.header("access-control-request-method").empty()) {
    HttpResponse r;
    r.status = 204;
    r.headers = {{"Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"},
                 {"Access-Control-Allow-Headers",
                  "Authorization, Content-Type, Idempotency-Key, X-Request-Id, Last-Event-ID"},
                 {"Access-Control-Max-Age", "600"},
                 {"Cache-Control", "no-store"}};
    ctx.route_label = "preflight";
    Send(request, ctx, *responder, std::move(r));
    return;
  }
  if (Builtin(request, ctx, *responder)) return;
  for (const auto& [prefix, handler] : prefix_handlers_) {
    if (request.path.starts_with(prefix)) {
      ctx.route_label = prefix;
      if (handler(request, ctx, responder)) return;
    }
  }
  std::vector<std::string> allowed;
  // HEAD is GET without the body (the HTTP server leaves it out); not for event streams.
  const bool head = request.method == "HEAD";
  auto match = routes_.Find(head ? "GET" : request.method, request.path, &allowed);
  if (match && head && match->route->server_streaming && !match->route->raw_response) {
    allowed = {"GET"};
    match.reset();
  }
  if (!match && allowed.empty() && static_files_ != nullptr &&
      (request.method == "GET" || request.method == "HEAD")) {
    if (auto file = static_files_->Find(request.path, request)) {
      ctx.route_label = "static";
      Send(request, ctx, *responder, *std::move(file));
      return;
    }
  }
  if (!match) {
    ctx.route_label = "unmatched";
    if (!allowed.empty()) {
      HttpResponse r = ErrorResponse(405, grpc::StatusCode::UNIMPLEMENTED,
                                     StrCat("method ", request.method, " is not allowed here"));
      r.headers.emplace_back("Allow", infra::StrJoin(allowed, ", "));
      Send(request, ctx, *responder, std::move(r));
    } else {
      Send(request, ctx, *responder,
           ErrorResponse(404, grpc::StatusCode::NOT_FOUND, "no such resource"));
    }
    return;
  }
  ctx.route_label = StrCat(match->route->http_method, " ", match->route->path.text);
  HandleRoute(request, std::move(ctx), *match, std::move(responder));
}

}  // namespace cityhub::gateway
