#include "gateway/filter.h"

#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/filters.h"
#include "gateway/open311_impl.h"
#include "infra/auth/jwt.h"
#include "infra/auth/test_keys.h"
#include "infra/clock.h"
#include "infra/metrics.h"
#include "infra/redis/client.h"

namespace cityhub::gateway {
namespace {

using namespace std::chrono_literals;

// Records what it saw in `log`; answers `status` on the decode side when status != 0.
class Recording final : public Filter {
 public:
  Recording(std::string name, std::vector<std::string>& log, int status = 0)
      : name_(std::move(name)), log_(log), status_(status) {}
  std::string_view name() const override { return name_; }
  std::optional<HttpResponse> OnRequest(const HttpRequest&, RequestContext&) override {
    log_.push_back("request " + name_);
    if (status_ == 0) return std::nullopt;
    HttpResponse r;
    r.status = status_;
    return r;
  }
  void OnResponse(const HttpRequest&, const RequestContext&, HttpResponse& response) override {
    log_.push_back("response " + name_);
    response.headers.emplace_back("X-Seen", name_);
  }

 private:
  std::string name_;
  std::vector<std::string>& log_;
  int status_;
};

FilterChain Chain(std::vector<std::string>& log, int b_status = 0) {
  std::vector<std::unique_ptr<Filter>> filters;
  filters.push_back(std::make_unique<Recording>("a", log));
  filters.push_back(std::make_unique<Recording>("b", log, b_status));
  filters.push_back(std::make_unique<Recording>("c", log));
  return FilterChain(std::move(filters));
}

// A filter's decode side to its end: when it waits (ctx.pending), waits here for it to resume
// and runs the rest as the gateway would on the connection's thread.
std::optional<HttpResponse> DecodeNow(Filter& filter, const HttpRequest& request,
                                      RequestContext& ctx) {
  auto answer = filter.OnRequest(request, ctx);
  if (!ctx.pending) return answer;
  EXPECT_FALSE(answer.has_value()) << "a waiting filter answers only when it resumes";
  std::promise<RequestContext::Decided> resumed;
  auto pending = std::exchange(ctx.pending, nullptr);
  pending([&](RequestContext::Decided decided) { resumed.set_value(std::move(decided)); });
  return resumed.get_future().get()(ctx);
}

HttpRequest Get(std::string target, Headers headers = {}) {
  HttpRequest r;
  r.method = "GET";
  r.target = target;
  r.path = target.substr(0, target.find('?'));
  r.headers = std::move(headers);
  r.client_address = "203.0.113.7";
  return r;
}

cityhub::api::Policy PolicyOf(cityhub::api::Access access, cityhub::api::RateClass rate_class,
                              std::string cache_control = "") {
  cityhub::api::Policy p;
  p.set_access(access);
  p.set_rate_class(rate_class);
  p.set_cache_control(std::move(cache_control));
  return p;
}

double Count(infra::MetricsRegistry& metrics, const std::string& name, const std::string& outcome) {
  return metrics.AddCounter(name, "", {"outcome"}).WithLabels({outcome}).Value();
}

std::string HeaderOf(const HttpResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

TEST(FilterChain, DecodesInOrderAndEncodesInReverse) {
  std::vector<std::string> log;
  const FilterChain chain = Chain(log);
  HttpRequest request = Get("/x");
  RequestContext ctx;
  EXPECT_FALSE(chain.Decode(request, ctx).has_value());
  EXPECT_EQ(ctx.decoded, 3u);
  HttpResponse response;
  chain.Encode(request, ctx, response);
  EXPECT_EQ(log, (std::vector<std::string>{"request a", "request b", "request c", "response c",
                                           "response b", "response a"}));
}

TEST(FilterChain, AnAnswerOnTheDecodeSideStopsTheChainAndOnlyEarlierFiltersEncode) {
  std::vector<std::string> log;
  const FilterChain chain = Chain(log, 429);
  HttpRequest request = Get("/x");
  RequestContext ctx;
  auto answer = chain.Decode(request, ctx);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 429);
  chain.Encode(request, ctx, *answer);
  EXPECT_EQ(log, (std::vector<std::string>{"request a", "request b", "response b", "response a"}));
}

TEST(FilterChain, ADecodeGoesOnFromTheFirstFilterNotYetRun) {
  std::vector<std::string> log;
  const FilterChain chain = Chain(log);
  HttpRequest request = Get("/x");
  RequestContext ctx;
  ctx.decoded = 2;
  EXPECT_FALSE(chain.Decode(request, ctx).has_value());
  EXPECT_EQ(log, (std::vector<std::string>{"request c"}));
}

// Waits on its decode side (as the rate limiter waits for Redis) and logs when it resumes.
class Waiting final : public Filter {
 public:
  explicit Waiting(std::vector<std::string>& log) : log_(log) {}
  std::string_view name() const override { return "w"; }
  std::optional<HttpResponse> OnRequest(const HttpRequest&, RequestContext& ctx) override {
    log_.push_back("request w");
    ctx.pending = [this](RequestContext::Resume resume) {
      resume([this](RequestContext&) -> std::optional<HttpResponse> {
        log_.push_back("resumed w");
        return std::nullopt;
      });
    };
    return std::nullopt;
  }
  void OnResponse(const HttpRequest&, const RequestContext&, HttpResponse&) override {}

