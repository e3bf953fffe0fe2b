#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "infra/grpc/tls.h"
#include "infra/metrics.h"

namespace grpc {
class Server;
class Service;
class CallbackGenericService;
}  // namespace grpc

namespace cityhub::infra {

class MetricsServer;

struct ServerOptions {
  // Used in logs and as the `service` label.
  std::string service_name;
  // gRPC listen address, "host:port" (port 0: any free port).
  std::string listen_address = "127.0.0.1:0";
  // Prometheus /metrics address; empty: none.
  std::string metrics_address;
  // Between health NOT_SERVING and closing the listener, so that load balancers notice.
  std::chrono::milliseconds drain_delay{1000};
  // How long in-flight calls may still run after the listener closes.
  std::chrono::milliseconds grace{10000};
  int max_receive_message_bytes = 4 * 1024 * 1024;
  // Off: plaintext.
  GrpcTls tls;
};

// Blocks SIGTERM and SIGINT in the calling thread and every thread it creates afterwards, so
// that GrpcServer::Run can wait for them. Call first thing in main().
void BlockShutdownSignals();

// The bootstrap every service binary uses: listens, serves grpc.health.v1 and server
// reflection, logs one line and records metrics per call (carrying x-request-id through), and
// drains cleanly: on SIGTERM/SIGINT health turns NOT_SERVING, after drain_delay new calls are
// refused, in-flight calls get `grace` to finish, then Run returns.
class GrpcServer final {
 public:
  GrpcServer(ServerOptions options, MetricsRegistry& metrics);
  ~GrpcServer();

  // Before Start. The services must outlive the server.
  void AddService(grpc::Service* service);
  void AddGenericService(grpc::CallbackGenericService* service);

  // Before Start: how readiness is decided. `check` runs every `interval` on a thread of the
  // server's own (never a gRPC or Redis reader thread) and its answer is the health status of
  // the service name "readiness" (Kubernetes' readinessProbe and the gateway's /readyz ask for
  // it), while the overall status "" stays the liveness answer. So a process whose Redis is
  // unreachable leaves the rotation and comes back by itself, without a restart. Without a
  // check, "readiness" follows "".
  void SetReadinessCheck(std::function<bool()> check,
                         std::chrono::milliseconds interval = std::chrono::milliseconds(500));

  // Binds and starts serving; health is SERVING afterwards.
  absl::Status Start();
  int port() const { return port_; }
  int metrics_port() const;

  // Blocks until SIGTERM/SIGINT or Stop(), then drains as described above.
  void Run();
  // Makes Run return as if a signal had arrived (from any thread).
  void Stop();

 private:
  void Drain();
  void StopReadiness();

  ServerOptions options_;
  MetricsRegistry& metrics_;
  std::vector<grpc::Service*> services_;
  std::vector<grpc::CallbackGenericService*> generic_services_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<MetricsServer> metrics_server_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_requested_ = false;
  std::function<bool()> readiness_check_;
  std::chrono::milliseconds readiness_interval_{500};
  std::jthread readiness_thread_;
};

}  // namespace cityhub::infra
