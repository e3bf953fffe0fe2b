// The requests service: the composition root.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "infra/auth/components.h"
#include "infra/component.h"
#include "infra/events/consumer.h"
#include "infra/grpc/serve.h"
#include "infra/grpc/tls.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/runtime.h"
#include "infra/service_config.h"
#include "infra/strings.h"
#include "infra/text.h"
#include "services/requests/components.h"
#include "services/requests/keys.h"

namespace cityhub::requests {
namespace {

using namespace std::chrono_literals;

struct Config {
  infra::CommonConfig common;
  RequestsSettings settings;
  std::string media_dir;
  std::string seed_file;
  // Geography seeds (#15), stored only when the jurisdiction has none yet.
  std::string boundary_seed_file;
  std::string districts_seed_file;
  std::string accounts_address;
  infra::auth::TokenSettings tokens;
  std::string internal_token;
  bool consume_account_events = true;
  // Where the accounts service's event stream lives (its own Redis in production).
  infra::redis::Options accounts_events;
};

// Open data (#15): the exports' licence, one for all ("dl-de/by-2-0") or per jurisdiction
// ("bielefeld.de=dl-de/by-2-0,guetersloh.de=cc-by-4.0"), and the exports open at once.
void LoadOpenDataConfig(infra::EnvReader& env, RequestsSettings& settings) {
  const std::string license = env.String("CITYHUB_OPEN_DATA_LICENSE", "", 2000);
  if (license.find('=') == std::string::npos) {
    settings.open_data_license = license;
  } else {
    for (const std::string& item : infra::SplitList(license)) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == item.size() || eq + 1 + 200 < item.size())
        env.AddError("CITYHUB_OPEN_DATA_LICENSE",
                     infra::StrCat("'", item, "': write jurisdiction=licence (at most 200 bytes)"));
      else
        settings.open_data_licenses[item.substr(0, eq)] = item.substr(eq + 1);
    }
  }
  settings.max_exports = static_cast<int>(env.Int("CITYHUB_OPEN_DATA_MAX_EXPORTS", 4, 1, 1000));
}