 private:
  std::vector<std::string>& log_;
};

TEST(FilterChain, AWaitingFilterStopsTheChainAndTheNextDecodeGoesOnAfterIt) {
  std::vector<std::string> log;
  std::vector<std::unique_ptr<Filter>> filters;
  filters.push_back(std::make_unique<Recording>("a", log));
  filters.push_back(std::make_unique<Waiting>(log));
  filters.push_back(std::make_unique<Recording>("c", log));
  const FilterChain chain(std::move(filters));
  HttpRequest request = Get("/x");
  RequestContext ctx;
  EXPECT_FALSE(chain.Decode(request, ctx).has_value());
  ASSERT_TRUE(ctx.pending) << "the chain stopped at the waiting filter";
  EXPECT_EQ(ctx.decoded, 2u);
  EXPECT_EQ(log, (std::vector<std::string>{"request a", "request w"}));
  auto pending = std::exchange(ctx.pending, nullptr);
  pending([&](const RequestContext::Decided& decided) { EXPECT_FALSE(decided(ctx)); });
  EXPECT_FALSE(chain.Decode(request, ctx).has_value());
  EXPECT_EQ(log, (std::vector<std::string>{"request a", "request w", "resumed w", "request c"}));
}

TEST(FilterChain, TheGatewaysOrderIsFixed) {
  // Built as Gateway::BuildChain builds it (filters.h documents why this order).
  infra::MetricsRegistry metrics;
  infra::SystemClock clock;
  infra::auth::TokenVerifier verifier(infra::auth::TokenSettings{}, clock);
  std::vector<std::unique_ptr<Filter>> filters;
  filters.push_back(std::make_unique<RequestIdFilter>(clock, false, metrics));
  filters.push_back(std::make_unique<MetricsFilter>(metrics));
  filters.push_back(std::make_unique<AccessLogFilter>(metrics));
  filters.push_back(std::make_unique<SecurityHeadersFilter>(metrics));
  filters.push_back(std::make_unique<CorsFilter>(std::vector<std::string>{"*"}, metrics));
  filters.push_back(std::make_unique<AuthenticationFilter>(verifier, nullptr, metrics));
  filters.push_back(std::make_unique<AccessPolicyFilter>(metrics));
  filters.push_back(std::make_unique<RateLimitFilter>(nullptr, metrics));
  filters.push_back(std::make_unique<MicroCacheFilter>(MicroCacheFilter::Options{}, metrics));
  const FilterChain chain(std::move(filters));
  // A refusal by the access policy is still counted, logged and carries its request id.
  const auto policy = PolicyOf(cityhub::api::ACCESS_ADMIN, cityhub::api::RATE_CLASS_READ);
  HttpRequest request = Get("/v1/admin");
  RequestContext ctx;
  ctx.route_label = "GET /v1/admin";
  ctx.policy = &policy;
  auto answer = chain.Decode(request, ctx);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 401);
  EXPECT_EQ(chain.at(ctx.decoded - 1).name(), "access_policy");
  chain.Encode(request, ctx, *answer);
  EXPECT_EQ(HeaderOf(*answer, "X-Request-Id"), ctx.request_id);
  EXPECT_EQ(HeaderOf(*answer, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(metrics.AddCounter("http_requests_total", "", {"route", "status"})
                .WithLabels({"GET /v1/admin", "401"})
                .Value(),
            1);
  EXPECT_EQ(metrics.AddCounter("gateway_filter_access_log_lines_total", "").Get().Value(), 1);
}

TEST(RequestIdFilter, KeepsAValidIdAndMakesOneOtherwise) {
  infra::MetricsRegistry metrics;
  infra::SystemClock clock;
  RequestIdFilter filter(clock, false, metrics);
  HttpRequest given = Get("/x", {{"x-request-id", "abc-123"}});
  RequestContext ctx;
  EXPECT_FALSE(filter.OnRequest(given, ctx).has_value());
  EXPECT_EQ(ctx.request_id, "abc-123");
  EXPECT_EQ(ctx.client_address, "203.0.113.7");
  HttpRequest none = Get("/x");
  RequestContext other;
  filter.OnRequest(none, other);
  EXPECT_FALSE(other.request_id.empty());
  EXPECT_NE(other.request_id, "abc-123");
  HttpResponse response;
  filter.OnResponse(none, other, response);
  EXPECT_EQ(HeaderOf(response, "X-Request-Id"), other.request_id);
  EXPECT_EQ(metrics.AddCounter("gateway_filter_request_id_total", "", {"source"})
                .WithLabels({"given"})
                .Value(),
            1);
  EXPECT_EQ(metrics.AddCounter("gateway_filter_request_id_total", "", {"source"})
                .WithLabels({"generated"})
                .Value(),
            1);
}

TEST(CorsFilter, AnswersPreflightsAndCountsOrigins) {
  infra::MetricsRegistry metrics;
  CorsFilter filter({"https://app.example"}, metrics);
  HttpRequest preflight = Get("/v1/requests", {{"origin", "https://app.example"},
                                               {"access-control-request-method", "POST"}});
  preflight.method = "OPTIONS";
  RequestContext ctx;
  auto answer = filter.OnRequest(preflight, ctx);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 204);
  EXPECT_EQ(ctx.route_label, "preflight");
  filter.OnResponse(preflight, ctx, *answer);
  EXPECT_EQ(HeaderOf(*answer, "Access-Control-Allow-Origin"), "https://app.example");
  HttpRequest stranger = Get("/v1/requests", {{"origin", "https://evil.example"}});
  HttpResponse response;
  filter.OnResponse(stranger, ctx, response);
  EXPECT_EQ(HeaderOf(response, "Access-Control-Allow-Origin"), "");
  EXPECT_EQ(Count(metrics, "gateway_filter_cors_total", "preflight"), 1);
  EXPECT_EQ(Count(metrics, "gateway_filter_cors_total", "allowed"), 1);
  EXPECT_EQ(Count(metrics, "gateway_filter_cors_total", "refused"), 1);
}

class AuthenticationFilterTest : public ::testing::Test {
 protected:
  AuthenticationFilterTest()
      : verifier_(infra::auth::TokenSettings{}, clock_),
        signer_(infra::auth::TrustOnlyAFreshKey(verifier_), infra::auth::TokenSettings{}, clock_),
        filter_(verifier_, nullptr, metrics_) {}

