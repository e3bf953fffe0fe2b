#include "tests/harness/health.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/harness/process.h"

namespace cityhub::testing {

std::string HealthStatus(const std::string& address) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&ctx, request, &response);
  if (!status.ok()) {
    return status.error_code() == grpc::StatusCode::UNAVAILABLE ? "UNAVAILABLE"
                                                                : "ERROR " + status.error_message();
  }
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

bool WaitForServing(const std::string& address, std::chrono::milliseconds timeout) {
  return WaitFor([&] { return HealthStatus(address) == "SERVING"; }, timeout);
}

}  // namespace cityhub::testing
