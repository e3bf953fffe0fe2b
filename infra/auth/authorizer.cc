#include "infra/auth/authorizer.h"

#include <algorithm>
#include <cstdlib>

#include <google/protobuf/descriptor.h>
#include <grpcpp/server_context.h>

#include "infra/grpc/context.h"
#include "infra/ids.h"
#include "infra/strings.h"

namespace cityhub::infra::auth {

using cityhub::api::Access;

bool Caller::is_admin() const {
  return std::find(roles.begin(), roles.end(), "admin") != roles.end();
}

bool Caller::is_staff() const {
  return is_admin() || std::find(roles.begin(), roles.end(), "operator") != roles.end();
}

bool Caller::WorksFor(std::string_view department) const {
  if (is_admin()) return true;
  return is_staff() &&
         std::find(departments.begin(), departments.end(), department) != departments.end();
}

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

Authorizer::Authorizer(std::string_view service_full_name, const TokenVerifier& verifier,
                       std::string internal_token, std::function<bool()> refresh_keys)
    : verifier_(verifier),
      internal_token_(std::move(internal_token)),
      refresh_keys_(std::move(refresh_keys)) {
  const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      std::string(service_full_name));
  if (service == nullptr) std::abort();  // a service not linked in: a programming error
  for (int i = 0; i < service->method_count(); ++i) {
    const auto* method = service->method(i);
    access_[method->name()] = method->options().GetExtension(cityhub::api::policy).access();
    const auto& http = method->options().GetExtension(cityhub::api::http);
    if (http.pattern_case() != cityhub::api::HttpRule::PATTERN_NOT_SET &&
        http.pattern_case() != cityhub::api::HttpRule::kGet) {
      writes_.insert(method->name());
    }
  }
}

Access Authorizer::AccessOf(std::string_view method) const {
  auto it = access_.find(method);
  return it == access_.end() ? cityhub::api::ACCESS_UNSPECIFIED : it->second;
}

bool Authorizer::IsWrite(std::string_view method) const { return writes_.contains(method); }

bool Authorizer::MayBlock(const grpc::ServerContextBase& ctx) const {
  if (!refresh_keys_) return false;
  const std::string authorization = IncomingMetadata(ctx, kAuthorizationKey);
  const std::string_view token = BearerToken(authorization);
  return !token.empty() && !verifier_.HasKey(TokenVerifier::PeekKid(token));
}

absl::StatusOr<AccessClaims> Authorizer::VerifyBearer(std::string_view header) const {
  const std::string_view token = BearerToken(header);
  if (token.empty()) return absl::UnauthenticatedError("malformed authorization header");
  auto claims = verifier_.Verify(token);
  if (!claims.ok() && refresh_keys_ && !verifier_.HasKey(TokenVerifier::PeekKid(token)) &&
      refresh_keys_()) {
    claims = verifier_.Verify(token);
  }
  return claims;
}

absl::StatusOr<Caller> Authorizer::Authorize(const grpc::ServerContextBase& ctx,
                                             std::string_view method) const {
  Caller caller;
  const std::string internal = IncomingMetadata(ctx, kInternalTokenKey);
  caller.internal = !internal.empty() && !internal_token_.empty() &&
                    ConstantTimeEquals(internal, internal_token_);
  if (caller.internal) caller.client_address = IncomingMetadata(ctx, kClientAddressKey);
  if (caller.client_address.empty()) caller.client_address = ctx.peer();

  const std::string authorization = IncomingMetadata(ctx, kAuthorizationKey);
  if (!authorization.empty()) {
    auto claims = VerifyBearer(authorization);
    if (!claims.ok()) return claims.status();
    caller.account_id = std::move(claims->subject);
    caller.roles = std::move(claims->roles);
    caller.departments = std::move(claims->departments);
    caller.email_verified = claims->email_verified;
    caller.session_id = std::move(claims->session_id);
    // A deleted account's token stays valid until it expires; it must not write personal data
    // back after the erasure.
    if (deleted_ != nullptr && IsWrite(method)) {
      if (auto s = deleted_->CheckNotDeleted(caller.account_id); !s.ok()) return s;
    }
  }

  switch (AccessOf(method)) {
    case cityhub::api::ACCESS_PUBLIC:
      return caller;
    case cityhub::api::ACCESS_CITIZEN:
      if (!caller.signed_in()) return absl::UnauthenticatedError("sign-in required");
      return caller;
    case cityhub::api::ACCESS_OPERATOR:
      if (!caller.signed_in()) return absl::UnauthenticatedError("sign-in required");
      if (!caller.is_staff()) return absl::PermissionDeniedError("city staff only");
      return caller;
    case cityhub::api::ACCESS_ADMIN:
      if (!caller.signed_in()) return absl::UnauthenticatedError("sign-in required");
      if (!caller.is_admin()) return absl::PermissionDeniedError("administrators only");
      return caller;
    case cityhub::api::ACCESS_INTERNAL:
      if (!caller.internal) return absl::PermissionDeniedError("internal method");
      return caller;
    default:
      return absl::PermissionDeniedError(StrCat("method ", method, " has no access policy"));
  }
}

}  // namespace cityhub::infra::auth
