// FROZEN BASELINE, kept only for gateway/json_writer_bench.cc and the equivalence test: the
// gateway's JSON writer as it was before per-type plans (issue #16), so that the benchmark can
// compare the two in one run. Do not use it in the gateway and do not improve it.
#include "gateway/json_writer_baseline.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/time_util.h>

#include "gateway/json_writer_parts.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway::baseline {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using json_internal::AppendBase64;
using json_internal::AppendDouble;
using json_internal::AppendFloat;
using json_internal::WriteFieldMask;
using json_internal::WriteListValue;
using json_internal::WriteStruct;
using json_internal::WriteStructValue;

namespace {

// infra::AppendJsonString as it was: one append per character.
void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = infra::Utf8SequenceLength(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

void WriteMessage(const Message& m, std::string* out);

// Well-known types with a special JSON form; false for ordinary messages.
bool WriteWellKnown(const Message& m, std::string* out) {
  const std::string& name = m.GetDescriptor()->full_name();
  if (!name.starts_with("google.protobuf.")) return false;
  const Reflection* r = m.GetReflection();
  const Descriptor* d = m.GetDescriptor();
  if (name == "google.protobuf.Timestamp") {
    google::protobuf::Timestamp t;
    t.set_seconds(r->GetInt64(m, d->FindFieldByName("seconds")));
    t.set_nanos(r->GetInt32(m, d->FindFieldByName("nanos")));
    AppendJsonString(*out, google::protobuf::util::TimeUtil::ToString(t));
    return true;
  }
  if (name == "google.protobuf.Duration") {
    google::protobuf::Duration t;
    t.set_seconds(r->GetInt64(m, d->FindFieldByName("seconds")));
    t.set_nanos(r->GetInt32(m, d->FindFieldByName("nanos")));
    AppendJsonString(*out, google::protobuf::util::TimeUtil::ToString(t));
    return true;
  }
  if (name == "google.protobuf.Struct") {
    WriteStruct(m, out);
    return true;
  }
  if (name == "google.protobuf.Value") {
    WriteStructValue(m, out);
    return true;
  }
  if (name == "google.protobuf.ListValue") {
    WriteListValue(m, out);
    return true;
  }
  if (name == "google.protobuf.FieldMask") {
    WriteFieldMask(m, out);
    return true;
  }
  if (name == "google.protobuf.Empty") {
    *out += "{}";
    return true;
  }
  return false;
}

void WriteValue(const Message& m, const Reflection* r, const FieldDescriptor* f, int index,
                std::string* out) {
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      infra::StrAppend(out, rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      infra::StrAppend(out, rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      infra::StrAppend(out, "\"", rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f), "\"");
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      infra::StrAppend(out, "\"", rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f),
                       "\"");
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      AppendDouble(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f), out);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      AppendFloat(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f), out);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      *out += (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false";
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number = rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f);
      const auto* value = f->enum_type()->FindValueByNumber(number);
      if (value != nullptr) {
        AppendJsonString(*out, value->name());
      } else {
        infra::StrAppend(out, number);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s = rep ? r->GetRepeatedStringReference(m, f, index, &scratch)
                                 : r->GetStringReference(m, f, &scratch);
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        AppendBase64(s, out);
      } else {
        AppendJsonString(*out, s);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      WriteMessage(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f), out);
      break;
  }
}

void WriteMap(const Message& m, const Reflection* r, const FieldDescriptor* f, std::string* out) {
  const FieldDescriptor* key = f->message_type()->map_key();
  const FieldDescriptor* value = f->message_type()->map_value();
  std::vector<std::pair<std::string, const Message*>> entries;
  for (int i = 0; i < r->FieldSize(m, f); ++i) {
    const Message& e = r->GetRepeatedMessage(m, f, i);
    std::string k;
    const Reflection* er = e.GetReflection();
    switch (key->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        k = er->GetString(e, key);
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        k = std::to_string(er->GetInt32(e, key));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        k = std::to_string(er->GetInt64(e, key));
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        k = std::to_string(er->GetUInt32(e, key));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        k = std::to_string(er->GetUInt64(e, key));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        k = er->GetBool(e, key) ? "true" : "false";
        break;
      default:
        break;
    }
    entries.emplace_back(std::move(k), &e);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  *out += '{';
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) *out += ',';
    AppendJsonString(*out, entries[i].first);
    *out += ':';
    WriteValue(*entries[i].second, entries[i].second->GetReflection(), value, -1, out);
  }
  *out += '}';
}

void WriteMessage(const Message& m, std::string* out) {
  if (WriteWellKnown(m, out)) return;
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  *out += '{';
  bool first = true;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) {
      // Printed always, even empty.
    } else if (f->has_presence()) {
      if (!r->HasField(m, f)) continue;  // messages, oneofs and proto3 optional: only when set
    }
    if (!first) *out += ',';
    first = false;
    AppendJsonString(*out, f->name());
    *out += ':';
    if (f->is_map()) {
      WriteMap(m, r, f, out);
    } else if (f->is_repeated()) {
      *out += '[';
      for (int k = 0; k < r->FieldSize(m, f); ++k) {
        if (k > 0) *out += ',';
        WriteValue(m, r, f, k, out);
      }
      *out += ']';
    } else {
      WriteValue(m, r, f, -1, out);
    }
  }
  *out += '}';
}

}  // namespace

std::string WriteJson(const Message& message) {
  std::string out;
  out.reserve(512);
  WriteMessage(message, &out);
  return out;
}

}  // namespace cityhub::gateway::baseline
