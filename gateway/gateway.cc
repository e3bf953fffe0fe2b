#include "gateway/gateway.h"

#include <algorithm>
#include <charconv>

#include <grpcpp/client_context.h>

#include "gateway/errors.h"
#include "gateway/openapi.h"
#include "gateway/transcode.h"
#include "infra/auth/authorizer.h"
#include "infra/grpc/context.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway {

using google::protobuf::Message;
using infra::StrAppend;
using infra::StrCat;

namespace {

// max-age of a "public, max-age=N" Cache-Control, or 0.
std::chrono::milliseconds PublicMaxAge(std::string_view cache_control) {
  if (!cache_control.starts_with("public")) return std::chrono::milliseconds(0);
  const size_t at = cache_control.find("max-age=");
  if (at == std::string_view::npos) return std::chrono::milliseconds(0);
  int64_t seconds = 0;
  const std::string_view digits = cache_control.substr(at + 8);
  std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
  return std::chrono::seconds(seconds);
}

}  // namespace

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

void Gateway::AddCors(const HttpRequest& request, HttpResponse* response) const {
  const std::string_view origin = request.header("origin");
  if (origin.empty()) return;
  const bool any = std::find(options_.cors_origins.begin(), options_.cors_origins.end(), "*") !=
                   options_.cors_origins.end();
  const bool listed = std::find(options_.cors_origins.begin(), options_.cors_origins.end(),
                                origin) != options_.cors_origins.end();
  if (!any && !listed) return;
  response->headers.emplace_back("Access-Control-Allow-Origin", any ? "*" : std::string(origin));
  response->headers.emplace_back("Access-Control-Expose-Headers",
                                 "X-Request-Id, Retry-After, WWW-Authenticate");
  if (!any) response->headers.emplace_back("Vary", "Origin");
}

void Gateway::Send(const HttpRequest& request, const RequestContext& ctx, Responder& responder,
                   HttpResponse response) {
  responder.Reply(Finish(request, ctx, std::move(response)));
}

HttpResponse Gateway::Finish(const HttpRequest& request, const RequestContext& ctx,
                             HttpResponse response) {
  response.headers.emplace_back("X-Request-Id", ctx.request_id);
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (request.tls) response.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
  const bool has_cache_control =
      std::any_of(response.headers.begin(), response.headers.end(),
                  [](const auto& h) { return h.first == "Cache-Control"; });
  if (!has_cache_control) response.headers.emplace_back("Cache-Control", "no-store");
  AddCors(request, &response);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.start).count();
  RouteMetrics& m = MetricsFor(ctx.route_label);
  if (response.status >= 100 && response.status < 600) {
    infra::Counter* counter = m.by_status[response.status].load(std::memory_order_acquire);
    if (counter == nullptr) {
      counter = &requests_.WithLabels({ctx.route_label, std::to_string(response.status)});
      m.by_status[response.status].store(counter, std::memory_order_release);
    }
    counter->Inc();
  }
  m.latency->Observe(seconds);
  // The route template, never the path or query: those may hold ids and places.
  infra::log::Info("http", {{"request_id", ctx.request_id},
                            {"method", request.method},
                            {"route", ctx.route_label},
                            {"status", response.status},
                            {"latency_ms", seconds * 1000.0},
                            {"bytes", response.body.size()}});
  return response;
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

