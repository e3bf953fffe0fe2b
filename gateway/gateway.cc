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
                 const infra::auth::TokenVerifier& verifier,
                 AuthenticationFilter::RefreshKeys refresh_keys, RateLimiter* limiter,
                 infra::MetricsRegistry& metrics, const infra::Clock& clock, GatewayOptions options)
    : routes_(routes),
      backends_(backends),
      verifier_(verifier),
      limiter_(limiter),
      metrics_(metrics),
      clock_(clock),
      options_(std::move(options)),
      openapi_(OpenApiJson(routes, options_.public_url)),
      chain_(BuildChain(std::move(refresh_keys))),
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

FilterChain Gateway::BuildChain(AuthenticationFilter::RefreshKeys refresh_keys) {
  std::vector<std::unique_ptr<Filter>> filters;
  filters.push_back(
      std::make_unique<RequestIdFilter>(clock_, options_.trust_forwarded_for, metrics_));
  filters.push_back(std::make_unique<MetricsFilter>(metrics_));
  filters.push_back(std::make_unique<AccessLogFilter>(metrics_));
  filters.push_back(std::make_unique<SecurityHeadersFilter>(metrics_));
  auto cors = std::make_unique<CorsFilter>(options_.cors_origins, metrics_);
  cors_ = cors.get();
  filters.push_back(std::move(cors));
  filters.push_back(
      std::make_unique<AuthenticationFilter>(verifier_, std::move(refresh_keys), metrics_));
  filters.push_back(std::make_unique<AccessPolicyFilter>(metrics_));
  auto rate_limit = std::make_unique<RateLimitFilter>(limiter_, metrics_);
  rate_limit_ = rate_limit.get();
  filters.push_back(std::move(rate_limit));
  filters.push_back(std::make_unique<MicroCacheFilter>(
      MicroCacheFilter::Options{
          std::chrono::duration_cast<std::chrono::milliseconds>(options_.cache_ttl),
          options_.cache_max_entry_bytes, options_.cache_max_bytes},
      metrics_));
  return FilterChain(std::move(filters));
}

Gateway::~Gateway() {
  if (limiter_ != nullptr) limiter_->Drain();  // their answers go through this object
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
  // Called at start only, before serving: the table is fixed while requests run.
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
  if (head != nullptr) cors_->AddHeaders(*head, r);
  return r;
}

size_t Gateway::BodyLimit(const HttpRequest& head) {
  auto match = routes_.Find(head.method, head.path);
  if (match && match->route->policy.max_body_bytes() > 0)
    return match->route->policy.max_body_bytes();
  return options_.default_body_limit;
}

namespace {

bool IsBuiltin(std::string_view path) {
  return path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/openapi.json";
}

}  // namespace

void Gateway::Builtin(const HttpRequest& request, const RequestContext& ctx, Responder& responder) {
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = ErrorResponse(405, grpc::StatusCode::UNIMPLEMENTED,
                                   StrCat("method ", request.method, " is not allowed here"));
    r.headers.emplace_back("Allow", "GET, HEAD");
    Send(request, ctx, responder, std::move(r));
    return;
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
  }
  Send(request, ctx, responder, std::move(r));
}

void Gateway::Handle(HttpRequest request, std::shared_ptr<Responder> responder) {
  if (auto* admitted = std::any_cast<RequestContext>(&request.admission)) {
    // The filters ran on its headers (Admit); its body is here now.
    RequestContext ctx = std::move(*admitted);
    if (auto match = routes_.Find(request.method, request.path)) {
      HandleRoute(request, std::move(ctx), *match, std::move(responder));
      return;
    }
  }
  // What the request asks for decides what the filters guard; they run before any handler.
  RequestContext ctx;
  Routing routing = Classify(request, ctx);
  RunFilters(std::move(request), std::move(ctx), std::move(routing), std::move(responder));
}

