#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "infra/config.h"
#include "infra/executor.h"
#include "infra/grpc/server.h"
#include "infra/log.h"
#include "infra/redis/client.h"

// Settings every service binary shares, read the same way by each main.cc.
namespace cityhub::infra {

struct ServiceDefaults {
  std::string_view name;          // "accounts"
  std::string_view grpc_address;  // "127.0.0.1:7001"
  std::string_view metrics_address;
};

struct CommonConfig {
  ServerOptions server;
  redis::Options redis;
  log::Level log_level = log::Level::kInfo;
  // The bounded executor that runs the service's blocking handlers (named after the service).
  ExecutorOptions executor;
};

// Reads, for service NAME (upper-cased in variable names):
//   CITYHUB_<NAME>_ADDR            gRPC listen address (and where others dial it)
//   CITYHUB_LISTEN_ADDR            binds here instead, when given (Kubernetes: 0.0.0.0:port)
//   CITYHUB_<NAME>_METRICS_ADDR    Prometheus /metrics address ("" or "off": none)
//   CITYHUB_<NAME>_REDIS_URL       falls back to CITYHUB_REDIS_URL, then redis://127.0.0.1:6379;
//                                  Redis settings as LoadRedisOptions reads them
//   CITYHUB_GRPC_TLS_*             see LoadGrpcTls (infra/grpc/tls.h)
//   CITYHUB_REDIS_POOL_SIZE, CITYHUB_REDIS_TIMEOUT, CITYHUB_REDIS_CONNECT_TIMEOUT
//   CITYHUB_REDIS_SENTINELS, CITYHUB_REDIS_MASTER_NAME, CITYHUB_REDIS_SENTINEL_PASSWORD_FILE
//                                  see LoadSentinel
//   CITYHUB_REDIS_WAIT_REPLICAS, CITYHUB_REDIS_WAIT_TIMEOUT  (0 and 100ms: Client::EvalDurable)
//   CITYHUB_EXECUTOR_WORKERS, CITYHUB_EXECUTOR_QUEUE_LIMIT
//   CITYHUB_DRAIN_DELAY, CITYHUB_SHUTDOWN_GRACE, CITYHUB_LOG_LEVEL
CommonConfig LoadCommonConfig(EnvReader& env, const ServiceDefaults& defaults);

// CITYHUB_LOG_LEVEL: debug, info (default), warn or error; anything else is recorded in `env`.
log::Level LoadLogLevel(EnvReader& env);

// Reads the Redis settings every binary shares: the URL in `url_var`, else CITYHUB_REDIS_URL,
// else redis://127.0.0.1:6379 (rediss:// for TLS); CITYHUB_REDIS_USER (ACL user, overrides
// the URL's) and CITYHUB_REDIS_PASSWORD_FILE; for rediss://, CITYHUB_REDIS_TLS_CA (file with
// the CA certificates; unset: the system's) and CITYHUB_REDIS_TLS_CERT / _KEY (client
// certificate, both or neither). Problems, including unusable PEM files and TLS files with a
// redis:// URL, are recorded in `env`.
redis::Options LoadRedisOptions(EnvReader& env, std::string_view url_var);

// The Redis named by URL variable `name` (e.g. where another service's event stream lives),
// with `fallback`'s user (unless the URL names one), password, TLS files and timeouts;
// `fallback` itself when the variable is unset.
redis::Options RedisOptionsFrom(EnvReader& env, std::string_view name,
                                const redis::Options& fallback);

// "CITYHUB_<NAME>_<SUFFIX>" for a service name.
std::string ServiceVariable(std::string_view service, std::string_view suffix);

// Redis Sentinel (read by LoadCommonConfig; null when unset): CITYHUB_REDIS_SENTINELS
// ("host:port,..."), CITYHUB_REDIS_MASTER_NAME (required with it) and
// CITYHUB_REDIS_SENTINEL_PASSWORD_FILE (the sentinels' requirepass). The Redis URL's host is
// then unused; its password, user and db still apply to the primary.
std::shared_ptr<redis::Sentinel> LoadSentinel(EnvReader& env, std::chrono::milliseconds timeout);

// One jurisdiction a deployment serves, with its bounds as text ("min_lat,min_long,max_lat,
// max_long"; the requests service parses and checks them) and the variable it came from.
struct JurisdictionSetting {
  std::string id;
  std::string bounds;
  std::string_view variable;
};

// The jurisdictions, the default first: CITYHUB_JURISDICTION (default bielefeld.de) with
// CITYHUB_JURISDICTION_BOUNDS, then CITYHUB_EXTRA_JURISDICTIONS ("id=bounds;id2=bounds").
// An extra entry without an id or without '=' is recorded in `env` and left out.
std::vector<JurisdictionSetting> LoadJurisdictions(EnvReader& env);

}  // namespace cityhub::infra
