#include "gateway/backends.h"

#include <condition_variable>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "infra/grpc/tls.h"

namespace cityhub::gateway {

Backends::Backends(const std::map<std::string, std::string>& addresses, const infra::GrpcTls& tls) {
  for (const auto& [service, address] : addresses) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
    args.SetMaxReceiveMessageSize(16 * 1024 * 1024);
    args.SetMaxSendMessageSize(16 * 1024 * 1024);
    // What a stream may buffer ahead of its reader: fixed, not grown by BDP probing (which
    // let 200 photo downloads hold some 3 MiB each); ample for answers within a cluster.
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
    // A restarted backend is back within a second or two: reconnect soon after, instead of
    // gRPC's default backoff of 1 s growing to 2 min, so retried calls find it.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    Backend b;
    b.address = address;
    b.channel = infra::CreateChannel(address, tls, args);
    b.stub = std::make_unique<GenericStub>(b.channel);
    backends_.emplace(service, std::move(b));
  }
  health_ = CheckHealth();
  health_thread_ = std::jthread([this](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    while (true) {
      {
        std::unique_lock lock(mu);
        if (cv.wait_for(lock, stop, std::chrono::milliseconds(500), [] { return false; }) ||
            stop.stop_requested())
          return;
      }
      auto health = CheckHealth();
      std::lock_guard lock(health_mu_);
      health_ = std::move(health);
    }
  });
}

GenericStub* Backends::StubFor(const std::string& service) const {
  auto it = backends_.find(service);
  return it == backends_.end() ? nullptr : it->second.stub.get();
}

std::shared_ptr<grpc::Channel> Backends::ChannelFor(const std::string& service) const {
  auto it = backends_.find(service);
  return it == backends_.end() ? nullptr : it->second.channel;
}

Backends::~Backends() {
  if (!health_thread_.joinable()) return;
  health_thread_.request_stop();
  health_thread_.join();
}

std::vector<std::pair<std::string, bool>> Backends::Health() const {
  std::lock_guard lock(health_mu_);
  return health_;
}

std::vector<std::pair<std::string, bool>> Backends::CheckHealth() const {
  std::vector<std::pair<std::string, bool>> result;
  for (const auto& [service, backend] : backends_) {
    auto stub = grpc::health::v1::Health::NewStub(backend.channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("readiness");
    grpc::health::v1::HealthCheckResponse response;
    const bool ok = stub->Check(&ctx, request, &response).ok() &&
                    response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    result.emplace_back(service, ok);
  }
  return result;
}

}  // namespace cityhub::gateway
