#pragma once

// The gRPC server as a part of a service's component graph (infra/component.h), and the life of a
// service process once its graph is built: the same for every service, so that each main.cc only
// reads its configuration and builds its graph, and the tests build the very same graph.
#include "infra/component.h"
#include "infra/grpc/server.h"
#include "infra/metrics.h"
#include "infra/redis/client.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace cityhub::infra {

// Declares, as the newest part of `graph` (so it is destroyed, and shut down, before the service
// it serves), a GrpcServer with `options` serving `service`, and ready while `redis` answers
// PING: a process that cannot reach its Redis leaves the rotation by itself. Not yet started
// (Serve, or Start() then Components::StartWorkers() in tests).
GrpcServer& AddGrpcServer(Components& graph, const ServerOptions& options, MetricsRegistry& metrics,
                          grpc::Service& service, redis::Client& redis);

// Starts `server`, then the graph's workers not yet started; serves until SIGTERM/SIGINT (or
// server.Stop()), draining as GrpcServer::Run says; then stops the workers. Returns 0, or 1 when
// the server cannot start (logged as start_failed).
int Serve(Components& graph, GrpcServer& server);

}  // namespace cityhub::infra
