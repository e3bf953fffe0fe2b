// Every answer's last steps: security and CORS headers, the request id, metrics by route and
// status, and the access log.
#include <algorithm>

#include "gateway/gateway.h"
#include "infra/log.h"

namespace cityhub::gateway {

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

Gateway::RouteMetrics& Gateway::MetricsFor(const std::string& label) {
  std::lock_guard lock(metrics_mu_);
  auto& slot = route_metrics_[label];
  if (!slot) {
    slot = std::make_unique<RouteMetrics>();
    slot->latency = &latency_.WithLabels({label});
  }
  return *slot;
}

}  // namespace cityhub::gateway