void Gateway::HandleRoute(const HttpRequest& request, RequestContext ctx,
                          const RouteTable::Match& match, std::shared_ptr<Responder> responder) {
  const Route& route = *match.route;
  if (!ctx.admitted) {
    if (auto refusal = AdmitRoute(request, route, ctx)) {
      Send(request, ctx, *responder, *std::move(refusal));
      return;
    }
  }
  // Anonymous reads of public, cacheable routes may be answered from the short-lived cache.
  std::string cache_key;
  if ((request.method == "GET" || request.method == "HEAD") && ctx.account_id.empty() &&
      !route.server_streaming && PublicMaxAge(route.policy.cache_control()).count() > 0) {
    cache_key = request.target;
    if (auto hit = CacheGet(cache_key)) {
      Send(request, ctx, *responder, std::move(*hit));
      return;
    }
  }
  auto query = ParseQuery(request.query);
  if (!query.ok()) {
    SendCharged(request, ctx, std::move(responder),
                ErrorResponse(400, grpc::StatusCode::INVALID_ARGUMENT,
                              infra::StdView(query.status().message())));
    return;
  }
  auto message = BuildRequest(match, *query, request.body, request.header("content-type"));
  if (!message.ok()) {
    SendCharged(request, ctx, std::move(responder),
                ErrorResponse(400, grpc::StatusCode::INVALID_ARGUMENT,
                              infra::StdView(message.status().message())));
    return;
  }
  if (route.server_streaming && route.raw_response) {
    StartDownload(request, std::move(ctx), route, std::move(*message), std::move(responder), 0);
    return;
  }
  if (route.server_streaming) {
    const std::string_view last_event = request.header("last-event-id");
    if (!route.resume_field.empty() && !last_event.empty()) {
      if (auto s =
              SetFieldFromText(message->get(), route.resume_field, last_event, "Last-Event-ID");
          !s.ok()) {
        Send(request, ctx, *responder,
             ErrorResponse(400, grpc::StatusCode::INVALID_ARGUMENT, infra::StdView(s.message())));
        return;
      }
    }
    StartStream(request, std::move(ctx), route, std::move(*message), std::move(responder));
    return;
  }
  CallUnary(request, std::move(ctx), route, std::shared_ptr<Message>(std::move(*message)),
            std::move(responder), std::move(cache_key), 0);
}

std::unique_ptr<grpc::ClientContext> Gateway::OutboundContext(const HttpRequest& request,
                                                              const RequestContext& ctx,
                                                              const Route& route) const {
  auto call = std::make_unique<grpc::ClientContext>();
  const auto deadline = route.policy.deadline_ms() > 0
                            ? std::chrono::milliseconds(route.policy.deadline_ms())
                            : options_.default_deadline;
  call->set_deadline(std::chrono::system_clock::now() + deadline);
  call->AddMetadata(infra::kRequestIdKey, ctx.request_id);
  call->AddMetadata(infra::kClientAddressKey, ctx.client_address);
  if (!options_.internal_token.empty())
    call->AddMetadata(infra::auth::kInternalTokenKey, options_.internal_token);
  const std::string_view authorization = request.header("authorization");
  if (!authorization.empty())
    call->AddMetadata(infra::kAuthorizationKey, std::string(authorization));
  const std::string_view idempotency = request.header("idempotency-key");
  if (route.policy.idempotent() && !idempotency.empty()) {
    call->AddMetadata(infra::kIdempotencyKey, std::string(idempotency));
  }
  return call;
}

