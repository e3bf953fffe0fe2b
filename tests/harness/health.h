#pragma once

#include <chrono>
#include <string>

namespace cityhub::testing {

// The grpc.health.v1 status of the server at `address` ("" service): "SERVING",
// "NOT_SERVING", or the gRPC error (e.g. "UNAVAILABLE") when the check fails.
std::string HealthStatus(const std::string& address);

// Polls until the server at `address` reports SERVING.
bool WaitForServing(const std::string& address, std::chrono::milliseconds timeout);

}  // namespace cityhub::testing
