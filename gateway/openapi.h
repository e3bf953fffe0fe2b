#pragma once

#include <string>

#include "gateway/routes.h"

namespace cityhub::gateway {

// An OpenAPI 3.0 document of every route, generated from the same descriptors and options as
// the route table: paths, path and query parameters, request and response schemas (following
// protobuf's JSON mapping), bearer security for non-public routes, and the error body.
std::string OpenApiJson(const RouteTable& routes, const std::string& server_url);

}  // namespace cityhub::gateway
