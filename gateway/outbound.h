#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/client_context.h>

#include "gateway/gateway.h"

namespace cityhub::gateway {

// A call to a service on behalf of one HTTP request, as the JSON routes and Open311 both make
// it: a deadline `deadline` from now, the request id and the client address, and (when given)
// the internal token that makes the service trust that address. Callers add what only they
// send (the caller's Authorization, an Idempotency-Key, a partner id).
std::unique_ptr<grpc::ClientContext> NewCallContext(const RequestContext& ctx,
                                                    std::chrono::milliseconds deadline,
                                                    const std::string& internal_token);

}  // namespace cityhub::gateway
