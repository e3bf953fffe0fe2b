#include "gateway/filters.h"

#include <algorithm>
#include <charconv>

#include "gateway/connection_limits.h"
#include "infra/auth/access.h"
#include "infra/grpc/context.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway {

namespace {

infra::Counter& Outcome(infra::Family<infra::Counter>& family, const std::string& outcome) {
  return family.WithLabels({outcome});
}

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

// --- stats ---------------------------------------------------------------------------------------

RequestIdStats::RequestIdStats(infra::MetricsRegistry& metrics)
    : given(Outcome(metrics.AddCounter("gateway_filter_request_id_total",
                                       "Requests by where their id came from", {"source"}),
                    "given")),
      generated(Outcome(metrics.AddCounter("gateway_filter_request_id_total",
                                           "Requests by where their id came from", {"source"}),
                        "generated")) {}

MetricsStats::MetricsStats(infra::MetricsRegistry& metrics)
    : requests(metrics.AddCounter("http_requests_total", "HTTP requests by route and status",
                                  {"route", "status"})),
      latency(metrics.AddHistogram("http_request_duration_seconds", "HTTP request latency by route",
                                   {"route"})) {}

AccessLogStats::AccessLogStats(infra::MetricsRegistry& metrics)
    : lines(metrics.AddCounter("gateway_filter_access_log_lines_total", "Access log lines written")
                .Get()) {}

SecurityHeadersStats::SecurityHeadersStats(infra::MetricsRegistry& metrics)
    : hsts(metrics
               .AddCounter("gateway_filter_security_headers_hsts_total",
                           "Answers over TLS that carry Strict-Transport-Security")
               .Get()) {}

CorsStats::CorsStats(infra::MetricsRegistry& metrics)
    : preflights(Outcome(metrics.AddCounter("gateway_filter_cors_total",
                                            "CORS: preflights answered, answers to allowed and "
                                            "to refused origins",
                                            {"outcome"}),
                         "preflight")),
      allowed(Outcome(metrics.AddCounter("gateway_filter_cors_total", "", {"outcome"}), "allowed")),
      refused(
          Outcome(metrics.AddCounter("gateway_filter_cors_total", "", {"outcome"}), "refused")) {}

AuthenticationStats::AuthenticationStats(infra::MetricsRegistry& metrics)
    : anonymous(Outcome(metrics.AddCounter("gateway_filter_authentication_total",
                                           "Callers of routes: anonymous, verified, invalid "
                                           "token (401), no signing keys yet (503)",
                                           {"outcome"}),
                        "anonymous")),
      verified(Outcome(metrics.AddCounter("gateway_filter_authentication_total", "", {"outcome"}),
                       "verified")),
      invalid(Outcome(metrics.AddCounter("gateway_filter_authentication_total", "", {"outcome"}),
                      "invalid")),
      keys_unavailable(
          Outcome(metrics.AddCounter("gateway_filter_authentication_total", "", {"outcome"}),
                  "keys_unavailable")) {}

AccessPolicyStats::AccessPolicyStats(infra::MetricsRegistry& metrics)
    : allowed(Outcome(metrics.AddCounter("gateway_filter_access_policy_total",
                                         "Access policy decisions: allowed, sign-in required "
                                         "(401), too few rights (403)",
                                         {"outcome"}),
                      "allowed")),
      unauthenticated(
          Outcome(metrics.AddCounter("gateway_filter_access_policy_total", "", {"outcome"}),
                  "unauthenticated")),
      denied(Outcome(metrics.AddCounter("gateway_filter_access_policy_total", "", {"outcome"}),
                     "denied")) {}

RateLimitStats::RateLimitStats(infra::MetricsRegistry& metrics)
    : allowed(Outcome(metrics.AddCounter("gateway_filter_rate_limit_total",
                                         "Rate limit decisions at the gateway", {"outcome"}),
                      "allowed")),
      limited(Outcome(metrics.AddCounter("gateway_filter_rate_limit_total", "", {"outcome"}),
                      "limited")) {}

MicroCacheStats::MicroCacheStats(infra::MetricsRegistry& metrics)
    : hits(Outcome(
          metrics.AddCounter("gateway_filter_micro_cache_total",
                             "Micro-cache lookups (hit, miss) and answers stored", {"outcome"}),
          "hit")),
      misses(
          Outcome(metrics.AddCounter("gateway_filter_micro_cache_total", "", {"outcome"}), "miss")),
      stores(Outcome(metrics.AddCounter("gateway_filter_micro_cache_total", "", {"outcome"}),
                     "store")),
      bytes(metrics.AddGauge("gateway_filter_micro_cache_bytes", "Bytes of answers kept").Get()) {}

// --- request id ----------------------------------------------------------------------------------

RequestIdFilter::RequestIdFilter(const infra::Clock& clock, bool trust_forwarded_for,
                                 infra::MetricsRegistry& metrics)
    : clock_(clock), trust_forwarded_for_(trust_forwarded_for), stats_(metrics) {}

std::optional<HttpResponse> RequestIdFilter::OnRequest(const HttpRequest& request,
                                                       RequestContext& ctx) {
  ctx.start = std::chrono::steady_clock::now();
  const std::string_view given_id = request.header("x-request-id");
  if (infra::IsValidRequestId(given_id)) {
    ctx.request_id = std::string(given_id);
    stats_.given.Inc();
  } else {
    ctx.request_id = infra::NewTraceId(clock_.Now());
    stats_.generated.Inc();
  }
  ctx.client_address = ClientIdentity(ForwardedClient(request));
  return std::nullopt;
}

void RequestIdFilter::OnResponse(const HttpRequest&, const RequestContext& ctx,
                                 HttpResponse& response) {
  response.headers.emplace_back("X-Request-Id", ctx.request_id);
}

std::string RequestIdFilter::ForwardedClient(const HttpRequest& request) const {
  if (!trust_forwarded_for_) return request.client_address;
  // The list may come in several header lines (one per proxy); together they are one list, whose
  // right-most entry is what the trusted proxy saw. Empty entries are skipped.
  for (auto it = request.headers.rbegin(); it != request.headers.rend(); ++it) {
    if (it->first != "x-forwarded-for") continue;
    std::string_view list = it->second;
    while (!list.empty()) {
      const size_t comma = list.rfind(',');
      const std::string_view entry =
          infra::TrimAscii(comma == std::string_view::npos ? list : list.substr(comma + 1));
      if (!entry.empty()) return std::string(entry);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
    }
  }
  return request.client_address;
}

// --- metrics and access log ----------------------------------------------------------------------

MetricsFilter::MetricsFilter(infra::MetricsRegistry& metrics) : stats_(metrics) {}

void MetricsFilter::OnResponse(const HttpRequest&, const RequestContext& ctx,
                               HttpResponse& response) {
  RouteMetrics& m = For(ctx.route_label);
  if (response.status >= 100 && response.status < 600) {
    infra::Counter* counter = m.by_status[response.status].load(std::memory_order_acquire);
    if (counter == nullptr) {
      counter = &stats_.requests.WithLabels({ctx.route_label, std::to_string(response.status)});
      m.by_status[response.status].store(counter, std::memory_order_release);
    }
    counter->Inc();
  }
  m.latency->Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.start).count());
}

