// The notifications service: the composition root.
#include <cstdio>

#include "infra/auth/components.h"
#include "infra/component.h"
#include "infra/events/consumer.h"
#include "infra/events/streams.h"
#include "infra/grpc/serve.h"
#include "infra/grpc/tls.h"
#include "infra/log.h"
#include "infra/runtime.h"
#include "infra/service_config.h"
#include "infra/strings.h"
#include "services/notifications/components.h"
#include "services/notifications/keys.h"

namespace cityhub::notifications {
namespace {

using namespace std::chrono_literals;

struct Config {
  infra::CommonConfig common;
  DeliveryOptions delivery;
  FanOutSettings fanout;
  std::string accounts_address;
  std::string requests_address;
  std::string internal_token;
  infra::auth::TokenSettings tokens;
  // Where the producers' streams live (their own Redis in production; the same one locally).
  infra::redis::Options accounts_events;
  infra::redis::Options requests_events;
  // Events a dead replica left unacknowledged are taken over after this long.
  std::chrono::milliseconds claim_idle{30'000};
  // Threads that fan a batch of events out side by side.
  int event_lanes = 4;
};

// Where webhooks may go: public addresses on the allowed ports, minus the deny list (the
// cluster's pod and service ranges, in case they are not private ones), plus the allow list
// (tests and local development only; empty in production).
void LoadWebhookDestinations(infra::EnvReader& env, DestinationPolicy* policy) {
  DestinationPolicy::Settings s;
  const auto networks = [&](const char* name, std::vector<IpNetwork>* out) {
    auto parsed = ParseNetworks(env.String(name, "", 4096));
    if (parsed.ok()) {
      *out = std::move(*parsed);
    } else {
      env.AddError(name, infra::StdView(parsed.status().message()));
    }
  };
  networks("CITYHUB_WEBHOOK_ALLOW_CIDRS", &s.allow);
  networks("CITYHUB_WEBHOOK_DENY_CIDRS", &s.deny);
  auto ports = ParsePorts(env.String("CITYHUB_WEBHOOK_PORTS", "80,443,8080,8443", 256));
  if (ports.ok() && !ports->empty()) {
    s.ports = std::move(*ports);
  } else {
    env.AddError("CITYHUB_WEBHOOK_PORTS",
                 ports.ok() ? "must name a port" : infra::StdView(ports.status().message()));
  }
  *policy = DestinationPolicy(std::move(s));
}

Config LoadConfig(infra::EnvReader& env) {
  Config c;
  c.common = infra::LoadCommonConfig(env, {"notifications", "127.0.0.1:7003", "127.0.0.1:7103"});
  c.accounts_address = env.Address("CITYHUB_ACCOUNTS_ADDR", "127.0.0.1:7001");
  // For mails to anonymous reporters (GetReporterMail).
  c.requests_address = env.Address("CITYHUB_REQUESTS_ADDR", "127.0.0.1:7002");
  c.internal_token = env.FileContents("CITYHUB_INTERNAL_TOKEN_FILE", false, 4096);
  c.tokens.issuer = env.String("CITYHUB_JWT_ISSUER", "cityhub", 256);
  c.tokens.audience = env.String("CITYHUB_JWT_AUDIENCE", "cityhub-api", 256);
  c.delivery.smtp_url = env.String("CITYHUB_SMTP_URL", "", 1024);
  if (!c.delivery.smtp_url.empty() && !c.delivery.smtp_url.starts_with("smtp://") &&
      !c.delivery.smtp_url.starts_with("smtps://")) {
    env.AddError("CITYHUB_SMTP_URL", "must start with smtp:// or smtps://");
  }
  c.delivery.smtp_user = env.String("CITYHUB_SMTP_USER", "", 256);
  c.delivery.smtp_password = env.FileContents("CITYHUB_SMTP_PASSWORD_FILE", false, 4096);
  c.delivery.mail_from =
      env.String("CITYHUB_MAIL_FROM", "Stadt Bielefeld <noreply@bielefeld.de>", 256);
  c.delivery.push_endpoint = env.String("CITYHUB_PUSH_ENDPOINT", "", 1024);
  if (!c.delivery.push_endpoint.empty() && !c.delivery.push_endpoint.starts_with("http://") &&
      !c.delivery.push_endpoint.starts_with("https://")) {
    env.AddError("CITYHUB_PUSH_ENDPOINT", "must be an http(s) URL");
  }
  c.delivery.push_token = env.FileContents("CITYHUB_PUSH_AUTH_FILE", false, 8192);
  LoadWebhookDestinations(env, &c.delivery.webhook_destinations);
  c.delivery.workers = static_cast<int>(env.Int("CITYHUB_DELIVERY_WORKERS", 4, 1, 256));
  c.delivery.max_attempts = static_cast<int>(env.Int("CITYHUB_DELIVERY_MAX_ATTEMPTS", 6, 1, 100));
  c.delivery.backoff_base = env.Duration("CITYHUB_DELIVERY_BACKOFF", 2s, 1ms, 1h);
  c.delivery.backoff_max = env.Duration("CITYHUB_DELIVERY_BACKOFF_MAX", 10min, 1ms, 24h);
  // How long a taken job is reserved for its worker; a worker that dies loses the job for that
  // long.
  c.delivery.lease = env.Duration("CITYHUB_DELIVERY_LEASE", 60s, 1s, 1h);
  c.fanout.app_url = env.String(
      "CITYHUB_APP_URL", env.String("CITYHUB_PUBLIC_BASE_URL", "http://127.0.0.1:8080"), 500);
  c.accounts_events =
      infra::RedisOptionsFrom(env, "CITYHUB_ACCOUNTS_EVENTS_REDIS_URL", c.common.redis);
  c.requests_events =
      infra::RedisOptionsFrom(env, "CITYHUB_REQUESTS_EVENTS_REDIS_URL", c.common.redis);
  c.claim_idle = env.Duration("CITYHUB_EVENTS_CLAIM_IDLE", 30s, 100ms, 1h);
  c.event_lanes = static_cast<int>(env.Int("CITYHUB_EVENT_LANES", 4, 1, 32));
  return c;
}

int Run() {
  infra::BlockShutdownSignals();
  infra::TuneRuntime();
  infra::EnvReader env;
  Config config = LoadConfig(env);
  if (auto status = env.Finish(); !status.ok()) {
    std::fprintf(stderr, "notifications: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  infra::log::Init("notifications", config.common.log_level);
  infra::SystemClock clock;
  infra::MetricsRegistry metrics;

  // The graph: Redis clients and access first (the key fetcher starts at once, so that the
  // first calls find keys), then the service's own parts and its server (components.h).
  infra::Components graph;
  infra::redis::ExportPoolWait(metrics, config.common.redis);
  infra::redis::ExportPoolWait(metrics, config.accounts_events);
  infra::redis::ExportPoolWait(metrics, config.requests_events);
  auto& redis = graph.Make<infra::redis::Client>(config.common.redis);
  auto& async_redis = graph.Make<infra::redis::AsyncClient>(config.common.redis, 2);
  auto& accounts_redis = graph.Make<infra::redis::Client>(config.accounts_events);
  auto& requests_redis = graph.Make<infra::redis::Client>(config.requests_events);
  auto accounts = infra::CreateChannel(config.accounts_address, config.common.server.tls);
  auto& authorizer =
      infra::auth::AddAuthorizer(graph,
                                 {v1::NotificationsService::service_full_name(), config.tokens,
                                  config.internal_token, accounts, keys::kService},
                                 redis, clock);
  graph.StartWorkers();

  NotificationsSettings settings;
  settings.internal_token = config.internal_token;
  settings.fanout = config.fanout;
  settings.delivery = config.delivery;
  settings.executor = config.common.executor;
  settings.events = {{infra::events::kAccountsStream, &accounts_redis},
                     {infra::events::kRequestsStream, &requests_redis}};
  settings.consumer_name = infra::events::DefaultConsumerName(config.common.server.listen_address);
  settings.claim_idle = config.claim_idle;
  settings.event_lanes = config.event_lanes;
  settings.server = config.common.server;
  auto requests = infra::CreateChannel(config.requests_address, config.common.server.tls);
  NotificationsParts parts = BuildNotifications(
      graph,
      {redis, async_redis, config.common.redis, clock, metrics, authorizer, accounts, requests},
      settings);
  return infra::Serve(graph, parts.server);
}

}  // namespace
}  // namespace cityhub::notifications

int main() { return cityhub::notifications::Run(); }
