#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "infra/auth/authorizer.h"
#include "infra/clock.h"
#include "infra/component.h"
#include "infra/executor.h"
#include "infra/grpc/server.h"
#include "infra/metrics.h"
#include "infra/redis/async_client.h"
#include "infra/redis/client.h"
#include "services/notifications/contacts.h"
#include "services/notifications/delivery.h"
#include "services/notifications/fanout.h"
#include "services/notifications/live.h"
#include "services/notifications/notifications_service.h"
#include "services/notifications/stores.h"

// The notifications service's parts, declared once (infra/component.h): stores → contacts →
// fan-out → live hub → delivery → gRPC service, the background workers (the live hub, the
// delivery workers and one consumer per event stream, started in that order after the server
// listens) and the gRPC server. main.cc and the service's tests build the same graph.
namespace cityhub::notifications {

// What the graph borrows: each must outlive it.
struct NotificationsEnvironment {
  infra::redis::Client& redis;
  // The same Redis, pipelined without blocking: the inbox page (ListNotifications).
  infra::redis::AsyncClient& async_redis;
  // The live hub's subscriber connects with these (the same Redis as `redis`).
  infra::redis::Options subscriber;
  const infra::Clock& clock;
  infra::MetricsRegistry& metrics;
  const infra::auth::Authorizer& authorizer;
  std::shared_ptr<grpc::Channel> accounts;
  // The requests service, for mails to anonymous reporters (null: they get none).
  std::shared_ptr<grpc::Channel> requests;
};

// An event stream the fan-out consumes, on the Redis client that holds it.
struct EventSource {
  std::string stream;  // a name from infra/events/streams.h
  infra::redis::Client* redis;
};

struct NotificationsSettings {
  std::string internal_token;
  std::chrono::milliseconds contact_ttl{std::chrono::seconds(60)};
  FanOutSettings fanout;
  // `workers` delivery loops are declared (0: none; tests drive Delivery::RunOne themselves).
  DeliveryOptions delivery;
  infra::ExecutorOptions executor;
  // Streams to consume (none: the tests hand events to FanOut::Handle).
  std::vector<EventSource> events;
  std::string consumer_name;
  // Events a dead replica left unacknowledged are taken over after this long.
  std::chrono::milliseconds claim_idle{30'000};
  // Threads that fan a batch of events out side by side.
  int event_lanes = 4;
  infra::ServerOptions server;
};

// The parts main.cc and the tests reach into; the graph owns them.
struct NotificationsParts {
  Stores& stores;
  Contacts& contacts;
  // Null without NotificationsEnvironment::requests.
  ReporterMails* reporter_mails;
  FanOut& fanout;
  LiveHub& live;
  Delivery& delivery;
  NotificationsService& service;
  // Serves `service`, ready while Redis answers; not yet started (infra::Serve in main.cc; the
  // tests Start() it, then call graph.StartWorkers()).
  infra::GrpcServer& server;
};

// Declares the service's parts, workers and gRPC server in `graph`.
NotificationsParts BuildNotifications(infra::Components& graph, const NotificationsEnvironment& env,
                                      const NotificationsSettings& settings);

}  // namespace cityhub::notifications
