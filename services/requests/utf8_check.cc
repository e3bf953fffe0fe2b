#include "services/requests/utf8_check.h"

#include <vector>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::requests {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;

// Protobuf's own limit; deeper messages are refused by the real parser anyway. The walk reads
// views into the one buffer, so depth costs a stack frame, not a copy of the message.
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

// Calls fn(field number, bytes) for each length-delimited field of a serialized message, as
// views into `wire` (nothing is copied, however deep the nesting). False when `wire` is not a
// well-formed message (the real parser then says so).
template <typename Fn>
bool ForEachLengthDelimited(std::string_view wire, Fn fn) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(wire.data()),
                                            static_cast<int>(wire.size()));
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.CurrentPosition() == static_cast<int>(wire.size());
    if (WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&in, tag)) return false;
      continue;
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length)) return false;
    const int at = in.CurrentPosition();
    if (length > wire.size() - static_cast<size_t>(at) || !in.Skip(static_cast<int>(length)))
      return false;
    if (!fn(WireFormatLite::GetTagFieldNumber(tag), wire.substr(static_cast<size_t>(at), length))) {
      return true;  // fn found what it looked for
    }
  }
}

std::optional<std::string> Find(const Descriptor& type, std::string_view wire,
                                const std::string& path, int depth) {
  if (depth > kMaxDepth) return std::nullopt;
  std::optional<std::string> found;
  std::string here = path;
  if (type.options().map_entry() && type.map_key()->type() == FieldDescriptor::TYPE_STRING) {
    // A map entry is named by its key.
    if (!ForEachLengthDelimited(wire, [&](int number, std::string_view bytes) {
          if (number != 1) return true;
          if (!infra::IsValidUtf8(bytes)) {
            found = path;
            return false;
          }
          here = Join(path, bytes);
          return true;
        })) {
      return std::nullopt;
    }
    if (found) return found;
  }
  ForEachLengthDelimited(wire, [&](int number, std::string_view bytes) {
    const FieldDescriptor* field = type.FindFieldByNumber(number);
    if (field == nullptr) return true;
    const std::string field_path = AddsNoName(type) ? here : Join(path, field->name());
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      if (!infra::IsValidUtf8(bytes)) found = field_path;
    } else if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
      found = Find(*field->message_type(), bytes, field_path, depth + 1);
    }
    return !found;
  });
  return found;
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
