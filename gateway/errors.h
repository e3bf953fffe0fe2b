#pragma once

#include <string>
#include <string_view>

#include <grpcpp/support/status.h>

#include "gateway/http_server.h"

namespace cityhub::gateway {

// The gRPC → HTTP status table of the design (as grpc-gateway maps them).
int HttpStatusFor(grpc::StatusCode code);

// {"code": <grpc code>, "message": "...", "details": []} with `status` and JSON headers.
HttpResponse ErrorResponse(int http_status, grpc::StatusCode code, std::string_view message);
HttpResponse ErrorResponse(const grpc::Status& status);

}  // namespace cityhub::gateway
