#include "infra/service_config.h"

#include <algorithm>

#include "infra/redis/sentinel.h"
#include "infra/strings.h"
#include "infra/text.h"

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

  config.server.tls = LoadGrpcTls(env, /*serves=*/true);
  config.redis = LoadRedisOptions(env, ServiceVariable(defaults.name, "REDIS_URL"));
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

  config.log_level = LoadLogLevel(env);
  return config;
}

log::Level LoadLogLevel(EnvReader& env) {
  const std::string level =
      env.OneOf("CITYHUB_LOG_LEVEL", "info", {"debug", "info", "warn", "error"});
  return log::ParseLevel(level).value_or(log::Level::kInfo);
}

redis::Options LoadRedisOptions(EnvReader& env, std::string_view url_var) {
  std::string url = env.String(url_var, "");
  std::string url_source(url_var);
  if (url.empty()) {
    url = env.String("CITYHUB_REDIS_URL", "redis://127.0.0.1:6379");
    url_source = "CITYHUB_REDIS_URL";
  }
  redis::Options options;
  auto parsed = redis::ParseUrl(url);
  if (parsed.ok()) {
    options = *parsed;
  } else {
    env.AddError(url_source, StdView(parsed.status().message()));
  }
  const std::string password = env.FileContents("CITYHUB_REDIS_PASSWORD_FILE", false, 4096);
  if (!password.empty()) options.password = password;
  const std::string user = env.String("CITYHUB_REDIS_USER", "", 128);
  if (!user.empty()) options.user = user;

  redis::TlsFiles& files = options.tls_files;
  files.ca_pem = env.Pem("CITYHUB_REDIS_TLS_CA");
  files.cert_pem = env.Pem("CITYHUB_REDIS_TLS_CERT");
  files.key_pem = env.Pem("CITYHUB_REDIS_TLS_KEY");
  const bool any_file = !files.ca_pem.empty() || !files.cert_pem.empty() || !files.key_pem.empty();
  if (any_file && !options.tls && parsed.ok()) {
    // Certificates for a plaintext Redis: someone believes TLS is on.
    env.AddError(url_source, "CITYHUB_REDIS_TLS_* are set: the URL must be rediss://");
  } else if (options.tls) {
    if (auto valid = redis::ValidateTlsFiles(files); !valid.ok()) {
      const std::string_view message = StdView(valid.message());
      env.AddError(message.starts_with("CA")           ? "CITYHUB_REDIS_TLS_CA"
                   : message.starts_with("client key") ? "CITYHUB_REDIS_TLS_KEY"
                                                       : "CITYHUB_REDIS_TLS_CERT",
                   message);
    }
  }
  return options;
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
  out.tls = parsed->tls;  // with `fallback`'s certificates
  // The password comes from `fallback` unless the URL has one: so does the user that goes with it.
  if (!parsed->user.empty()) out.user = parsed->user;
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

std::vector<JurisdictionSetting> LoadJurisdictions(EnvReader& env) {
  static constexpr std::string_view kExtra = "CITYHUB_EXTRA_JURISDICTIONS";
  std::vector<JurisdictionSetting> out;
  out.push_back({env.String("CITYHUB_JURISDICTION", "bielefeld.de", 100),
                 env.String("CITYHUB_JURISDICTION_BOUNDS", "51.90,8.37,52.12,8.67", 200),
                 "CITYHUB_JURISDICTION_BOUNDS"});
  for (const std::string& item : SplitList(env.String(kExtra, "", 4000), ';')) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      env.AddError(kExtra, StrCat("'", item, "': ", eq == 0 ? "missing id" : "missing '='"));
      continue;
    }
    out.push_back({item.substr(0, eq), item.substr(eq + 1), kExtra});
  }
  return out;
}

}  // namespace cityhub::infra