void Gateway::CallUnary(const HttpRequest& request, RequestContext ctx, const Route& route,
                        std::shared_ptr<Message> message, std::shared_ptr<Responder> responder,
                        std::string cache_key, int attempt) {
  GenericStub* stub = backends_.StubFor(route.method->service()->full_name());
  if (stub == nullptr) {
    Send(request, ctx, *responder,
         ErrorResponse(503, grpc::StatusCode::UNAVAILABLE,
                       "this part of the service is not available"));
    return;
  }
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<Message> response;
  };
  auto call = std::make_shared<Call>();
  call->context = OutboundContext(request, ctx, route);
  // A retry waits, within the deadline, for the backend to accept connections again (it is
  // restarting) instead of failing at once; nothing of it has reached a backend before.
  call->context->set_wait_for_ready(attempt > 0);
  call->response.reset(google::protobuf::MessageFactory::generated_factory()
                           ->GetPrototype(route.method->output_type())
                           ->New());
  // The callback needs the request's headers and method after Handle returned.
  auto kept = std::make_shared<HttpRequest>(request.Head());
  stub->UnaryCall(
      call->context.get(), route.grpc_path, grpc::StubOptions(), message.get(),
      call->response.get(),
      [this, call, kept, ctx = std::move(ctx), &route, message, responder,
       cache_key = std::move(cache_key), attempt](grpc::Status status) mutable {
        if (!status.ok()) {
          // One retry of safe calls when the backend was unreachable (e.g. restarting).
          if (status.error_code() == grpc::StatusCode::UNAVAILABLE && attempt == 0 &&
              kept->method == "GET") {
            CallUnary(*kept, std::move(ctx), route, message, responder, std::move(cache_key), 1);
            return;
          }
          SendCharged(*kept, ctx, std::move(responder), BackendError(status, *call->context, ctx));
          return;
        }
        HttpResponse r;
        r.status = route.success_status;
        if (route.raw_response) {
          const auto* d = call->response->GetDescriptor();
          const auto* refl = call->response->GetReflection();
          r.headers.emplace_back(
              "Content-Type", refl->GetString(*call->response, d->FindFieldByName("content_type")));
          r.body = refl->GetString(*call->response, d->FindFieldByName("data"));
        } else {
          r.headers.emplace_back("Content-Type", "application/json");
          r.body = ToJson(*call->response);
        }
        // A route's caching applies to anonymous answers, and to raw ones (images), which are
        // the same bytes whoever asks; other answers to a signed-in caller may hold private fields.
        if (!route.policy.cache_control().empty() &&
            (ctx.account_id.empty() || route.raw_response)) {
          r.headers.emplace_back("Cache-Control", route.policy.cache_control());
        }
        if (!cache_key.empty()) {
          CachePut(
              cache_key, r,
              std::min(PublicMaxAge(route.policy.cache_control()),
                       std::chrono::duration_cast<std::chrono::milliseconds>(options_.cache_ttl)));
        }
        Send(*kept, ctx, *responder, std::move(r));
      });
}

HttpResponse Gateway::BackendError(const grpc::Status& status, const grpc::ClientContext& call,
                                   const RequestContext& ctx) const {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    // The caller gets a generic text; the detail (no personal data: transport errors) is here.
    infra::log::Warn("backend_error", {{"request_id", ctx.request_id},
                                       {"route", ctx.route_label},
                                       {"code", static_cast<int>(status.error_code())},
                                       {"error", status.error_message()}});
  }
  HttpResponse error = ErrorResponse(status);
  // Both are temporary: say when to come back (the backend's hint, else a second), so that
  // clients back off instead of hammering a service that is overloaded or has lost its Redis.
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
      status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    const auto& trailers = call.GetServerTrailingMetadata();
    auto it = trailers.find("retry-after");
    error.headers.emplace_back(
        "Retry-After", it == trailers.end() ? std::string("1")
                                            : std::string(it->second.data(), it->second.size()));
  }
  return error;
}

Gateway::RouteMetrics& Gateway::MetricsFor(const std::string& label) {
  std::lock_guard lock(metrics_mu_);
  auto& slot = route_metrics_[label];
  if (!slot) {
    slot = std::make_unique<RouteMetrics>();
    slot->latency = &latency_.WithLabels({label});
  }
  return *slot;
}

std::optional<HttpResponse> Gateway::CacheGet(const std::string& key) {
  std::lock_guard lock(cache_mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  if (std::chrono::steady_clock::now() >= it->second.expires) {
    cache_bytes_ -= it->second.response.body.size();
    cache_.erase(it);
    return std::nullopt;
  }
  return it->second.response;
}

void Gateway::CachePut(const std::string& key, const HttpResponse& response,
                       std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0 || response.body.size() > options_.cache_max_entry_bytes) return;
  std::lock_guard lock(cache_mu_);
  if (cache_bytes_ + response.body.size() > options_.cache_max_bytes) {
    cache_.clear();  // simple and bounded; the cache refills within a TTL
    cache_bytes_ = 0;
  }
  if (auto old = cache_.find(key); old != cache_.end()) {
    cache_bytes_ -= old->second.response.body.size();
    cache_.erase(old);
  }
  cache_.emplace(key, CacheEntry{response, std::chrono::steady_clock::now() + ttl});
  cache_bytes_ += response.body.size();
}

}  // namespace cityhub::gateway
