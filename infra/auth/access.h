#pragma once

// Access policy, once for the gateway and the services: who a bearer token names, and whether
// that caller may use a method of a given access level (the cityhub.api.policy option).
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cityhub/api/annotations.pb.h"
#include "infra/auth/jwt.h"

namespace cityhub::infra::auth {

// The access token from an "authorization" value ("Bearer <token>", scheme case-insensitive),
// or empty.
std::string_view BearerToken(std::string_view authorization);

bool HasRole(const std::vector<std::string>& roles, std::string_view role);

// The claims of the bearer token in an "authorization" value. A token naming a key id the
// verifier does not know calls `refresh_keys` (may be empty) once, which may block on an
// outbound call, and is checked again when it loaded keys. UNAUTHENTICATED for a malformed
// header or a bad token; UNAVAILABLE while the verifier has no keys yet (try again, not signed
// out).
absl::StatusOr<AccessClaims> VerifyBearer(const TokenVerifier& verifier,
                                          const std::function<bool()>& refresh_keys,
                                          std::string_view authorization);

// Who asks, as far as access levels go.
struct Principal {
  bool signed_in = false;
  const std::vector<std::string>* roles = nullptr;  // borrowed; null: none
  // Presented the internal token: a cityhub component.
  bool internal = false;
};

// Whether `who` may use a method of level `access`: UNAUTHENTICATED ("sign-in required") for an
// anonymous caller where an account is needed; PERMISSION_DENIED for too few rights, for an
// outside caller of an internal method and for a method without a policy (access is never
// granted by omission).
absl::Status CheckAccess(cityhub::api::Access access, const Principal& who);

}  // namespace cityhub::infra::auth
