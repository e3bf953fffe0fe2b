#pragma once

// The parts of the requests service, declared once (infra/component.h): stores → domain →
// gRPC service → background workers → the gRPC server. main.cc and the test fixture build the
// same graph with this function; only what differs between them (the Redis clients, the
// authorizer with its keys, the clock, the options) is passed in.
#include <chrono>
#include <optional>
#include <string>

#include "infra/auth/authorizer.h"
#include "infra/clock.h"
#include "infra/component.h"
#include "infra/executor.h"
#include "infra/grpc/server.h"
#include "infra/metrics.h"
#include "infra/redis/async_client.h"
#include "infra/redis/client.h"
#include "services/requests/catalogue.h"
#include "services/requests/catalogue_store.h"
#include "services/requests/media_store.h"
#include "services/requests/request_store.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

// What the graph borrows: it must outlive the graph.
struct RequestsInfra {
  infra::redis::Client& redis;
  infra::redis::AsyncClient& async_redis;
  const infra::auth::Authorizer& authorizer;
  const infra::Clock& clock;
  infra::MetricsRegistry& metrics;
  // The accounts service, asked who an assignee is (null: assigning is UNAVAILABLE), with the
  // internal token its internal calls need.
  std::shared_ptr<grpc::Channel> accounts = nullptr;
  std::string internal_token;
};

struct RequestsOptions {
  RequestsSettings settings;
  std::string media_dir;
  // How long a category read from Redis is trusted (0: every read goes to Redis).
  std::chrono::milliseconds catalogue_ttl{2000};
  infra::ExecutorOptions executor{"requests", 8, 256};
  // The photo downloads' own executor; none: they share `executor`.
  std::optional<infra::ExecutorOptions> media_executor;
  // The gRPC server (it should accept photos up to 10 MiB: max_receive_message_bytes).
  infra::ServerOptions server;
};

// The background workers; each is declared only when asked for.
struct RequestsWorkerOptions {
  // A JSON array of Service objects loaded into the default jurisdiction when its catalogue
  // is empty, retried every second while Redis is unavailable.
  std::string catalogue_seed;
  // Geography seeds (#15): GeoJSON texts of a boundary and of districts stored into the
  // default jurisdiction when it has none yet (empty: none), retried while Redis is unavailable.
  std::string boundary_seed;
  std::string districts_seed;
  // Gives open requests their new districts after a change of the districts
  // (RequestsService::ReassignDistricts), looking for work every 2 s.
  bool district_reassignment = false;
  // Moves the geo index of earlier versions into the weekly sets, every minute.
  bool migrate_geo_index = false;
  // Erases reporters' contact details whose retention ended (SweepContactErasures), every 30 s.
  bool contact_erasure = false;
  // Consumes the accounts service's events (AccountDeleted) from this Redis, as consumer
  // `consumer_name` (infra::events::DefaultConsumerName) of the service's group.
  infra::redis::Client* account_events = nullptr;
  std::string consumer_name;
};

// The parts built, for main.cc and the tests.
struct RequestsParts {
  RequestStore& requests;
  CatalogueStore& catalogue_store;
  Catalogue& catalogue;
  MediaStore& media;
  RequestsService& service;
  Geography& geography;
  // Serves `service`, ready while Redis answers; not yet started (infra::Serve in main.cc; the
  // tests Start() it, then call graph.StartWorkers()).
  infra::GrpcServer& server;
};

// Declares the service's parts, workers and gRPC server in `graph`.
RequestsParts AddRequestsComponents(infra::Components& graph, const RequestsInfra& infra,
                                    RequestsOptions options, RequestsWorkerOptions workers);

}  // namespace cityhub::requests
