#include "infra/grpc/unary.h"

#include <string>

#include "infra/grpc/context.h"
#include "infra/log.h"
#include "infra/status.h"

namespace cityhub::infra {

grpc::Status Done(const grpc::ServerContextBase* ctx, const absl::Status& status) {
  const absl::StatusCode code = status.code();
  if (code == absl::StatusCode::kInternal || code == absl::StatusCode::kUnknown ||
      code == absl::StatusCode::kDataLoss) {
    log::Error("internal_error", {{"request_id", ctx == nullptr ? std::string() : RequestId(*ctx)},
                                  {"error", status.message()}});
  }
  return ToGrpcStatus(status);
}

grpc::Status BusyStatus() {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "server busy");
}

grpc::Status DeadlinePassedStatus() {
  return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed while waiting");
}

grpc::Status CancelledStatus() { return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"); }

grpc::Status ThrownStatus(const grpc::ServerContextBase* ctx, const char* what) {
  return Done(ctx, absl::InternalError(std::string("exception: ") + what));
}

}  // namespace cityhub::infra