  std::string Token(std::vector<std::string> roles) {
    infra::auth::AccessClaims claims;
    claims.subject = "01JCITIZEN0000000000000000";
    claims.roles = std::move(roles);
    return signer_.Sign(claims);
  }

  infra::SystemClock clock_;
  infra::MetricsRegistry metrics_;
  infra::auth::TokenVerifier verifier_;
  infra::auth::TokenSigner signer_;
  AuthenticationFilter filter_;
  const cityhub::api::Policy policy_ =
      PolicyOf(cityhub::api::ACCESS_PUBLIC, cityhub::api::RATE_CLASS_READ);
};

TEST_F(AuthenticationFilterTest, AVerifiedTokenNamesTheCaller) {
  HttpRequest request = Get("/x", {{"authorization", "Bearer " + Token({"citizen"})}});
  RequestContext ctx;
  ctx.policy = &policy_;
  EXPECT_FALSE(filter_.OnRequest(request, ctx).has_value());
  EXPECT_EQ(ctx.account_id, "01JCITIZEN0000000000000000");
  EXPECT_EQ(ctx.roles, std::vector<std::string>{"citizen"});
  EXPECT_EQ(Count(metrics_, "gateway_filter_authentication_total", "verified"), 1);
}

TEST_F(AuthenticationFilterTest, ABadTokenIs401EvenOnAPublicRoute) {
  HttpRequest request = Get("/x", {{"authorization", "Bearer nonsense"}});
  RequestContext ctx;
  ctx.policy = &policy_;
  auto answer = filter_.OnRequest(request, ctx);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 401);
  EXPECT_EQ(HeaderOf(*answer, "WWW-Authenticate"), R"(Bearer error="invalid_token")");
  EXPECT_EQ(Count(metrics_, "gateway_filter_authentication_total", "invalid"), 1);
}

TEST_F(AuthenticationFilterTest, WithoutSigningKeysAValidTokenIs503WithRetryAfter) {
  const std::string token = Token({"citizen"});
  verifier_.SetKeys({});
  HttpRequest request = Get("/x", {{"authorization", "Bearer " + token}});
  RequestContext ctx;
  ctx.policy = &policy_;
  auto answer = filter_.OnRequest(request, ctx);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 503);
  EXPECT_EQ(HeaderOf(*answer, "Retry-After"), "1");
  EXPECT_EQ(Count(metrics_, "gateway_filter_authentication_total", "keys_unavailable"), 1);
}

