#pragma once

// The access side of a service that checks the accounts service's tokens (requests,
// notifications), declared once for the component graph (infra/component.h).
#include <memory>
#include <string>
#include <string_view>

#include "infra/auth/authorizer.h"
#include "infra/auth/jwt.h"
#include "infra/clock.h"
#include "infra/component.h"
#include "infra/redis/client.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace cityhub::infra::auth {

struct AuthorizerOptions {
  // A service of the generated descriptor pool, e.g. v1::RequestsService::service_full_name().
  std::string_view service_full_name;
  TokenSettings tokens;
  // The x-cityhub-internal secret of service-to-service calls (empty: such calls are refused).
  std::string internal_token;
  // The accounts service, whose GetJwks publishes the token keys.
  std::shared_ptr<grpc::Channel> accounts;
  // The key prefix of the service's deleted-account markers ("requests", "notifications").
  std::string_view deleted_area;
};

// Declares in `graph` a TokenVerifier, the JwksClient that keeps its keys (a worker named
// "jwks"; start it before serving, so that the first calls find keys), the service's
// deleted-account markers on `redis` and the Authorizer that uses them all.
Authorizer& AddAuthorizer(Components& graph, const AuthorizerOptions& options, redis::Client& redis,
                          const Clock& clock);

}  // namespace cityhub::infra::auth
