// The requests service: the composition root.
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "infra/auth/authorizer.h"
#include "infra/auth/jwks_client.h"
#include "infra/events/consumer.h"
#include "infra/grpc/server.h"
#include "infra/grpc/tls.h"
#include "infra/log.h"
#include "infra/runtime.h"
#include "infra/service_config.h"
#include "infra/strings.h"
#include "infra/text.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {
namespace {

using namespace std::chrono_literals;

struct Config {
  infra::CommonConfig common;
  RequestsSettings settings;
  std::string media_dir;
  std::string seed_file;
  std::string accounts_address;
  infra::auth::TokenSettings tokens;
  std::string internal_token;
  bool consume_account_events = true;
  // Where the accounts service's event stream lives (its own Redis in production).
  infra::redis::Options accounts_events;
};

Config LoadConfig(infra::EnvReader& env) {
  Config c;
  c.common = infra::LoadCommonConfig(env, {"requests", "127.0.0.1:7002", "127.0.0.1:7102"});
  c.common.server.max_receive_message_bytes = 12 * 1024 * 1024;  // photos up to 10 MiB
  c.settings.default_jurisdiction = env.String("CITYHUB_JURISDICTION", "bielefeld.de", 100);
  auto bounds =
      ParseBounds(env.String("CITYHUB_JURISDICTION_BOUNDS", "51.90,8.37,52.12,8.67", 200));
  if (!bounds.ok())
    env.AddError("CITYHUB_JURISDICTION_BOUNDS", infra::StdView(bounds.status().message()));
  c.settings.jurisdictions = {{c.settings.default_jurisdiction, bounds.value_or(Bounds{})}};
  // More jurisdictions: "id=min_lat,min_long,max_lat,max_long;id2=...".
  const std::string extra = env.String("CITYHUB_EXTRA_JURISDICTIONS", "", 4000);
  for (const std::string& item : infra::SplitList(extra, ';')) {
    const size_t eq = item.find('=');
    auto b = eq == std::string::npos
                 ? absl::StatusOr<Bounds>(absl::InvalidArgumentError("missing '='"))
                 : ParseBounds(item.substr(eq + 1));
    if (!b.ok()) {
      env.AddError("CITYHUB_EXTRA_JURISDICTIONS",
                   infra::StrCat("'", item, "': ", infra::StdView(b.status().message())));
    } else {
      c.settings.jurisdictions[item.substr(0, eq)] = *b;
    }
  }
  const std::string data_dir = env.String("CITYHUB_DATA_DIR", "var", 4096);
  c.media_dir = env.String("CITYHUB_MEDIA_DIR", data_dir + "/media", 4096);
  c.settings.max_media_reads =
      static_cast<int>(env.Int("CITYHUB_MEDIA_MAX_CONCURRENT_READS", 256, 1, 100'000));
  c.settings.public_base_url =
      env.String("CITYHUB_PUBLIC_BASE_URL",
                 "http://" + env.String("CITYHUB_GATEWAY_ADDR", "127.0.0.1:8080"), 500);
  c.seed_file = env.String("CITYHUB_CATALOGUE_SEED_FILE", "", 4096);
  c.accounts_address = env.Address("CITYHUB_ACCOUNTS_ADDR", "127.0.0.1:7001");
  c.tokens.issuer = env.String("CITYHUB_JWT_ISSUER", "cityhub", 256);
  c.tokens.audience = env.String("CITYHUB_JWT_AUDIENCE", "cityhub-api", 256);
  c.internal_token = env.FileContents("CITYHUB_INTERNAL_TOKEN_FILE", false, 4096);
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
  infra::redis::Client redis(config.common.redis);
  infra::redis::AsyncClient async_redis(config.common.redis, 2);
  infra::auth::TokenVerifier verifier(config.tokens, clock);
  infra::auth::JwksClient jwks(
      infra::CreateChannel(config.accounts_address, config.common.server.tls), verifier);
  jwks.Start();
  infra::auth::Authorizer authorizer(v1::RequestsService::service_full_name(), verifier,
                                     config.internal_token, [&] { return jwks.RefreshIfDue(); });
  infra::auth::DeletedAccounts deleted(redis, kDeletedAccountsArea);
  authorizer.set_deleted_accounts(&deleted);
  RequestStore requests(redis, &async_redis);
  CatalogueStore catalogue_store(redis);
  Catalogue catalogue(catalogue_store, 2s);
  MediaStore media(redis, config.media_dir);
  RequestsService service(
      RequestsDeps{requests, catalogue_store, catalogue, media, authorizer, clock}, config.settings,
      std::make_unique<infra::BoundedExecutor>(config.common.executor, metrics),
      // Each download waits for at most one read at a time: its queue never overflows.
      std::make_unique<infra::BoundedExecutor>(
          infra::ExecutorOptions{"requests_media", 4, config.settings.max_media_reads}, metrics));

  infra::redis::Client accounts_redis(config.accounts_events);
  std::unique_ptr<infra::events::Consumer> account_events;
  if (config.consume_account_events) {
    infra::events::ConsumerOptions options;
    options.stream = "accounts:events";
    options.group = "requests";
    options.consumer = infra::events::DefaultConsumerName(config.common.server.listen_address);
    account_events = std::make_unique<infra::events::Consumer>(
        accounts_redis, options,
        [&](const infra::events::StreamEntry& e) {
          return e.type == "AccountDeleted" ? service.OnAccountEvent(e.payload) : absl::OkStatus();
        },
        metrics, clock);
  }

  infra::GrpcServer server(config.common.server, metrics);
  server.AddService(&service);
  if (auto status = server.Start(); !status.ok()) {
    infra::log::Error("start_failed", {{"error", status.message()}});
    return 1;
  }
  if (account_events) account_events->Start();
  std::jthread seeding;
  if (!seed.empty()) {
    seeding = std::jthread([&](std::stop_token stop) {
      while (!stop.stop_requested()) {
        auto created = service.SeedCatalogue(seed, config.settings.default_jurisdiction);
        if (created.ok()) {
          if (*created > 0) infra::log::Info("catalogue_seeded", {{"services", *created}});
          return;
        }
        infra::log::Warn("catalogue_seed_failed", {{"error", created.status().message()}});
        if (created.status().code() != absl::StatusCode::kUnavailable) return;
        std::this_thread::sleep_for(1s);
      }
    });
  }
  // Data of versions before the weekly geo index is moved in the background (until then,
  // near-me lists lack the old entries, which is better than not starting), and again every
  // minute: during a rolling update, replicas of the earlier version still write there.
  std::jthread migrating([&](std::stop_token stop) {
    constexpr int64_t kStep = 10'000;
    while (!stop.stop_requested()) {
      for (const auto& [jurisdiction, bounds] : config.settings.jurisdictions) {
        int64_t moved_total = 0;
        absl::StatusOr<int64_t> moved = kStep;
        while (moved.ok() && *moved == kStep && !stop.stop_requested()) {
          moved = requests.MigrateGeoIndex(jurisdiction, kStep);
          if (moved.ok()) moved_total += *moved;
        }
        if (moved_total > 0) infra::log::Info("geo_index_migrated", {{"entries", moved_total}});
        if (!moved.ok())
          infra::log::Warn("geo_index_migration_failed", {{"error", moved.status().message()}});
      }
      std::mutex mu;
      std::condition_variable_any wake;
      std::unique_lock lock(mu);
      wake.wait_for(lock, stop, std::chrono::seconds(60), [] { return false; });
    }
  });
  server.Run();
  if (account_events) account_events->Stop();
  jwks.Stop();
  return 0;
}

}  // namespace
}  // namespace cityhub::requests

int main() { return cityhub::requests::Run(); }
