#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

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
//   CITYHUB_<NAME>_REDIS_URL       falls back to CITYHUB_REDIS_URL, then redis://127.0.0.1:6379
//   CITYHUB_REDIS_PASSWORD_FILE    file with the Redis password (ACL user in the URL)
//   CITYHUB_REDIS_POOL_SIZE, CITYHUB_REDIS_TIMEOUT, CITYHUB_REDIS_CONNECT_TIMEOUT
//   CITYHUB_REDIS_SENTINELS, CITYHUB_REDIS_MASTER_NAME, CITYHUB_REDIS_SENTINEL_PASSWORD_FILE
//                                  see LoadSentinel
//   CITYHUB_REDIS_WAIT_REPLICAS, CITYHUB_REDIS_WAIT_TIMEOUT  (0 and 100ms: Client::EvalDurable)
//   CITYHUB_EXECUTOR_WORKERS, CITYHUB_EXECUTOR_QUEUE_LIMIT
//   CITYHUB_DRAIN_DELAY, CITYHUB_SHUTDOWN_GRACE, CITYHUB_LOG_LEVEL
CommonConfig LoadCommonConfig(EnvReader& env, const ServiceDefaults& defaults);

// The Redis named by URL variable `name` (e.g. where another service's event stream lives),
// with `fallback`'s password and timeouts; `fallback` itself when the variable is unset.
redis::Options RedisOptionsFrom(EnvReader& env, std::string_view name,
                                const redis::Options& fallback);

// "CITYHUB_<NAME>_<SUFFIX>" for a service name.
std::string ServiceVariable(std::string_view service, std::string_view suffix);

// Redis Sentinel (read by LoadCommonConfig; null when unset): CITYHUB_REDIS_SENTINELS
// ("host:port,..."), CITYHUB_REDIS_MASTER_NAME (required with it) and
// CITYHUB_REDIS_SENTINEL_PASSWORD_FILE (the sentinels' requirepass). The Redis URL's host is
// then unused; its password, user and db still apply to the primary.
std::shared_ptr<redis::Sentinel> LoadSentinel(EnvReader& env, std::chrono::milliseconds timeout);

}  // namespace cityhub::infra
