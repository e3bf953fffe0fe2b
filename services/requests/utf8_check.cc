#include "services/requests/utf8_check.h"

#include <vector>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/unknown_field_set.h>

#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::requests {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// Protobuf's own limit; deeper messages are refused by the real parser anyway.
constexpr int kMaxDepth = 100;

// Wrappers that add no name of their own: an attribute answer is "attributes.problem", not
// "attributes.fields.problem.string_value".
bool AddsNoName(const Descriptor& d) {
  return d.options().map_entry() || d.full_name() == "google.protobuf.Struct" ||
         d.full_name() == "google.protobuf.Value" || d.full_name() == "google.protobuf.ListValue";
}

std::string Join(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : infra::StrCat(path, ".", name);
}

std::optional<std::string> Find(const Descriptor& type, std::string_view wire,
                                const std::string& path, int depth) {
  if (depth > kMaxDepth) return std::nullopt;
  UnknownFieldSet fields;
  if (!fields.ParseFromArray(wire.data(), static_cast<int>(wire.size()))) return std::nullopt;
  std::string here = path;
  if (type.options().map_entry() && type.map_key()->type() == FieldDescriptor::TYPE_STRING) {
    for (int i = 0; i < fields.field_count(); ++i) {
      const UnknownField& f = fields.field(i);
      if (f.number() != 1 || f.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
      if (!infra::IsValidUtf8(f.length_delimited())) return path;
      here = Join(path, f.length_delimited());
    }
  }
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& f = fields.field(i);
    if (f.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const FieldDescriptor* field = type.FindFieldByNumber(f.number());
    if (field == nullptr) continue;
    const std::string field_path = AddsNoName(type) ? here : Join(path, field->name());
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      if (!infra::IsValidUtf8(f.length_delimited())) return field_path;
    } else if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
      auto found = Find(*field->message_type(), f.length_delimited(), field_path, depth + 1);
      if (found) return found;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> FirstInvalidUtf8Field(const Descriptor& type, std::string_view wire) {
  return Find(type, wire, "", 0);
}

absl::Status ParseRequest(const grpc::ByteBuffer& buffer, google::protobuf::Message* message) {
  std::string wire;
  if (buffer.Valid()) {
    std::vector<grpc::Slice> slices;
    if (!buffer.Dump(&slices).ok()) return absl::InvalidArgumentError("request: unreadable");
    for (const grpc::Slice& s : slices)
      wire.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  if (auto field = FirstInvalidUtf8Field(*message->GetDescriptor(), wire)) {
    return infra::InvalidField(*field, "not valid UTF-8");
  }
  if (!message->ParseFromString(wire)) {
    return absl::InvalidArgumentError(
        infra::StrCat("request: not a well-formed ", message->GetDescriptor()->name()));
  }
  return absl::OkStatus();
}

}  // namespace cityhub::requests