TEST_F(AuthenticationFilterTest, UnguardedTargetsAndOpen311DoNotIdentifyTheirCallers) {
  HttpRequest request = Get("/x", {{"authorization", "Bearer nonsense"}});
  RequestContext builtin;
  EXPECT_FALSE(filter_.OnRequest(request, builtin).has_value());
  RequestContext open311;
  open311.policy = &policy_;
  open311.identify = false;
  EXPECT_FALSE(filter_.OnRequest(request, open311).has_value());
  HttpRequest anonymous = Get("/x");
  RequestContext ctx;
  ctx.policy = &policy_;
  EXPECT_FALSE(filter_.OnRequest(anonymous, ctx).has_value());
  EXPECT_EQ(Count(metrics_, "gateway_filter_authentication_total", "anonymous"), 1);
  EXPECT_EQ(Count(metrics_, "gateway_filter_authentication_total", "invalid"), 0);
}

// Keys rotated at the accounts service: a token naming a key this replica has not loaded waits
// for a fetch that runs elsewhere (the HTTP thread never waits for it), then is verified.
TEST_F(AuthenticationFilterTest, ATokenWithANewKeyWaitsForTheKeysWithoutBlocking) {
  const std::string token = Token({"citizen"});
  verifier_.SetKeys({});
  std::function<void(bool)> fetched;
  AuthenticationFilter filter(
      verifier_, [&](std::function<void(bool)> done) { fetched = std::move(done); }, metrics_);
  HttpRequest request = Get("/x", {{"authorization", "Bearer " + token}});
  RequestContext ctx;
  ctx.policy = &policy_;
  EXPECT_FALSE(filter.OnRequest(request, ctx).has_value());
  ASSERT_TRUE(ctx.pending);
  std::promise<RequestContext::Decided> resumed;
  auto pending = std::exchange(ctx.pending, nullptr);
  pending([&](RequestContext::Decided decided) { resumed.set_value(std::move(decided)); });
  ASSERT_TRUE(fetched) << "the fetch was asked for, and the filter returned without it";
  // The fetch ends on another thread, with the keys loaded.
  std::thread([&] {
    std::vector<infra::auth::Ed25519Key> keys;
    keys.push_back(*infra::auth::Ed25519Key::FromPublicBytes(signer_.key().public_bytes()));
    verifier_.SetKeys(std::move(keys));
    fetched(true);
  }).join();
  EXPECT_FALSE(resumed.get_future().get()(ctx).has_value());
  EXPECT_EQ(ctx.account_id, "01JCITIZEN0000000000000000");
  EXPECT_EQ(Count(metrics_, "gateway_filter_authentication_total", "verified"), 1);
}

