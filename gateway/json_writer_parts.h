#pragma once

// Pieces of the JSON writer (json_writer.cc) that its frozen baseline (json_writer_baseline.cc,
// kept for the benchmark only) shares. Included by those two files and nothing else.
#include <string>

#include <google/protobuf/message.h>

namespace cityhub::gateway::json_internal {

// Numbers as protobuf's JSON printer spells them: shortest round-trip form, "NaN",
// "Infinity" and "-Infinity" as strings.
void AppendDouble(double v, std::string* out);
void AppendFloat(float v, std::string* out);

// Bytes fields: standard base64 with padding, quoted.
void AppendBase64(const std::string& data, std::string* out);

// google.protobuf.Struct, Value and ListValue read through reflection (works for dynamic
// messages too), map keys in order.
void WriteStruct(const google::protobuf::Message& s, std::string* out);
void WriteStructValue(const google::protobuf::Message& v, std::string* out);
void WriteListValue(const google::protobuf::Message& l, std::string* out);

// google.protobuf.FieldMask: the paths in lowerCamelCase, joined by commas, quoted.
void WriteFieldMask(const google::protobuf::Message& m, std::string* out);

}  // namespace cityhub::gateway::json_internal
