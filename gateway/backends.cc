#include "gateway/backends.h"

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
    Backend b;
    b.address = address;
    b.channel = infra::CreateChannel(address, tls, args);
    b.stub = std::make_unique<GenericStub>(b.channel);
    backends_.emplace(service, std::move(b));
  }
}

GenericStub* Backends::StubFor(const std::string& service) const {
  auto it = backends_.find(service);
  return it == backends_.end() ? nullptr : it->second.stub.get();
}

std::shared_ptr<grpc::Channel> Backends::ChannelFor(const std::string& service) const {
  auto it = backends_.find(service);
  return it == backends_.end() ? nullptr : it->second.channel;
}

std::vector<std::pair<std::string, bool>> Backends::Health() {
  std::lock_guard lock(health_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now - checked_ < std::chrono::seconds(1) && !health_.empty()) return health_;
  std::vector<std::pair<std::string, bool>> result;
  for (const auto& [service, backend] : backends_) {
    auto stub = grpc::health::v1::Health::NewStub(backend.channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    const bool ok = stub->Check(&ctx, request, &response).ok() &&
                    response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    result.emplace_back(service, ok);
  }
  health_ = result;
  checked_ = now;
  return result;
}

}  // namespace cityhub::gateway
