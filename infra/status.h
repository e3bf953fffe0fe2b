#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace grpc {
class Status;
}

namespace cityhub::infra {

// The one conversion from absl::Status to grpc::Status at the edge of a service. INTERNAL and
// UNKNOWN messages are replaced by a generic text (the detail belongs in the log, not on the
// wire); every other code keeps its message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The reverse, for results of outbound calls.
absl::Status FromGrpcStatus(const grpc::Status& status);

// INVALID_ARGUMENT whose message starts with the field name, e.g. "email: not an e-mail address".
absl::Status InvalidField(std::string_view field, std::string_view problem);

namespace status_internal {
inline const absl::Status& AsStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& result) {
  return result.status();
}
}  // namespace status_internal

}  // namespace cityhub::infra

// Early returns for absl::Status and absl::StatusOr, in the common spelling (absl keeps its own
// macros internal). `expr` is evaluated once.
//   RETURN_IF_ERROR(store.Save(x));
//   ASSIGN_OR_RETURN(Request request, store.Load(id));
#define CITYHUB_STATUS_CONCAT_INNER(a, b) a##b
#define CITYHUB_STATUS_CONCAT(a, b) CITYHUB_STATUS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                                               \
  do {                                                                      \
    if (const auto& cityhub_status_ = (expr);                               \
        !::cityhub::infra::status_internal::AsStatus(cityhub_status_).ok()) \
      return ::cityhub::infra::status_internal::AsStatus(cityhub_status_);  \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  CITYHUB_ASSIGN_OR_RETURN_IMPL(CITYHUB_STATUS_CONCAT(cityhub_result_, __LINE__), lhs, expr)

#define CITYHUB_ASSIGN_OR_RETURN_IMPL(result, lhs, expr) \
  auto result = (expr);                                  \
  if (!result.ok()) return std::move(result).status();   \
  lhs = std::move(*result)
