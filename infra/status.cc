#include "infra/status.h"

#include <grpcpp/support/status.h>

#include "infra/strings.h"

namespace cityhub::infra {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  if (code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN) {
    return grpc::Status(code, "internal error");
  }
  return grpc::Status(code, std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::Status InvalidField(std::string_view field, std::string_view problem) {
  return absl::InvalidArgumentError(StrCat(field, ": ", problem));
}

}  // namespace cityhub::infra
