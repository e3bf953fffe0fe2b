#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
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

  // Every backend and whether its grpc.health.v1 check says SERVING; checked at most once a
  // second, answered from the last check otherwise.
  std::vector<std::pair<std::string, bool>> Health();

 private:
  struct Backend {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<GenericStub> stub;
  };
  std::map<std::string, Backend> backends_;
  std::mutex health_mu_;
  std::chrono::steady_clock::time_point checked_{};
  std::vector<std::pair<std::string, bool>> health_;
};

}  // namespace cityhub::gateway
