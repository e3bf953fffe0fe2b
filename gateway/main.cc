// The gateway: the composition root. `gateway --print-openapi` writes the OpenAPI document to
// stdout and exits (used by the OpenAPI validation test).
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <nlohmann/json.hpp>

#include "cityhub/accounts/v1/accounts.grpc.pb.h"
#include "cityhub/notifications/v1/notifications.grpc.pb.h"
#include "cityhub/requests/v1/requests.grpc.pb.h"
#include "gateway/backends.h"
#include "gateway/gateway.h"
#include "gateway/http_server.h"
#include "gateway/open311.h"
#include "gateway/openapi.h"
#include "gateway/rate_limit.h"
#include "gateway/routes.h"
#include "gateway/static_files.h"
#include "infra/auth/jwks_client.h"
#include "infra/config.h"
#include "infra/grpc/server.h"
#include "infra/grpc/tls.h"
#include "infra/log.h"
#include "infra/redis/async_client.h"
#include "infra/runtime.h"
#include "infra/service_config.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway {
namespace {

using namespace std::chrono_literals;

struct Config {
  HttpServerOptions http;
  GatewayOptions gateway;
  std::map<std::string, std::string> backends;
  infra::redis::Options redis;
  infra::GrpcTls grpc_tls;
  bool rate_limits = true;
  RateLimits limits;
  infra::auth::TokenSettings tokens;
  Open311Options open311;
  StaticFilesOptions web;
  infra::log::Level log_level = infra::log::Level::kInfo;
};

Config LoadConfig(infra::EnvReader& env) {
  Config c;
  c.http.address = env.Address("CITYHUB_GATEWAY_ADDR", "127.0.0.1:8080");
  c.http.threads = static_cast<int>(env.Int(
      "CITYHUB_GATEWAY_THREADS", std::max(1u, std::thread::hardware_concurrency()), 1, 256));
  c.http.max_header_bytes =
      static_cast<size_t>(env.Int("CITYHUB_GATEWAY_MAX_HEADER_BYTES", 16384, 1024, 1 << 20));
  c.http.header_timeout = env.Duration("CITYHUB_GATEWAY_HEADER_TIMEOUT", 10s, 100ms, 5min);
  c.http.body_timeout = env.Duration("CITYHUB_GATEWAY_BODY_TIMEOUT", 30s, 100ms, 10min);
  c.http.idle_timeout = env.Duration("CITYHUB_GATEWAY_IDLE_TIMEOUT", 60s, 100ms, 1h);
  c.http.write_timeout = env.Duration("CITYHUB_GATEWAY_WRITE_TIMEOUT", 60s, 100ms, 1h);
  c.http.max_connections =
      static_cast<int>(env.Int("CITYHUB_GATEWAY_MAX_CONNECTIONS", 10000, 1, 1'000'000));
  // Sized for a carrier's NAT address shared by hundreds of residents (an app holds one or two
  // connections and its event stream), far below the global cap that one client could fill.
  c.http.max_connections_per_address =
      static_cast<int>(env.Int("CITYHUB_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS", 256, 0, 1'000'000));
  c.http.tls_cert_file = env.String("CITYHUB_TLS_CERT_FILE", "", 4096);
  c.http.tls_key_file = env.String("CITYHUB_TLS_KEY_FILE", "", 4096);
  if (c.http.tls_cert_file.empty() != c.http.tls_key_file.empty()) {
    env.AddError("CITYHUB_TLS_KEY_FILE",
                 "give both CITYHUB_TLS_CERT_FILE and CITYHUB_TLS_KEY_FILE, or neither");
  }
  c.gateway.default_deadline = env.Duration("CITYHUB_GATEWAY_DEADLINE", 10s, 100ms, 5min);
  c.gateway.default_body_limit =
      static_cast<size_t>(env.Int("CITYHUB_GATEWAY_MAX_BODY_BYTES", 1 << 20, 1024, 64 << 20));
  c.gateway.cors_origins = infra::SplitList(env.String("CITYHUB_CORS_ORIGINS", "", 4096), ',');
  c.gateway.trust_forwarded_for = env.Bool("CITYHUB_TRUST_FORWARDED_FOR", false);
  // Behind the trusted proxy every connection comes from the proxy (which caps its clients).
  if (c.gateway.trust_forwarded_for) c.http.max_connections_per_address = 0;
  c.gateway.internal_token = env.FileContents("CITYHUB_INTERNAL_TOKEN_FILE", false, 4096);
  c.gateway.cache_ttl = env.Duration("CITYHUB_GATEWAY_CACHE_TTL", 5s, 0ms, 1h);
  c.gateway.sse_heartbeat = std::chrono::duration_cast<std::chrono::seconds>(
      env.Duration("CITYHUB_SSE_HEARTBEAT", 15s, 1s, 5min));
  c.gateway.max_streams_per_account =
      static_cast<size_t>(env.Int("CITYHUB_SSE_MAX_STREAMS_PER_ACCOUNT", 5, 1, 1000));
  c.gateway.public_url = env.String("CITYHUB_PUBLIC_BASE_URL", "http://" + c.http.address, 500);
  c.gateway.max_downloads =
      static_cast<int>(env.Int("CITYHUB_MEDIA_MAX_CONCURRENT_READS", 256, 1, 100'000));
  c.gateway.download_deadline = env.Duration("CITYHUB_GATEWAY_DOWNLOAD_DEADLINE", 10min, 1s, 1h);
  c.backends = {{"cityhub.accounts.v1.AccountsService",
                 env.Address("CITYHUB_ACCOUNTS_ADDR", "127.0.0.1:7001")},
                {"cityhub.requests.v1.RequestsService",
                 env.Address("CITYHUB_REQUESTS_ADDR", "127.0.0.1:7002")},
                {"cityhub.notifications.v1.NotificationsService",
                 env.Address("CITYHUB_NOTIFICATIONS_ADDR", "127.0.0.1:7003")}};
  c.redis = infra::LoadRedisOptions(env, "CITYHUB_GATEWAY_REDIS_URL");
  c.grpc_tls = infra::LoadGrpcTls(env, /*serves=*/false);
  c.redis.client_name = "gateway";
  // A slow Redis must not slow every request down: rate-limit checks give up quickly.
  c.redis.command_timeout = env.Duration("CITYHUB_GATEWAY_REDIS_TIMEOUT", 50ms, 1ms, 10s);
  c.redis.connect_timeout = c.redis.command_timeout;
  c.redis.pool_wait_timeout = c.redis.command_timeout;
  // Behind Redis Sentinel as the services are (CITYHUB_REDIS_SENTINELS, ...).
  c.redis.sentinel = infra::LoadSentinel(env, c.redis.connect_timeout);
  c.rate_limits = env.Bool("CITYHUB_RATE_LIMITS", true);
  const auto budget = [&](const char* name, Budget* out) {
    const std::string text = env.String(name, "", 100);
    if (text.empty()) return;
    auto b = ParseBudget(text);
    if (b.ok()) {
      *out = *b;
    } else {
      env.AddError(name, infra::StdView(b.status().message()));
    }
  };
  budget("CITYHUB_RATE_LIMIT_READ", &c.limits.read);
  budget("CITYHUB_RATE_LIMIT_SIGN_IN", &c.limits.sign_in);
  budget("CITYHUB_RATE_LIMIT_CREATE", &c.limits.create);
  budget("CITYHUB_RATE_LIMIT_WRITE", &c.limits.write);
  budget("CITYHUB_RATE_LIMIT_PARTNER", &c.limits.partner);
  // Per address, for anonymous callers. Unless given, never below the account's budget: an
  // address holds at least one resident.
  const auto anonymous = [&](const char* name, const Budget& account, Budget* out) {
    if (!env.String(name, "", 100).empty()) return budget(name, out);
    if (static_cast<double>(account.count) / account.period.count() >
        static_cast<double>(out->count) / out->period.count()) {
      out->count = account.count;
      out->period = account.period;
    }
    out->burst = std::max(out->burst, account.burst);
  };
  anonymous("CITYHUB_RATE_LIMIT_ANONYMOUS_READ", c.limits.read, &c.limits.anonymous_read);
  anonymous("CITYHUB_RATE_LIMIT_ANONYMOUS_SIGN_IN", c.limits.sign_in, &c.limits.anonymous_sign_in);
  anonymous("CITYHUB_RATE_LIMIT_ANONYMOUS_CREATE", c.limits.create, &c.limits.anonymous_create);
  anonymous("CITYHUB_RATE_LIMIT_ANONYMOUS_WRITE", c.limits.write, &c.limits.anonymous_write);
  anonymous("CITYHUB_RATE_LIMIT_ANONYMOUS_UPLOAD", c.limits.create, &c.limits.anonymous_upload);
  c.tokens.issuer = env.String("CITYHUB_JWT_ISSUER", "cityhub", 256);
  c.tokens.audience = env.String("CITYHUB_JWT_AUDIENCE", "cityhub-api", 256);
  // Open311: the jurisdictions the requests service serves (their ids; bounds are its business).
  c.open311.jurisdictions.clear();
  for (const auto& j : infra::LoadJurisdictions(env)) c.open311.jurisdictions.push_back(j.id);
  c.open311.public_url = c.gateway.public_url;
  c.open311.contact = env.String("CITYHUB_OPEN311_CONTACT", "Digitalisierungsbüro", 500);
  c.open311.key_service =
      env.String("CITYHUB_OPEN311_KEY_SERVICE",
                 "API keys for partners are issued by the city's administrators.", 500);
  // The web app: served at / when a directory is given (the built clients/web/dist).
  c.web.dir = env.String("CITYHUB_WEB_DIR", "", 4096);
  const std::string tiles = env.String("CITYHUB_MAP_TILES_URL", "", 500);
  nlohmann::json app = {{"jurisdiction_id", c.open311.jurisdictions.front()}};
  if (!tiles.empty()) {
    auto origin = OriginOf(tiles);
    if (!origin.ok()) {
      env.AddError("CITYHUB_MAP_TILES_URL", infra::StdView(origin.status().message()));
    } else if (tiles.find("{z}") == std::string::npos || tiles.find("{x}") == std::string::npos ||
               tiles.find("{y}") == std::string::npos) {
      env.AddError("CITYHUB_MAP_TILES_URL", "must contain {z}, {x} and {y}");
    } else {
      c.web.extra_image_origin = *origin;
      app["map_tiles_url"] = tiles;
      app["map_attribution"] =
          env.String("CITYHUB_MAP_ATTRIBUTION", "© OpenStreetMap contributors", 300);
    }
  }
  c.web.config_json = app.dump();
  c.log_level = infra::LoadLogLevel(env);
  return c;
}

int Run(int argc, char** argv) {
  infra::TuneRuntime();
  auto routes = RouteTable::Build(PublicServices());
  if (!routes.ok()) {
    std::fprintf(stderr, "gateway: %s\n", std::string(routes.status().message()).c_str());
    return 1;
  }
  if (argc > 1 && std::strcmp(argv[1], "--print-openapi") == 0) {
    std::printf("%s\n", OpenApiJson(*routes, argc > 2 ? argv[2] : "http://127.0.0.1:8080").c_str());
    return 0;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  infra::EnvReader env;
  Config config = LoadConfig(env);
  if (auto status = env.Finish(); !status.ok()) {
    std::fprintf(stderr, "gateway: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  infra::log::Init("gateway", config.log_level);
  infra::SystemClock clock;
  infra::MetricsRegistry metrics;
  Backends backends(config.backends, config.grpc_tls);
  infra::auth::TokenVerifier verifier(config.tokens, clock);
  infra::auth::JwksClient jwks(backends.ChannelFor("cityhub.accounts.v1.AccountsService"),
                               verifier);
  jwks.Start();
  // The rate limiter asks Redis without waiting for it (an HTTP thread never blocks).
  infra::redis::AsyncClient redis(config.redis);
  std::unique_ptr<RateLimiter> limiter;
  if (config.rate_limits)
    limiter = std::make_unique<RateLimiter>(redis, config.limits, clock, metrics);
  Gateway gateway(
      *routes, backends, verifier,
      [&jwks](std::function<void(bool)> done) { jwks.RefreshSoon(std::move(done)); }, limiter.get(),
      metrics, clock, config.gateway);
  config.open311.changeset_ms = infra::UnixMillis(clock.Now());
  Open311 open311(gateway, backends, config.open311);
  gateway.AddPrefixHandler(Open311::kPrefix,
                           {[&open311](const HttpRequest& request, RequestContext& ctx) {
                              open311.Classify(request, ctx);
                            },
                            [&open311](const HttpRequest& request, const RequestContext& ctx,
                                       std::shared_ptr<Responder> responder) {
                              open311.Handle(request, ctx, std::move(responder));
                            }});
  std::unique_ptr<StaticFiles> web;
  if (!config.web.dir.empty()) {
    auto loaded = StaticFiles::Load(config.web);
    if (!loaded.ok()) {
      std::fprintf(stderr, "gateway: CITYHUB_WEB_DIR: %s\n",
                   std::string(loaded.status().message()).c_str());
      return 2;
    }
    web = *std::move(loaded);
    gateway.SetStaticFiles(web.get());
    infra::log::Info("web_app", {{"files", web->file_count()}, {"bytes", web->total_bytes()}});
  }
  HttpServer server(config.http, gateway);
  if (auto status = server.Start(); !status.ok()) {
    infra::log::Error("start_failed", {{"error", status.message()}});
    return 1;
  }
  infra::log::Info("started", {{"port", server.port()}, {"routes", routes->routes().size()}});
  while (true) {
    const int sig = sigwaitinfo(&signals, nullptr);
    if (sig == SIGHUP) {
      const absl::Status reloaded = server.ReloadTls();
      if (reloaded.ok()) {
        infra::log::Info("tls_reloaded");
      } else {
        infra::log::Error("tls_reload_failed", {{"error", reloaded.message()}});
      }
      continue;
    }
    if (sig == SIGTERM || sig == SIGINT) break;
  }
  infra::log::Info("stopping");
  server.Stop();
  gateway.CloseStreams();  // while the server (whose connections the streams write to) exists
  jwks.Stop();
  infra::log::Info("stopped");
  infra::log::Flush();
  return 0;
}

}  // namespace
}  // namespace cityhub::gateway

int main(int argc, char** argv) { return cityhub::gateway::Run(argc, argv); }
