#pragma once

// The gateway's filters, one concern each, and their stats, declared together. The chain, in
// decode order (the encode side runs in reverse):
//
//   request_id → metrics → access_log → security_headers → cors → authentication →
//   access_policy → rate_limit → micro_cache
//
// The filters that see every answer come first, so that a refusal by a later one is still
// counted, logged and carries its request id; the micro-cache comes last, so that a cached
// answer still costs a rate-limit unit and is stored before the common headers are added.
#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/filter.h"
#include "gateway/rate_limit.h"
#include "infra/auth/access.h"
#include "infra/auth/jwt.h"
#include "infra/clock.h"
#include "infra/metrics.h"

namespace cityhub::gateway {

// --- stats, one struct per filter ----------------------------------------------------------------

struct RequestIdStats {
  explicit RequestIdStats(infra::MetricsRegistry& metrics);
  infra::Counter& given;      // the client's X-Request-Id was kept
  infra::Counter& generated;  // none or an invalid one: a new id
};

struct MetricsStats {
  explicit MetricsStats(infra::MetricsRegistry& metrics);
  infra::Family<infra::Counter>& requests;   // by route and status
  infra::Family<infra::Histogram>& latency;  // by route
};

struct AccessLogStats {
  explicit AccessLogStats(infra::MetricsRegistry& metrics);
  infra::Counter& lines;
};

struct SecurityHeadersStats {
  explicit SecurityHeadersStats(infra::MetricsRegistry& metrics);
  infra::Counter& hsts;  // answers over TLS, with Strict-Transport-Security
};

struct CorsStats {
  explicit CorsStats(infra::MetricsRegistry& metrics);
  infra::Counter& preflights;
  infra::Counter& allowed;  // answers to a listed origin
  infra::Counter& refused;  // answers to an origin not listed (no CORS headers)
};

struct AuthenticationStats {
  explicit AuthenticationStats(infra::MetricsRegistry& metrics);
  infra::Counter& anonymous;
  infra::Counter& verified;
  infra::Counter& invalid;           // 401
  infra::Counter& keys_unavailable;  // 503: no signing keys loaded yet
};

struct AccessPolicyStats {
  explicit AccessPolicyStats(infra::MetricsRegistry& metrics);
  infra::Counter& allowed;
  infra::Counter& unauthenticated;  // 401
  infra::Counter& denied;           // 403
};

struct RateLimitStats {
  explicit RateLimitStats(infra::MetricsRegistry& metrics);
  infra::Counter& allowed;
  infra::Counter& limited;  // 429
};

struct MicroCacheStats {
  explicit MicroCacheStats(infra::MetricsRegistry& metrics);
  infra::Counter& hits;
  infra::Counter& misses;
  infra::Counter& stores;
  infra::Gauge& bytes;
};

// --- the filters ---------------------------------------------------------------------------------

// The request's id (the client's X-Request-Id when valid, else a new one), its client address
// (as rate limits and the services count it) and its start; answers carry X-Request-Id.
class RequestIdFilter final : public Filter {
 public:
  RequestIdFilter(const infra::Clock& clock, bool trust_forwarded_for,
                  infra::MetricsRegistry& metrics);
  std::string_view name() const override { return "request_id"; }
  std::optional<HttpResponse> OnRequest(const HttpRequest& request, RequestContext& ctx) override;
  void OnResponse(const HttpRequest& request, const RequestContext& ctx,
                  HttpResponse& response) override;
  // The peer, or behind a trusted proxy the right-most X-Forwarded-For entry.
  std::string ForwardedClient(const HttpRequest& request) const;

 private:
  const infra::Clock& clock_;
  bool trust_forwarded_for_;
  RequestIdStats stats_;
};

// Requests by route and status, and latency by route.
class MetricsFilter final : public Filter {
 public:
  explicit MetricsFilter(infra::MetricsRegistry& metrics);
  std::string_view name() const override { return "metrics"; }
  std::optional<HttpResponse> OnRequest(const HttpRequest&, RequestContext&) override {
    return std::nullopt;
  }
  void OnResponse(const HttpRequest& request, const RequestContext& ctx,
                  HttpResponse& response) override;

 private:
  // The metric children of one route, looked up once (label lookups take a lock and a map).
  struct RouteMetrics {
    infra::Histogram* latency = nullptr;
    std::array<std::atomic<infra::Counter*>, 600> by_status{};
  };
  RouteMetrics& For(const std::string& label);

  MetricsStats stats_;
  std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<RouteMetrics>> routes_;
};

// One JSON line per answer: the route template, never the path or query (those may hold ids
// and places).
class AccessLogFilter final : public Filter {
 public:
  explicit AccessLogFilter(infra::MetricsRegistry& metrics) : stats_(metrics) {}
  std::string_view name() const override { return "access_log"; }
  std::optional<HttpResponse> OnRequest(const HttpRequest&, RequestContext&) override {
    return std::nullopt;
  }
  void OnResponse(const HttpRequest& request, const RequestContext& ctx,
                  HttpResponse& response) override;

 private:
  AccessLogStats stats_;
};

// nosniff, no framing, no referrer, HSTS over TLS, and Cache-Control: no-store unless the
// answer says otherwise.
class SecurityHeadersFilter final : public Filter {
 public:
  explicit SecurityHeadersFilter(infra::MetricsRegistry& metrics) : stats_(metrics) {}
  std::string_view name() const override { return "security_headers"; }
  std::optional<HttpResponse> OnRequest(const HttpRequest&, RequestContext&) override {
    return std::nullopt;
  }
  void OnResponse(const HttpRequest& request, const RequestContext& ctx,
                  HttpResponse& response) override;

