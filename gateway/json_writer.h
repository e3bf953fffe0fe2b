#pragma once

#include <string>

#include <google/protobuf/message.h>

namespace cityhub::gateway {

// Writes `message` as JSON following protobuf's JSON mapping with the options the API uses
// (proto field names; fields without presence printed even at their default, repeated and map
// fields always; enums by name; 64-bit integers as strings; bytes as base64; Timestamp,
// Duration, Struct, Value, ListValue, FieldMask and Empty in their special forms).
//
// It exists for speed: protobuf 3.21's MessageToJsonString goes through a converter stream
// that cost the gateway most of its CPU per proxied request. The equivalence test checks this
// writer against MessageToJsonString on the API's messages.
void AppendJson(const google::protobuf::Message& message, std::string* out);
std::string WriteJson(const google::protobuf::Message& message);

}  // namespace cityhub::gateway