TEST(AccessPolicyFilter, AnonymousIs401AndTooFewRightsIs403) {
  infra::MetricsRegistry metrics;
  AccessPolicyFilter filter(metrics);
  const auto staff = PolicyOf(cityhub::api::ACCESS_OPERATOR, cityhub::api::RATE_CLASS_READ);
  HttpRequest request = Get("/x");
  RequestContext anonymous;
  anonymous.policy = &staff;
  auto answer = filter.OnRequest(request, anonymous);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 401);
  EXPECT_EQ(HeaderOf(*answer, "WWW-Authenticate"), "Bearer");
  RequestContext citizen;
  citizen.policy = &staff;
  citizen.account_id = "a";
  citizen.roles = {"citizen"};
  answer = filter.OnRequest(request, citizen);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 403);
  RequestContext admin = citizen;
  admin.roles = {"admin"};
  EXPECT_FALSE(filter.OnRequest(request, admin).has_value());
  EXPECT_EQ(Count(metrics, "gateway_filter_access_policy_total", "unauthenticated"), 1);
  EXPECT_EQ(Count(metrics, "gateway_filter_access_policy_total", "denied"), 1);
  EXPECT_EQ(Count(metrics, "gateway_filter_access_policy_total", "allowed"), 1);
}

// Writes its refusals as plain text, as Open311 writes GeoReport ones.
class PlainErrors final : public ErrorFormat {
 public:
  HttpResponse Error(int status, grpc::StatusCode, std::string_view message) const override {
    HttpResponse r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "text/plain");
    r.body = std::string(message);
    return r;
  }
};

TEST(RateLimitFilter, OverBudgetIs429WithRetryAfterInTheRequestsErrorFormat) {
  infra::redis::Options unreachable;
  unreachable.port = 1;  // nothing listens there: the limiter's local fallback decides
  unreachable.connect_timeout = 10ms;
  infra::redis::AsyncClient redis(unreachable, 1);
  infra::ManualClock clock;
  infra::MetricsRegistry metrics;
  RateLimits limits;
  limits.anonymous_create = {1, 1min, 1};
  RateLimiter limiter(redis, limits, clock, metrics);
  RateLimitFilter filter(&limiter, metrics);
  const auto create = PolicyOf(cityhub::api::ACCESS_PUBLIC, cityhub::api::RATE_CLASS_CREATE);
  const PlainErrors plain;
  HttpRequest request = Get("/x");
  RequestContext first;
  first.policy = &create;
  first.client_address = "203.0.113.7";
  EXPECT_FALSE(DecodeNow(filter, request, first).has_value());
  EXPECT_EQ(first.charged, cityhub::api::RATE_CLASS_CREATE);
  RequestContext second = first;
  second.charged = cityhub::api::RATE_CLASS_UNSPECIFIED;
  second.errors = &plain;
  auto answer = DecodeNow(filter, request, second);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 429);
  EXPECT_EQ(answer->body, "too many requests; slow down");
  EXPECT_FALSE(HeaderOf(*answer, "Retry-After").empty());
  EXPECT_EQ(second.charged, cityhub::api::RATE_CLASS_UNSPECIFIED);
  EXPECT_EQ(Count(metrics, "gateway_filter_rate_limit_total", "allowed"), 1);
  EXPECT_EQ(Count(metrics, "gateway_filter_rate_limit_total", "limited"), 1);
}

TEST(RateLimitFilter, WithoutALimiterEverythingPasses) {
  infra::MetricsRegistry metrics;
  RateLimitFilter filter(nullptr, metrics);
  const auto read = PolicyOf(cityhub::api::ACCESS_PUBLIC, cityhub::api::RATE_CLASS_READ);
  HttpRequest request = Get("/x");
  RequestContext ctx;
  ctx.policy = &read;
  EXPECT_FALSE(filter.OnRequest(request, ctx).has_value());
  bool charged = false;
  filter.ChargeMore(ctx, cityhub::api::RATE_CLASS_READ, 50, "deep",
                    [&](std::optional<HttpResponse> refusal) {
                      charged = true;
                      EXPECT_FALSE(refusal.has_value());
                    });
  EXPECT_TRUE(charged) << "decided at once, here";
}

