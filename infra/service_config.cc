#include "infra/service_config.h"

#include <algorithm>

#include "infra/redis/sentinel.h"
#include "infra/strings.h"

namespace cityhub::infra {

std::string ServiceVariable(std::string_view service, std::string_view suffix) {
  std::string upper(service);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return StrCat("CITYHUB_", upper, "_", suffix);
}

CommonConfig LoadCommonConfig(EnvReader& env, const ServiceDefaults& defaults) {
  using std::chrono::milliseconds;
  CommonConfig config;
  config.server.service_name = std::string(defaults.name);
  config.server.listen_address =
      env.Address(ServiceVariable(defaults.name, "ADDR"), defaults.grpc_address);
  // Where others dial a service (a DNS name in Kubernetes) is not always where it can bind.
  const std::string listen = env.String("CITYHUB_LISTEN_ADDR", "");
  if (!listen.empty()) config.server.listen_address = env.Address("CITYHUB_LISTEN_ADDR", listen);
  const std::string metrics_var = ServiceVariable(defaults.name, "METRICS_ADDR");
  const std::string metrics = env.String(metrics_var, defaults.metrics_address);
  if (metrics != "off") config.server.metrics_address = env.Address(metrics_var, metrics);
  config.server.drain_delay = env.Duration("CITYHUB_DRAIN_DELAY", milliseconds(1000),
                                           milliseconds(0), milliseconds(60'000));
  config.server.grace = env.Duration("CITYHUB_SHUTDOWN_GRACE", milliseconds(10'000),
                                     milliseconds(0), milliseconds(300'000));

  const std::string url_var = ServiceVariable(defaults.name, "REDIS_URL");
  std::string url = env.String(url_var, "");
  std::string url_source = url_var;
  if (url.empty()) {
    url = env.String("CITYHUB_REDIS_URL", "redis://127.0.0.1:6379");
    url_source = "CITYHUB_REDIS_URL";
  }
  auto redis = redis::ParseUrl(url);
  if (redis.ok()) {
    config.redis = *redis;
  } else {
    env.AddError(url_source, StdView(redis.status().message()));
  }
  const std::string password = env.FileContents("CITYHUB_REDIS_PASSWORD_FILE", false, 4096);
  if (!password.empty()) config.redis.password = password;
  config.redis.client_name = std::string(defaults.name);
  config.redis.pool_size = static_cast<int>(env.Int("CITYHUB_REDIS_POOL_SIZE", 16, 1, 1024));
  config.redis.command_timeout = env.Duration("CITYHUB_REDIS_TIMEOUT", milliseconds(1000),
                                              milliseconds(1), milliseconds(60'000));
  config.redis.connect_timeout = env.Duration("CITYHUB_REDIS_CONNECT_TIMEOUT", milliseconds(1000),
                                              milliseconds(1), milliseconds(60'000));
  config.redis.pool_wait_timeout = config.redis.command_timeout;
  config.redis.sentinel = LoadSentinel(env, config.redis.connect_timeout);
  // Durable writes (Client::EvalDurable) wait for replicas; off for a single Redis.
  config.redis.wait_replicas = static_cast<int>(env.Int("CITYHUB_REDIS_WAIT_REPLICAS", 0, 0, 16));
  config.redis.wait_timeout = env.Duration("CITYHUB_REDIS_WAIT_TIMEOUT", milliseconds(100),
                                           milliseconds(1), milliseconds(10'000));
  if (config.redis.wait_replicas > 0 && config.redis.wait_timeout >= config.redis.command_timeout) {
    env.AddError("CITYHUB_REDIS_WAIT_TIMEOUT", "must be below CITYHUB_REDIS_TIMEOUT");
  }

  config.executor.name = std::string(defaults.name);
  config.executor.workers = static_cast<int>(env.Int("CITYHUB_EXECUTOR_WORKERS", 16, 1, 1024));
  config.executor.queue_limit =
      static_cast<int>(env.Int("CITYHUB_EXECUTOR_QUEUE_LIMIT", 512, 1, 1'000'000));

  const std::string level =
      env.OneOf("CITYHUB_LOG_LEVEL", "info", {"debug", "info", "warn", "error"});
  config.log_level = log::ParseLevel(level).value_or(log::Level::kInfo);
  return config;
}

redis::Options RedisOptionsFrom(EnvReader& env, std::string_view name,
                                const redis::Options& fallback) {
  const std::string url = env.String(name, "", 1024);
  if (url.empty()) return fallback;
  auto parsed = redis::ParseUrl(url);
  if (!parsed.ok()) {
    env.AddError(name, StdView(parsed.status().message()));
    return fallback;
  }
  redis::Options out = fallback;
  out.sentinel = nullptr;  // a server named by URL, not the sentinels' group
  out.host = parsed->host;
  out.port = parsed->port;
  out.db = parsed->db;
  out.user = parsed->user;
  if (!parsed->password.empty()) out.password = parsed->password;
  return out;
}

std::shared_ptr<redis::Sentinel> LoadSentinel(EnvReader& env, std::chrono::milliseconds timeout) {
  const std::string list = env.String("CITYHUB_REDIS_SENTINELS", "", 2048);
  const std::string master = env.String("CITYHUB_REDIS_MASTER_NAME", "", 128);
  if (list.empty() && master.empty()) return nullptr;
  redis::SentinelOptions options;
  auto sentinels = redis::ParseSentinelList(list);
  if (!sentinels.ok()) {
    env.AddError("CITYHUB_REDIS_SENTINELS", StdView(sentinels.status().message()));
    return nullptr;
  }
  if (master.empty()) {
    env.AddError("CITYHUB_REDIS_MASTER_NAME", "required with CITYHUB_REDIS_SENTINELS");
    return nullptr;
  }
  options.sentinels = std::move(*sentinels);
  options.master_name = master;
  options.password = env.FileContents("CITYHUB_REDIS_SENTINEL_PASSWORD_FILE", false, 4096);
  options.timeout = timeout;
  return std::make_shared<redis::Sentinel>(std::move(options));
}

}  // namespace cityhub::infra