Config LoadConfig(infra::EnvReader& env) {
  Config c;
  c.common = infra::LoadCommonConfig(env, {"requests", "127.0.0.1:7002", "127.0.0.1:7102"});
  c.common.server.max_receive_message_bytes = 12 * 1024 * 1024;  // photos up to 10 MiB
  // The jurisdictions as every binary reads them (the default first); their bounds are ours.
  const std::vector<infra::JurisdictionSetting> jurisdictions = infra::LoadJurisdictions(env);
  c.settings.default_jurisdiction = jurisdictions.front().id;
  for (const infra::JurisdictionSetting& j : jurisdictions) {
    auto bounds = ParseBounds(j.bounds);
    if (!bounds.ok()) {
      const std::string_view message = infra::StdView(bounds.status().message());
      env.AddError(j.variable, &j == &jurisdictions.front()
                                   ? std::string(message)
                                   : infra::StrCat("'", j.id, "=", j.bounds, "': ", message));
    }
    c.settings.jurisdictions[j.id] = bounds.value_or(Bounds{});
  }
  const std::string data_dir = env.String("CITYHUB_DATA_DIR", "var", 4096);
  c.media_dir = env.String("CITYHUB_MEDIA_DIR", data_dir + "/media", 4096);
  c.settings.max_media_reads =
      static_cast<int>(env.Int("CITYHUB_MEDIA_MAX_CONCURRENT_READS", 256, 1, 100'000));
  c.settings.public_base_url =
      env.String("CITYHUB_PUBLIC_BASE_URL",
                 "http://" + env.String("CITYHUB_GATEWAY_ADDR", "127.0.0.1:8080"), 500);
  c.seed_file = env.String("CITYHUB_CATALOGUE_SEED_FILE", "", 4096);
  c.boundary_seed_file = env.String("CITYHUB_BOUNDARY_SEED_FILE", "", 4096);
  c.districts_seed_file = env.String("CITYHUB_DISTRICTS_SEED_FILE", "", 4096);
  c.accounts_address = env.Address("CITYHUB_ACCOUNTS_ADDR", "127.0.0.1:7001");
  c.tokens.issuer = env.String("CITYHUB_JWT_ISSUER", "cityhub", 256);
  c.tokens.audience = env.String("CITYHUB_JWT_AUDIENCE", "cityhub-api", 256);
  c.internal_token = env.FileContents("CITYHUB_INTERNAL_TOKEN_FILE", false, 4096);
  // Anonymous reporters (#14): how long their contact stays after a final state, and the key
  // of the mailed link tokens (unset: a random key per process; links die with a restart).
  c.settings.contact_retention =
      env.Duration("CITYHUB_CONTACT_RETENTION", std::chrono::hours(24 * 30),
                   std::chrono::seconds(1), std::chrono::hours(24 * 3650));
  c.settings.reporter_token_secret =
      env.FileContents("CITYHUB_REPORTER_TOKEN_SECRET_FILE", false, 4096);
  if (!c.settings.reporter_token_secret.empty() && c.settings.reporter_token_secret.size() < 32) {
    env.AddError("CITYHUB_REPORTER_TOKEN_SECRET_FILE", "the secret needs at least 32 bytes");
  }
  // Without its own file, a key derived from the internal token, which every replica holds
  // (rotating that token then also ends the mailed links).
  if (c.settings.reporter_token_secret.empty() && !c.internal_token.empty()) {
    c.settings.reporter_token_secret =
        infra::Sha256(infra::StrCat("cityhub reporter tokens|", c.internal_token));
  }
  LoadOpenDataConfig(env, c.settings);
  c.consume_account_events = env.Bool("CITYHUB_CONSUME_ACCOUNT_EVENTS", true);
  c.accounts_events =
      infra::RedisOptionsFrom(env, "CITYHUB_ACCOUNTS_EVENTS_REDIS_URL", c.common.redis);
  return c;
}

int Run() {
  infra::BlockShutdownSignals();
  infra::TuneRuntime();
  infra::EnvReader env;
  Config config = LoadConfig(env);
  std::string seed;
  if (!config.seed_file.empty()) {
    std::ifstream in(config.seed_file);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    seed = buffer.str();
    if (!in || seed.empty()) env.AddError("CITYHUB_CATALOGUE_SEED_FILE", "cannot read the file");
  }
  const auto read_seed = [&env](const std::string& file, const char* variable) {
    if (file.empty()) return std::string();
    std::ifstream in(file);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (!in || buffer.str().empty()) env.AddError(variable, "cannot read the file");
    return buffer.str();
  };
  const std::string boundary_seed =
      read_seed(config.boundary_seed_file, "CITYHUB_BOUNDARY_SEED_FILE");
  const std::string districts_seed =
      read_seed(config.districts_seed_file, "CITYHUB_DISTRICTS_SEED_FILE");
  if (auto status = env.Finish(); !status.ok()) {
    std::fprintf(stderr, "requests: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  infra::log::Init("requests", config.common.log_level);

  infra::SystemClock clock;
  infra::MetricsRegistry metrics;
  config.common.redis.wait_short =
      &metrics.AddCounter("redis_wait_short_total", "Durable writes fewer replicas confirmed")
           .Get();
  // The graph: clients and access first (the key fetcher starts at once, so that the first
  // calls find keys), then the service's own parts and its server (components.h).
  infra::Components graph;
  infra::redis::ExportPoolWait(metrics, config.common.redis);
  infra::redis::ExportPoolWait(metrics, config.accounts_events);
  auto& redis = graph.Make<infra::redis::Client>(config.common.redis);
  auto& async_redis = graph.Make<infra::redis::AsyncClient>(config.common.redis, 2);
  auto& accounts_redis = graph.Make<infra::redis::Client>(config.accounts_events);
  auto& authorizer = infra::auth::AddAuthorizer(
      graph,
      {v1::RequestsService::service_full_name(), config.tokens, config.internal_token,
       infra::CreateChannel(config.accounts_address, config.common.server.tls),
       kDeletedAccountsArea},
      redis, clock);
  graph.StartWorkers();

  RequestsOptions options;
  options.settings = config.settings;
  options.media_dir = config.media_dir;
  options.catalogue_ttl = 2s;
  options.executor = config.common.executor;
  // Each download waits for at most one read at a time: its queue never overflows.
  options.media_executor =
      infra::ExecutorOptions{"requests_media", 4, config.settings.max_media_reads};
  options.server = config.common.server;
  RequestsWorkerOptions workers;
  workers.catalogue_seed = seed;
  workers.migrate_geo_index = true;
  workers.boundary_seed = boundary_seed;
  workers.districts_seed = districts_seed;
  workers.district_reassignment = true;
  workers.contact_erasure = true;
  if (config.consume_account_events) {
    workers.account_events = &accounts_redis;
    workers.consumer_name = infra::events::DefaultConsumerName(config.common.server.listen_address);
  }
  RequestsParts parts = AddRequestsComponents(
      graph,
      {redis, async_redis, authorizer, clock, metrics,
       infra::CreateChannel(config.accounts_address, config.common.server.tls),
       config.internal_token},
      std::move(options), workers);
  return infra::Serve(graph, parts.server);
}

}  // namespace
}  // namespace cityhub::requests

int main() { return cityhub::requests::Run(); }
