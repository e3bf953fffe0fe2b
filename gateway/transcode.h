#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "gateway/routes.h"

// JSON and URLs to protobuf and back, by protobuf's own JSON utilities and reflection. Every
// problem is INVALID_ARGUMENT naming what is wrong (a field, a query parameter, the body).
namespace cityhub::gateway {

struct ParsedQuery {
  std::vector<std::pair<std::string, std::string>> params;  // decoded, in order
};
// Splits and decodes "a=1&b=x%20y"; INVALID_ARGUMENT for malformed escapes.
absl::StatusOr<ParsedQuery> ParseQuery(std::string_view query);

// Builds the request message of `match.route` from path bindings, query parameters and the
// body. `content_type` is the request's Content-Type (for raw bodies).
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> BuildRequest(
    const RouteTable::Match& match, const ParsedQuery& query, const std::string& body,
    std::string_view content_type);

// Sets a (possibly nested, possibly repeated) field from its text form: numbers, booleans,
// enums by name, strings, bytes (base64), google.protobuf.Timestamp (RFC 3339).
absl::Status SetFieldFromText(google::protobuf::Message* message, std::string_view field_path,
                              std::string_view value, std::string_view shown_name);

// JSON with the proto field names, defaults included.
std::string ToJson(const google::protobuf::Message& message);

// The JSON object key closest before byte `offset` of `json` (to name the field holding bad
// bytes), or empty.
std::string KeyBefore(std::string_view json, size_t offset);

}  // namespace cityhub::gateway
