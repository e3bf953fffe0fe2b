#include "gateway/json_writer_parts.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "infra/text.h"

namespace cityhub::gateway::json_internal {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void AppendDouble(double v, std::string* out) {
  if (std::isnan(v)) {
    *out += "\"NaN\"";
  } else if (std::isinf(v)) {
    *out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    out->append(buf, end);
  }
}

void AppendFloat(float v, std::string* out) {
  if (std::isnan(v) || std::isinf(v)) {
    AppendDouble(v, out);
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

void AppendBase64(const std::string& data, std::string* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  *out += '"';
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(data[i]) << 16) |
                       (static_cast<uint8_t>(data[i + 1]) << 8) | static_cast<uint8_t>(data[i + 2]);
    *out += kAlphabet[(v >> 18) & 63];
    *out += kAlphabet[(v >> 12) & 63];
    *out += kAlphabet[(v >> 6) & 63];
    *out += kAlphabet[v & 63];
  }
  if (i + 1 == data.size()) {
    const uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    *out += kAlphabet[(v >> 18) & 63];
    *out += kAlphabet[(v >> 12) & 63];
    *out += "==";
  } else if (i + 2 == data.size()) {
    const uint32_t v =
        (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8);
    *out += kAlphabet[(v >> 18) & 63];
    *out += kAlphabet[(v >> 12) & 63];
    *out += kAlphabet[(v >> 6) & 63];
    *out += '=';
  }
  *out += '"';
}

// "a_b.c_d" → "aB.cD" (FieldMask paths in JSON).
namespace {

std::string CamelPath(const std::string& path) {
  std::string out;
  bool upper = false;
  for (char c : path) {
    if (c == '_') {
      upper = true;
    } else {
      out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    }
  }
  return out;
}

}  // namespace

void WriteStruct(const Message& s, std::string* out) {
  const Descriptor* d = s.GetDescriptor();
  const Reflection* r = s.GetReflection();
  const FieldDescriptor* fields = d->FindFieldByName("fields");
  *out += '{';
  const int n = r->FieldSize(s, fields);
  // Map entries in key order, as protobuf prints them.
  std::vector<const Message*> entries;
  for (int i = 0; i < n; ++i) entries.push_back(&r->GetRepeatedMessage(s, fields, i));
  const FieldDescriptor* key = fields->message_type()->FindFieldByName("key");
  const FieldDescriptor* value = fields->message_type()->FindFieldByName("value");
  std::sort(entries.begin(), entries.end(), [&](const Message* a, const Message* b) {
    return a->GetReflection()->GetString(*a, key) < b->GetReflection()->GetString(*b, key);
  });
  bool first = true;
  for (const Message* e : entries) {
    if (!first) *out += ',';
    first = false;
    infra::AppendJsonString(*out, e->GetReflection()->GetString(*e, key));
    *out += ':';
    WriteStructValue(e->GetReflection()->GetMessage(*e, value), out);
  }
  *out += '}';
}

void WriteListValue(const Message& l, std::string* out) {
  const Reflection* r = l.GetReflection();
  const FieldDescriptor* values = l.GetDescriptor()->FindFieldByName("values");
  *out += '[';
  for (int i = 0; i < r->FieldSize(l, values); ++i) {
    if (i > 0) *out += ',';
    WriteStructValue(r->GetRepeatedMessage(l, values, i), out);
  }
  *out += ']';
}

void WriteStructValue(const Message& v, std::string* out) {
  const Reflection* r = v.GetReflection();
  const auto* oneof = v.GetDescriptor()->FindOneofByName("kind");
  const FieldDescriptor* set = r->GetOneofFieldDescriptor(v, oneof);
  if (set == nullptr || set->name() == "null_value") {
    *out += "null";
  } else if (set->name() == "number_value") {
    AppendDouble(r->GetDouble(v, set), out);
  } else if (set->name() == "string_value") {
    infra::AppendJsonString(*out, r->GetString(v, set));
  } else if (set->name() == "bool_value") {
    *out += r->GetBool(v, set) ? "true" : "false";
  } else if (set->name() == "struct_value") {
    WriteStruct(r->GetMessage(v, set), out);
  } else {
    WriteListValue(r->GetMessage(v, set), out);
  }
}

void WriteFieldMask(const Message& m, std::string* out) {
  const Reflection* r = m.GetReflection();
  const FieldDescriptor* paths = m.GetDescriptor()->FindFieldByName("paths");
  std::string joined;
  for (int i = 0; i < r->FieldSize(m, paths); ++i) {
    if (i > 0) joined += ',';
    joined += CamelPath(r->GetRepeatedString(m, paths, i));
  }
  infra::AppendJsonString(*out, joined);
}

}  // namespace cityhub::gateway::json_internal