MetricsFilter::RouteMetrics& MetricsFilter::For(const std::string& label) {
  std::lock_guard lock(mu_);
  auto& slot = routes_[label];
  if (!slot) {
    slot = std::make_unique<RouteMetrics>();
    slot->latency = &stats_.latency.WithLabels({label});
  }
  return *slot;
}

void AccessLogFilter::OnResponse(const HttpRequest& request, const RequestContext& ctx,
                                 HttpResponse& response) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.start).count();
  infra::log::Info("http", {{"request_id", ctx.request_id},
                            {"method", request.method},
                            {"route", ctx.route_label},
                            {"status", response.status},
                            {"latency_ms", seconds * 1000.0},
                            {"bytes", response.body.size()}});
  stats_.lines.Inc();
}

// --- security headers and CORS -------------------------------------------------------------------

void SecurityHeadersFilter::OnResponse(const HttpRequest& request, const RequestContext&,
                                       HttpResponse& response) {
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (request.tls) {
    response.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
    stats_.hsts.Inc();
  }
  const bool has_cache_control =
      std::any_of(response.headers.begin(), response.headers.end(),
                  [](const auto& h) { return h.first == "Cache-Control"; });
  if (!has_cache_control) response.headers.emplace_back("Cache-Control", "no-store");
}

CorsFilter::CorsFilter(std::vector<std::string> origins, infra::MetricsRegistry& metrics)
    : origins_(std::move(origins)),
      any_(std::find(origins_.begin(), origins_.end(), "*") != origins_.end()),
      stats_(metrics) {}

std::optional<HttpResponse> CorsFilter::OnRequest(const HttpRequest& request, RequestContext& ctx) {
  if (request.method != "OPTIONS" || request.header("access-control-request-method").empty()) {
    return std::nullopt;
  }
  stats_.preflights.Inc();
  HttpResponse r;
  r.status = 204;
  r.headers = {{"Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"},
               {"Access-Control-Allow-Headers",
                "Authorization, Content-Type, Idempotency-Key, X-Request-Id, Last-Event-ID"},
               {"Access-Control-Max-Age", "600"},
               {"Cache-Control", "no-store"}};
  ctx.route_label = "preflight";
  return r;
}

