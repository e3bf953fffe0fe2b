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

}  // namespace cityhub::infra