Gateway::Routing Gateway::Classify(const HttpRequest& request, RequestContext& ctx) const {
  Routing routing;
  ctx.route_label = "builtin";
  if (IsBuiltin(request.path)) return routing;
  for (const auto& [p, handler] : prefix_handlers_) {
    if (request.path.starts_with(p)) {
      ctx.route_label = p;
      routing.prefix = &handler;
      handler.classify(request, ctx);
      return routing;
    }
  }
  // HEAD is GET without the body (the HTTP server leaves it out); not for event streams.
  const bool head = request.method == "HEAD";
  const std::string_view method = head ? std::string_view("GET") : std::string_view(request.method);
  // The methods the path allows are only needed when none matches (405 and its Allow header):
  // the usual request is looked up once, among the routes of its own method.
  routing.match = routes_.Find(method, request.path);
  if (!routing.match) routes_.Find(method, request.path, &routing.allowed);
  if (routing.match && head && routing.match->route->server_streaming &&
      !routing.match->route->raw_response) {
    routing.allowed = {"GET"};
    routing.match.reset();
  }
  if (routing.match) {
    const Route& route = *routing.match->route;
    ctx.route_label = StrCat(route.http_method, " ", route.path.text);
    ctx.policy = &route.policy;
    ctx.streaming = route.server_streaming;
  } else if (routing.allowed.empty() && static_files_ != nullptr &&
             (request.method == "GET" || request.method == "HEAD") &&
             (routing.file = static_files_->Find(request.path, request))) {
    ctx.route_label = "static";
  } else {
    ctx.route_label = "unmatched";
  }
  return routing;
}

void Gateway::Wait(std::function<void(RequestContext::Resume)> pending,
                   std::shared_ptr<Responder> responder,
                   std::function<void(const RequestContext::Decided&)> next) {
  pending(
      [responder = std::move(responder), next = std::move(next)](RequestContext::Decided decided) {
        responder->Post([next, decided = std::move(decided)] { next(decided); });
      });
}

void Gateway::RunFilters(HttpRequest request, RequestContext ctx, Routing routing,
                         std::shared_ptr<Responder> responder) {
  auto answer = chain_.Decode(request, ctx);
  if (ctx.pending) {
    // A filter waits (for Redis, for keys): the exchange is kept until it resumes.
    struct Held {
      HttpRequest request;
      RequestContext ctx;
      Routing routing;
      std::shared_ptr<Responder> responder;
    };
    auto pending = std::exchange(ctx.pending, nullptr);
    auto held = std::make_shared<Held>(
        Held{std::move(request), std::move(ctx), std::move(routing), responder});
    Wait(std::move(pending), std::move(responder),
         [this, held](const RequestContext::Decided& decided) {
           if (auto refusal = decided(held->ctx)) {
             Send(held->request, held->ctx, *held->responder, std::move(*refusal));
             return;
           }
           RunFilters(std::move(held->request), std::move(held->ctx), std::move(held->routing),
                      std::move(held->responder));
         });
    return;
  }
  if (answer) {
    Send(request, ctx, *responder, std::move(*answer));
    return;
  }
  Dispatch(request, std::move(ctx), routing, std::move(responder));
}

void Gateway::Dispatch(const HttpRequest& request, RequestContext ctx, const Routing& routing,
                       std::shared_ptr<Responder> responder) {
  if (routing.prefix != nullptr) {
    routing.prefix->handle(request, ctx, std::move(responder));
  } else if (IsBuiltin(request.path)) {
    Builtin(request, ctx, *responder);
  } else if (routing.match) {
    HandleRoute(request, std::move(ctx), *routing.match, std::move(responder));
  } else if (routing.file) {
    Send(request, ctx, *responder, *routing.file);
  } else if (!routing.allowed.empty()) {
    HttpResponse r = ErrorResponse(405, grpc::StatusCode::UNIMPLEMENTED,
                                   StrCat("method ", request.method, " is not allowed here"));
    r.headers.emplace_back("Allow", infra::StrJoin(routing.allowed, ", "));
    Send(request, ctx, *responder, std::move(r));
  } else {
    Send(request, ctx, *responder,
         ErrorResponse(404, grpc::StatusCode::NOT_FOUND, "no such resource"));
  }
}

}  // namespace cityhub::gateway
