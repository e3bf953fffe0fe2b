#include "infra/grpc/serve.h"

#include "infra/log.h"

namespace cityhub::infra {

GrpcServer& AddGrpcServer(Components& graph, const ServerOptions& options, MetricsRegistry& metrics,
                          grpc::Service& service, redis::Client& redis) {
  auto& server = graph.Make<GrpcServer>(options, metrics);
  server.SetReadinessCheck([&redis] { return redis.Command({"PING"}).ok(); });
  server.AddService(&service);
  return server;
}

int Serve(Components& graph, GrpcServer& server) {
  if (auto status = server.Start(); !status.ok()) {
    log::Error("start_failed", {{"error", status.message()}});
    return 1;
  }
  graph.StartWorkers();
  server.Run();
  graph.StopWorkers();
  return 0;
}

}  // namespace cityhub::infra
