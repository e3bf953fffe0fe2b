#include "infra/auth/authorizer.h"

#include <algorithm>
#include <cstdlib>

#include <google/protobuf/descriptor.h>
#include <grpcpp/server_context.h>

#include "infra/grpc/context.h"
#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"

namespace cityhub::infra::auth {

using cityhub::api::Access;

bool Caller::is_admin() const { return HasRole(roles, "admin"); }

bool Caller::is_staff() const { return is_admin() || HasRole(roles, "operator"); }

bool Caller::WorksFor(std::string_view department) const {
  if (is_admin()) return true;
  return is_staff() &&
         std::find(departments.begin(), departments.end(), department) != departments.end();
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
    ASSIGN_OR_RETURN(auto claims, VerifyBearer(verifier_, refresh_keys_, authorization));
    caller.account_id = std::move(claims.subject);
    caller.roles = std::move(claims.roles);
    caller.departments = std::move(claims.departments);
    caller.email_verified = claims.email_verified;
    caller.session_id = std::move(claims.session_id);
    // A deleted account's token stays valid until it expires; it must not write personal data
    // back after the erasure.
    if (deleted_ != nullptr && IsWrite(method)) {
      RETURN_IF_ERROR(deleted_->CheckNotDeleted(caller.account_id));
    }
  }

  const Access access = AccessOf(method);
  if (access == cityhub::api::ACCESS_UNSPECIFIED) {
    return absl::PermissionDeniedError(StrCat("method ", method, " has no access policy"));
  }
  RETURN_IF_ERROR(CheckAccess(access, {caller.signed_in(), &caller.roles, caller.internal}));
  return caller;
}

}  // namespace cityhub::infra::auth