TEST(MicroCacheFilter, KeepsASuccessfulAnonymousReadAndAnswersTheNextFromIt) {
  infra::MetricsRegistry metrics;
  MicroCacheFilter filter({.ttl = 5s}, metrics);
  const auto cached =
      PolicyOf(cityhub::api::ACCESS_PUBLIC, cityhub::api::RATE_CLASS_READ, "public, max-age=60");
  HttpRequest request = Get("/v1/categories?lang=de");
  RequestContext miss;
  miss.policy = &cached;
  EXPECT_FALSE(filter.OnRequest(request, miss).has_value());
  EXPECT_EQ(miss.cache_key, "/v1/categories?lang=de");
  HttpResponse response;
  response.body = "[]";
  filter.OnResponse(request, miss, response);
  RequestContext hit;
  hit.policy = &cached;
  auto answer = filter.OnRequest(request, hit);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->body, "[]");
  EXPECT_TRUE(hit.cache_key.empty());  // a hit is not stored again
  RequestContext signed_in;
  signed_in.policy = &cached;
  signed_in.account_id = "a";
  EXPECT_FALSE(filter.OnRequest(request, signed_in).has_value());
  EXPECT_TRUE(signed_in.cache_key.empty());
  EXPECT_EQ(Count(metrics, "gateway_filter_micro_cache_total", "miss"), 1);
  EXPECT_EQ(Count(metrics, "gateway_filter_micro_cache_total", "store"), 1);
  EXPECT_EQ(Count(metrics, "gateway_filter_micro_cache_total", "hit"), 1);
}

TEST(MicroCacheFilter, KeepsNeitherErrorsNorAnswersWithoutAPublicMaxAge) {
  infra::MetricsRegistry metrics;
  MicroCacheFilter filter({.ttl = 5s}, metrics);
  const auto cached =
      PolicyOf(cityhub::api::ACCESS_PUBLIC, cityhub::api::RATE_CLASS_READ, "public, max-age=60");
  const auto private_ = PolicyOf(cityhub::api::ACCESS_PUBLIC, cityhub::api::RATE_CLASS_READ);
  HttpRequest request = Get("/v1/x");
  RequestContext ctx;
  ctx.policy = &cached;
  filter.OnRequest(request, ctx);
  HttpResponse error;
  error.status = 503;
  filter.OnResponse(request, ctx, error);
  RequestContext again;
  again.policy = &cached;
  EXPECT_FALSE(filter.OnRequest(request, again).has_value());
  RequestContext uncached;
  uncached.policy = &private_;
  EXPECT_FALSE(filter.OnRequest(request, uncached).has_value());
  EXPECT_TRUE(uncached.cache_key.empty());
  EXPECT_EQ(Count(metrics, "gateway_filter_micro_cache_total", "store"), 0);
}

TEST(SecurityHeadersFilter, AddsHstsOverTlsAndNoStoreUnlessTheAnswerSaysOtherwise) {
  infra::MetricsRegistry metrics;
  SecurityHeadersFilter filter(metrics);
  HttpRequest request = Get("/x");
  request.tls = true;
  RequestContext ctx;
  HttpResponse plain;
  filter.OnResponse(request, ctx, plain);
  EXPECT_EQ(HeaderOf(plain, "Cache-Control"), "no-store");
  EXPECT_EQ(HeaderOf(plain, "Strict-Transport-Security"), "max-age=31536000");
  HttpResponse cacheable;
  cacheable.headers.emplace_back("Cache-Control", "public, max-age=60");
  filter.OnResponse(request, ctx, cacheable);
  EXPECT_EQ(HeaderOf(cacheable, "Cache-Control"), "public, max-age=60");
  EXPECT_EQ(metrics.AddCounter("gateway_filter_security_headers_hsts_total", "").Get().Value(), 2);
}

}  // namespace
}  // namespace cityhub::gateway

namespace cityhub::gateway {
namespace {

// Open311's refusals by the filters (a 429 of the rate limit) keep the spec's error format.
TEST(GeoReportErrors, WriteTheFiltersRefusalsAsGeoReportErrors) {
  const open311::GeoReportErrors xml(open311::Format::kXml);
  RequestContext ctx;
  ctx.errors = &xml;
  const HttpResponse r =
      ctx.Error(429, grpc::StatusCode::RESOURCE_EXHAUSTED, "too many requests; slow down");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(HeaderOf(r, "Content-Type"), open311::ContentType(open311::Format::kXml));
  EXPECT_EQ(r.body,
            open311::RenderErrors(429, "too many requests; slow down", open311::Format::kXml));
  const open311::GeoReportErrors json(open311::Format::kJson);
  EXPECT_EQ(json.Error(429, grpc::StatusCode::RESOURCE_EXHAUSTED, "slow").body,
            R"([{"code":429,"description":"slow"}])");
}

}  // namespace
}  // namespace cityhub::gateway
