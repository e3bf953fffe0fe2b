#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>

#include "absl/status/status.h"

// Text that is not UTF-8, found before protobuf sees it. Protobuf refuses to parse a message
// whose string field is not UTF-8 and says only that parsing failed (gRPC's callback API then
// answers UNIMPLEMENTED with no message); these name the field instead.
namespace cityhub::requests {

// The path of the first string field of `wire` (a serialized message of `type`) whose value is
// not valid UTF-8 — "description", "contact.first_name", "attributes.<code>" (map keys name
// their entries; google.protobuf.Struct, Value and ListValue add nothing) — or nullopt when
// every string is valid or `wire` is not a message at all.
std::optional<std::string> FirstInvalidUtf8Field(const google::protobuf::Descriptor& type,
                                                 std::string_view wire);

// Parses a request received as raw bytes into `message`. INVALID_ARGUMENT "<field>: not valid
// UTF-8" for text that is not UTF-8, INVALID_ARGUMENT "request: ..." for bytes that are no
// such message.
absl::Status ParseRequest(const grpc::ByteBuffer& buffer, google::protobuf::Message* message);

}  // namespace cityhub::requests
