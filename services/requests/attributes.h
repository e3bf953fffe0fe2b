#pragma once

#include <string>

#include <google/protobuf/struct.pb.h>

#include "absl/status/statusor.h"
#include "cityhub/storage/requests.pb.h"

namespace cityhub::requests {

// Checks a request's answers against its category's attribute definitions and returns them
// serialized for storage (binary Struct: reading it back costs far less than JSON):
//   string → a string of at most 200 characters; text → at most 4 000;
//   number → a finite number; datetime → an RFC 3339 string;
//   singlevaluelist → one of the allowed keys; multivaluelist → a list of allowed keys.
// Text that reads as a number answers a number, and a single key answers a multivaluelist (form
// posts of Open311 clients carry only text).
// Unknown codes, missing required answers and wrong types are INVALID_ARGUMENT naming
// "attributes.<code>". Informational attributes (variable: false) take no answer.
absl::StatusOr<std::string> ValidateAttributes(
    const google::protobuf::Struct& answers,
    const cityhub::storage::requests::StoredService& service);

// The stored form back as a Struct (empty on damage).
google::protobuf::Struct AttributesFromStorage(const std::string& bytes);

}  // namespace cityhub::requests