void CorsFilter::OnResponse(const HttpRequest& request, const RequestContext&,
                            HttpResponse& response) {
  if (request.header("origin").empty()) return;
  (AddHeaders(request, response) ? stats_.allowed : stats_.refused).Inc();
}

bool CorsFilter::AddHeaders(const HttpRequest& request, HttpResponse& response) const {
  const std::string_view origin = request.header("origin");
  if (origin.empty()) return false;
  if (!any_ && std::find(origins_.begin(), origins_.end(), origin) == origins_.end()) return false;
  response.headers.emplace_back("Access-Control-Allow-Origin", any_ ? "*" : std::string(origin));
  response.headers.emplace_back("Access-Control-Expose-Headers",
                                "X-Request-Id, Retry-After, WWW-Authenticate, Link, "
                                "X-Next-Page-Token, Content-Disposition");
  if (!any_) response.headers.emplace_back("Vary", "Origin");
  return true;
}

// --- authentication and access policy ------------------------------------------------------------

AuthenticationFilter::AuthenticationFilter(const infra::auth::TokenVerifier& verifier,
                                           RefreshKeys refresh_keys,
                                           infra::MetricsRegistry& metrics)
    : verifier_(verifier), refresh_keys_(std::move(refresh_keys)), stats_(metrics) {}

std::optional<HttpResponse> AuthenticationFilter::OnRequest(const HttpRequest& request,
                                                            RequestContext& ctx) {
  if (ctx.policy == nullptr || !ctx.identify) return std::nullopt;
  const std::string_view authorization = request.header("authorization");
  if (authorization.empty()) {
    stats_.anonymous.Inc();
    return std::nullopt;
  }
  auto claims = infra::auth::VerifyBearer(verifier_, {}, authorization);
  const std::string_view token = infra::auth::BearerToken(authorization);
  if (!claims.ok() && refresh_keys_ && !token.empty() &&
      !verifier_.HasKey(infra::auth::TokenVerifier::PeekKid(token))) {
    // A key this replica has not loaded (the accounts service rotated its keys, or none are
    // loaded yet): fetched off this thread, then the token is checked again.
    ctx.pending = [this,
                   authorization = std::string(authorization)](RequestContext::Resume resume) {
      refresh_keys_([this, authorization, resume = std::move(resume)](bool) {
        resume([this, authorization](RequestContext& ctx) {
          return Decide(infra::auth::VerifyBearer(verifier_, {}, authorization), ctx);
        });
      });
    };
    return std::nullopt;
  }
  return Decide(std::move(claims), ctx);
}

