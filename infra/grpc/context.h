#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace grpc {
class ClientContext;
class ServerContextBase;
}  // namespace grpc

namespace cityhub::infra {

// Metadata keys shared by the gateway and the services.
inline constexpr char kRequestIdKey[] = "x-request-id";
inline constexpr char kClientAddressKey[] = "x-client-address";
inline constexpr char kIdempotencyKey[] = "idempotency-key";
inline constexpr char kAuthorizationKey[] = "authorization";

// The value of incoming metadata `key`, or empty.
std::string IncomingMetadata(const grpc::ServerContextBase& ctx, std::string_view key);

// The request id of the call being served (set by the server interceptor if the caller sent
// none).
std::string RequestId(const grpc::ServerContextBase& ctx);

// Whether a caller-supplied request id is acceptable: 1..128 characters of [A-Za-z0-9._:-].
bool IsValidRequestId(std::string_view id);

// A context for an outbound call made while serving `incoming`: it carries the request id and
// a deadline that is `timeout` from now or the incoming deadline, whichever is earlier.
std::unique_ptr<grpc::ClientContext> OutboundContext(const grpc::ServerContextBase* incoming,
                                                     std::chrono::milliseconds timeout);

}  // namespace cityhub::infra
