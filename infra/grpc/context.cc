#include "infra/grpc/context.h"

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

namespace cityhub::infra {

std::string IncomingMetadata(const grpc::ServerContextBase& ctx, std::string_view key) {
  const auto& metadata = ctx.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

std::string RequestId(const grpc::ServerContextBase& ctx) {
  return IncomingMetadata(ctx, kRequestIdKey);
}

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::unique_ptr<grpc::ClientContext> OutboundContext(const grpc::ServerContextBase* incoming,
                                                     std::chrono::milliseconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  auto deadline = std::chrono::system_clock::now() + timeout;
  if (incoming != nullptr) {
    const std::string id = RequestId(*incoming);
    if (!id.empty()) ctx->AddMetadata(kRequestIdKey, id);
    const auto incoming_deadline = incoming->deadline();
    if (incoming_deadline < deadline) deadline = incoming_deadline;
  }
  ctx->set_deadline(deadline);
  return ctx;
}

}  // namespace cityhub::infra
