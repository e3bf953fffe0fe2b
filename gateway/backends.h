#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <google/protobuf/message.h>
#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include "infra/grpc/tls.h"

// The gRPC services behind the gateway: one channel per service, called through gRPC's generic
// stub with the messages the route table knows (no generated stub per service in the gateway).
namespace cityhub::gateway {

using GenericStub =
    grpc::TemplatedGenericStub<google::protobuf::Message, google::protobuf::Message>;

class Backends final {
 public:
  // Service full name (e.g. "cityhub.requests.v1.RequestsService") → "host:port"; dialled with
  // TLS per `tls` (default: plaintext).
  explicit Backends(const std::map<std::string, std::string>& addresses,
                    const infra::GrpcTls& tls = {});

  // Null for services that are not configured.
  GenericStub* StubFor(const std::string& service) const;
  std::shared_ptr<grpc::Channel> ChannelFor(const std::string& service) const;

  ~Backends();

  // Every backend and whether it is ready: its grpc.health.v1 status for the service name
  // "readiness" (which a service turns NOT_SERVING while e.g. its Redis is unreachable, and
  // while it drains). Answered from memory: a thread of the gateway's own asks every backend
  // every 500 ms (the first time in the constructor), so /readyz never waits on an I/O thread.
  std::vector<std::pair<std::string, bool>> Health() const;

 private:
  struct Backend {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<GenericStub> stub;
  };
  std::vector<std::pair<std::string, bool>> CheckHealth() const;

  std::map<std::string, Backend> backends_;
  mutable std::mutex health_mu_;
  std::vector<std::pair<std::string, bool>> health_;
  std::jthread health_thread_;
};

}  // namespace cityhub::gateway