std::optional<HttpResponse> AuthenticationFilter::Decide(
    absl::StatusOr<infra::auth::AccessClaims> claims, RequestContext& ctx) {
  if (!claims.ok() && claims.status().code() == absl::StatusCode::kUnavailable) {
    stats_.keys_unavailable.Inc();
    HttpResponse r =
        ctx.Error(503, grpc::StatusCode::UNAVAILABLE, infra::StdView(claims.status().message()));
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  if (!claims.ok()) {
    stats_.invalid.Inc();
    HttpResponse r = ctx.Error(401, grpc::StatusCode::UNAUTHENTICATED,
                               infra::StdView(claims.status().message()));
    r.headers.emplace_back("WWW-Authenticate", R"(Bearer error="invalid_token")");
    return r;
  }
  stats_.verified.Inc();
  ctx.account_id = std::move(claims->subject);
  ctx.roles = std::move(claims->roles);
  return std::nullopt;
}

std::optional<HttpResponse> AccessPolicyFilter::OnRequest(const HttpRequest&, RequestContext& ctx) {
  if (ctx.policy == nullptr) return std::nullopt;
  const absl::Status s =
      infra::auth::CheckAccess(ctx.policy->access(), {!ctx.account_id.empty(), &ctx.roles, false});
  if (s.ok()) {
    stats_.allowed.Inc();
    return std::nullopt;
  }
  if (s.code() == absl::StatusCode::kUnauthenticated) {
    stats_.unauthenticated.Inc();
    HttpResponse r = ctx.Error(401, grpc::StatusCode::UNAUTHENTICATED, infra::StdView(s.message()));
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  stats_.denied.Inc();
  return ctx.Error(403, grpc::StatusCode::PERMISSION_DENIED, infra::StdView(s.message()));
}

// --- rate limit ----------------------------------------------------------------------------------

RateLimitFilter::RateLimitFilter(RateLimiter* limiter, infra::MetricsRegistry& metrics)
    : limiter_(limiter), stats_(metrics) {}

std::optional<HttpResponse> RateLimitFilter::OnRequest(const HttpRequest&, RequestContext& ctx) {
  if (ctx.policy == nullptr || limiter_ == nullptr) return std::nullopt;
  const auto rate_class = ctx.policy->rate_class();
  auto begun = limiter_->Begin(rate_class, ctx.client_address, ctx.account_id);
  if (const auto* decided = std::get_if<Decision>(&begun)) return Decide(*decided, rate_class, ctx);
  // Redis decides: asked without waiting, the exchange goes on when it answers.
  ctx.pending = [this, rate_class, pending = std::get<RateLimiter::Pending>(std::move(begun))](
                    RequestContext::Resume resume) mutable {
    limiter_->Ask(std::move(pending), [this, rate_class, resume = std::move(resume)](Decision d) {
      resume([this, rate_class, d](RequestContext& ctx) { return Decide(d, rate_class, ctx); });
    });
  };
  return std::nullopt;
}

std::optional<HttpResponse> RateLimitFilter::Decide(const Decision& d,
                                                    cityhub::api::RateClass rate_class,
                                                    RequestContext& ctx) {
  if (auto refusal = Refusal(ctx.errors, d, "too many requests; slow down")) return refusal;
  ctx.charged = rate_class;
  return std::nullopt;
}

void RateLimitFilter::ChargeMore(const RequestContext& ctx, cityhub::api::RateClass rate_class,
                                 int units, std::string message, Charged then) {
  if (limiter_ == nullptr || units < 1) return then(std::nullopt);
  limiter_->Check(
      rate_class, ctx.client_address, ctx.account_id,
      [this, errors = ctx.errors, message = std::move(message),
       then = std::move(then)](Decision d) { then(Refusal(errors, d, message)); },
      units);
}

void RateLimitFilter::ChargePartner(const RequestContext& ctx, std::string api_key_id,
                                    std::string message, Charged then) {
  if (limiter_ == nullptr) return then(std::nullopt);
  limiter_->CheckPartner(
      api_key_id, [this, errors = ctx.errors, message = std::move(message),
                   then = std::move(then)](Decision d) { then(Refusal(errors, d, message)); });
}

std::optional<HttpResponse> RateLimitFilter::Refusal(const ErrorFormat* errors, const Decision& d,
                                                     std::string_view message) {
  if (d.allowed) {
    stats_.allowed.Inc();
    return std::nullopt;
  }
  stats_.limited.Inc();
  HttpResponse r = ErrorIn(errors, 429, grpc::StatusCode::RESOURCE_EXHAUSTED, message);
  r.headers.emplace_back("Retry-After", RetryAfterSeconds(d));
  return r;
}

// --- micro-cache ---------------------------------------------------------------------------------

MicroCacheFilter::MicroCacheFilter(Options options, infra::MetricsRegistry& metrics)
    : options_(options), stats_(metrics) {}

std::optional<HttpResponse> MicroCacheFilter::OnRequest(const HttpRequest& request,
                                                        RequestContext& ctx) {
  // Anonymous reads only: other answers to a signed-in caller may hold private fields. A
  // request whose body is still to come is not answered before it arrived.
  if (ctx.policy == nullptr || ctx.streaming || ctx.before_body || !ctx.account_id.empty() ||
      (request.method != "GET" && request.method != "HEAD")) {
    return std::nullopt;
  }
  const auto ttl = std::min(PublicMaxAge(ctx.policy->cache_control()),
                            std::chrono::duration_cast<std::chrono::milliseconds>(options_.ttl));
  if (ttl.count() <= 0) return std::nullopt;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(request.target);
    if (it != entries_.end()) {
      if (std::chrono::steady_clock::now() < it->second.expires) {
        stats_.hits.Inc();
        return it->second.response;
      }
      bytes_ -= it->second.response.body.size();
      stats_.bytes.Set(static_cast<double>(bytes_));
      entries_.erase(it);
    }
  }
  stats_.misses.Inc();
  ctx.cache_key = request.target;
  ctx.cache_ttl = ttl;
  return std::nullopt;
}

void MicroCacheFilter::OnResponse(const HttpRequest&, const RequestContext& ctx,
                                  HttpResponse& response) {
  if (ctx.cache_key.empty() || response.status < 200 || response.status >= 300 ||
      response.body.size() > options_.max_entry_bytes) {
    return;
  }
  std::lock_guard lock(mu_);
  if (bytes_ + response.body.size() > options_.max_bytes) {
    entries_.clear();  // simple and bounded; the cache refills within a TTL
    bytes_ = 0;
  }
  if (auto old = entries_.find(ctx.cache_key); old != entries_.end()) {
    bytes_ -= old->second.response.body.size();
    entries_.erase(old);
  }
  entries_.emplace(ctx.cache_key,
                   Entry{response, std::chrono::steady_clock::now() + ctx.cache_ttl});
  bytes_ += response.body.size();
  stats_.bytes.Set(static_cast<double>(bytes_));
  stats_.stores.Inc();
}

}  // namespace cityhub::gateway
