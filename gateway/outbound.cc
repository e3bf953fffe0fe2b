#include "gateway/outbound.h"

#include "infra/auth/authorizer.h"
#include "infra/grpc/context.h"

namespace cityhub::gateway {

std::unique_ptr<grpc::ClientContext> NewCallContext(const RequestContext& ctx,
                                                    std::chrono::milliseconds deadline,
                                                    const std::string& internal_token) {
  auto call = std::make_unique<grpc::ClientContext>();
  call->set_deadline(std::chrono::system_clock::now() + deadline);
  call->AddMetadata(infra::kRequestIdKey, ctx.request_id);
  call->AddMetadata(infra::kClientAddressKey, ctx.client_address);
  if (!internal_token.empty()) call->AddMetadata(infra::auth::kInternalTokenKey, internal_token);
  return call;
}

}  // namespace cityhub::gateway
