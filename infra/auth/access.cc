#include "infra/auth/access.h"

#include <algorithm>
#include <cctype>

namespace cityhub::infra::auth {

std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  // The scheme is case-insensitive (RFC 7235).
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return {};
    }
  }
  return authorization.substr(kScheme.size());
}

bool HasRole(const std::vector<std::string>& roles, std::string_view role) {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

absl::StatusOr<AccessClaims> VerifyBearer(const TokenVerifier& verifier,
                                          const std::function<bool()>& refresh_keys,
                                          std::string_view authorization) {
  const std::string_view token = BearerToken(authorization);
  if (token.empty()) return absl::UnauthenticatedError("malformed Authorization header");
  auto claims = verifier.Verify(token);
  if (!claims.ok() && refresh_keys && !verifier.HasKey(TokenVerifier::PeekKid(token)) &&
      refresh_keys()) {
    claims = verifier.Verify(token);
  }
  return claims;
}

absl::Status CheckAccess(cityhub::api::Access access, const Principal& who) {
  const auto has = [&who](std::string_view role) {
    return who.roles != nullptr && HasRole(*who.roles, role);
  };
  const bool admin = has("admin");
  switch (access) {
    case cityhub::api::ACCESS_PUBLIC:
      return absl::OkStatus();
    case cityhub::api::ACCESS_CITIZEN:
      if (!who.signed_in) return absl::UnauthenticatedError("sign-in required");
      return absl::OkStatus();
    case cityhub::api::ACCESS_OPERATOR:
      if (!who.signed_in) return absl::UnauthenticatedError("sign-in required");
      if (!admin && !has("operator")) {
        return absl::PermissionDeniedError("city staff only");
      }
      return absl::OkStatus();
    case cityhub::api::ACCESS_ADMIN:
      if (!who.signed_in) return absl::UnauthenticatedError("sign-in required");
      if (!admin) return absl::PermissionDeniedError("administrators only");
      return absl::OkStatus();
    case cityhub::api::ACCESS_INTERNAL:
      if (!who.internal) return absl::PermissionDeniedError("internal method");
      return absl::OkStatus();
    default:
      return absl::PermissionDeniedError("no access policy");
  }
}

}  // namespace cityhub::infra::auth