 private:
  SecurityHeadersStats stats_;
};

// Answers preflights (204) and lets browsers of the configured origins ("*": any) read answers.
class CorsFilter final : public Filter {
 public:
  CorsFilter(std::vector<std::string> origins, infra::MetricsRegistry& metrics);
  std::string_view name() const override { return "cors"; }
  std::optional<HttpResponse> OnRequest(const HttpRequest& request, RequestContext& ctx) override;
  void OnResponse(const HttpRequest& request, const RequestContext& ctx,
                  HttpResponse& response) override;
  // The CORS headers alone (also for answers the HTTP server writes itself); false when the
  // origin is not allowed.
  bool AddHeaders(const HttpRequest& request, HttpResponse& response) const;

 private:
  std::vector<std::string> origins_;
  bool any_;
  CorsStats stats_;
};

// Who calls, from a bearer token (verified tokens are cached by the verifier): fills
// ctx.account_id and ctx.roles. A bad token is 401 even on public routes; a verifier without
// keys is 503 with Retry-After: 1 (try again, not signed out).
class AuthenticationFilter final : public Filter {
 public:
  // Loads the keys again (without blocking the caller), then calls its argument with whether
  // it loaded them: for a token naming a key id the verifier does not know.
  using RefreshKeys = std::function<void(std::function<void(bool)>)>;
  // `refresh_keys` may be empty (keys never change).
  AuthenticationFilter(const infra::auth::TokenVerifier& verifier, RefreshKeys refresh_keys,
                       infra::MetricsRegistry& metrics);
  std::string_view name() const override { return "authentication"; }
  std::optional<HttpResponse> OnRequest(const HttpRequest& request, RequestContext& ctx) override;
  void OnResponse(const HttpRequest&, const RequestContext&, HttpResponse&) override {}

 private:
  std::optional<HttpResponse> Decide(absl::StatusOr<infra::auth::AccessClaims> claims,
                                     RequestContext& ctx);

  const infra::auth::TokenVerifier& verifier_;
  RefreshKeys refresh_keys_;
  AuthenticationStats stats_;
};

// The route's access level (infra::auth::CheckAccess): 401 when an account is needed, 403 for
// too few rights.
class AccessPolicyFilter final : public Filter {
 public:
  explicit AccessPolicyFilter(infra::MetricsRegistry& metrics) : stats_(metrics) {}
  std::string_view name() const override { return "access_policy"; }
  std::optional<HttpResponse> OnRequest(const HttpRequest& request, RequestContext& ctx) override;
  void OnResponse(const HttpRequest&, const RequestContext&, HttpResponse&) override {}

 private:
  AccessPolicyStats stats_;
};

// One unit of the route's rate class, per account when signed in, else per address (429 with
// Retry-After over budget); sets ctx.charged. Without a limiter (rate limits off) it lets
// everything pass.
class RateLimitFilter final : public Filter {
 public:
  RateLimitFilter(RateLimiter* limiter, infra::MetricsRegistry& metrics);
  std::string_view name() const override { return "rate_limit"; }
  std::optional<HttpResponse> OnRequest(const HttpRequest& request, RequestContext& ctx) override;
  void OnResponse(const HttpRequest&, const RequestContext&, HttpResponse&) override {}

  // Runs with nullopt (go on) or the refusal (429), on the Redis client's thread or at once:
  // it must not block.
  using Charged = std::function<void(std::optional<HttpResponse> refusal)>;
  // `units` more units of `rate_class` for the caller of `ctx`, all or none (a handler whose
  // work costs more than one call, such as a deep Open311 page); a refusal says `message`.
  void ChargeMore(const RequestContext& ctx, cityhub::api::RateClass rate_class, int units,
                  std::string message, Charged then);
  // One unit of a partner's own budget (by its API key's id); a refusal says `message`, in
  // the error format of `ctx`.
  void ChargePartner(const RequestContext& ctx, std::string api_key_id, std::string message,
                     Charged then);

 private:
  std::optional<HttpResponse> Decide(const Decision& d, cityhub::api::RateClass rate_class,
                                     RequestContext& ctx);
  std::optional<HttpResponse> Refusal(const ErrorFormat* errors, const Decision& d,
                                      std::string_view message);

  RateLimiter* limiter_;
  RateLimitStats stats_;
};

// The short-lived cache of public answers (Cache-Control: public, max-age) to anonymous reads:
// a hit answers at once; a successful answer to a miss is kept for its max-age, at most the
// configured TTL.
class MicroCacheFilter final : public Filter {
 public:
  struct Options {
    std::chrono::milliseconds ttl{5'000};
    size_t max_entry_bytes = 256 * 1024;
    size_t max_bytes = 64 * 1024 * 1024;
  };
  MicroCacheFilter(Options options, infra::MetricsRegistry& metrics);
  std::string_view name() const override { return "micro_cache"; }
  std::optional<HttpResponse> OnRequest(const HttpRequest& request, RequestContext& ctx) override;
  void OnResponse(const HttpRequest& request, const RequestContext& ctx,
                  HttpResponse& response) override;

 private:
  struct Entry {
    HttpResponse response;
    std::chrono::steady_clock::time_point expires;
  };

  Options options_;
  MicroCacheStats stats_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  size_t bytes_ = 0;
};

}  // namespace cityhub::gateway
