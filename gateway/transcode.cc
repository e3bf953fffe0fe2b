#include "gateway/transcode.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "gateway/json_writer.h"
#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using infra::StrAppend;
using infra::StrCat;

namespace {

absl::Status BadParam(std::string_view name, std::string_view problem) {
  return absl::InvalidArgumentError(StrCat(name, ": ", problem));
}

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// Walks to the message holding the last field of `path`, creating parents.
absl::Status Resolve(Message* root, std::string_view path, std::string_view shown, Message** holder,
                     const FieldDescriptor** field) {
  Message* message = root;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string name(path.substr(start, dot - start));
    const FieldDescriptor* f = message->GetDescriptor()->FindFieldByName(name);
    if (f == nullptr) {
      // lowerCamelCase names are accepted too, as in JSON bodies.
      f = message->GetDescriptor()->FindFieldByCamelcaseName(name);
    }
    if (f == nullptr) return BadParam(shown, "unknown parameter");
    if (dot == std::string_view::npos) {
      *holder = message;
      *field = f;
      return absl::OkStatus();
    }
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) {
      return BadParam(shown, "unknown parameter");
    }
    message = message->GetReflection()->MutableMessage(message, f);
    start = dot + 1;
  }
}

// "A, B, C": the values a caller may send for an enum (its *_UNSPECIFIED zero means "not given").
std::string EnumChoices(const google::protobuf::EnumDescriptor* e) {
  std::string out;
  for (int i = 0; i < e->value_count(); ++i) {
    const std::string& name = e->value(i)->name();
    if (e->value(i)->number() == 0 && name.ends_with("_UNSPECIFIED")) continue;
    StrAppend(&out, out.empty() ? "" : ", ", name);
  }
  return out;
}

// protobuf's JSON parser names the problem in its own words, and for broken JSON it repeats the
// input. The caller gets the field and what it may hold, and never its own text back.
std::string BodyProblem(std::string_view parser_message) {
  // (status): invalid value "resolved" for type type.googleapis.com/cityhub.requests.v1.Status
  static constexpr std::string_view kInvalid = "): invalid value ";
  static constexpr std::string_view kType = " for type type.googleapis.com/";
  const size_t invalid = parser_message.find(kInvalid);
  const size_t type = parser_message.rfind(kType);
  // Any "(field): invalid value …" names the field; the value itself (the caller's text) is
  // never repeated.
  if (parser_message.starts_with("(") && invalid != std::string_view::npos) {
    const std::string field(parser_message.substr(1, invalid - 1));
    if (type != std::string_view::npos) {
      const std::string type_name(parser_message.substr(type + kType.size()));
      if (const auto* e =
              google::protobuf::DescriptorPool::generated_pool()->FindEnumTypeByName(type_name)) {
        return StrCat(field, ": not one of ", EnumChoices(e));
      }
    }
    return StrCat(field, ": not a valid value for this field");
  }
  // The first line says what is wrong; the lines after it show the caller's own input.
  const std::string_view first = parser_message.substr(0, parser_message.find('\n'));
  return StrCat("body: ", first.size() > 200 ? first.substr(0, 200) : first);
}

// The field path `name` names, in proto field names (lowerCamelCase segments resolved), so that
// `mediaId` and `media_id` compare equal; unknown segments are kept as given.
std::string CanonicalFieldPath(const google::protobuf::Descriptor* d, std::string_view name) {
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::string segment(name.substr(start, dot - start));
    const FieldDescriptor* f = d == nullptr ? nullptr : d->FindFieldByName(segment);
    if (f == nullptr && d != nullptr) f = d->FindFieldByCamelcaseName(segment);
    if (!out.empty()) out += '.';
    out += f != nullptr ? f->name() : segment;
    d = f != nullptr && f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ? f->message_type()
                                                                          : nullptr;
    start = dot + 1;
  }
  return out;
}

// A query parameter's name as errors show it: "=x" has none, so the query is named instead.
std::string_view ShownName(const std::string& name) {
  return name.empty() ? std::string_view("query") : std::string_view(name);
}

}  // namespace

absl::StatusOr<ParsedQuery> ParseQuery(std::string_view query) {
  ParsedQuery out;
  size_t start = 0;
  while (start < query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto name = PercentDecode(pair.substr(0, eq), true);
    auto value = PercentDecode(
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!name || !value) return absl::InvalidArgumentError("query: malformed percent-encoding");
    if (!infra::IsValidUtf8(*name) || !infra::IsValidUtf8(*value)) {
      return absl::InvalidArgumentError(
          StrCat(!name->empty() && infra::IsValidUtf8(*name) ? *name : std::string("query"),
                 ": not valid UTF-8"));
    }
    if (out.params.size() >= 100)
      return absl::InvalidArgumentError("query: more than 100 parameters");
    out.params.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

absl::Status SetFieldFromText(Message* message, std::string_view field_path, std::string_view value,
                              std::string_view shown) {
  Message* holder = nullptr;
  const FieldDescriptor* f = nullptr;
  RETURN_IF_ERROR(Resolve(message, field_path, shown, &holder, &f));
  const Reflection* r = holder->GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        auto decoded = infra::Base64UrlDecode(value);
        if (!decoded) return BadParam(shown, "not base64url");
        rep ? r->AddString(holder, f, *decoded) : r->SetString(holder, f, *decoded);
      } else {
        // Path variables arrive percent-decoded and unchecked; a string field that is not UTF-8
        // would make the service fail to parse the whole message.
        if (!infra::IsValidUtf8(value)) return BadParam(shown, "not valid UTF-8");
        rep ? r->AddString(holder, f, std::string(value))
            : r->SetString(holder, f, std::string(value));
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v = 0;
      if (!ParseNumber(value, &v)) return BadParam(shown, "not a whole number");
      rep ? r->AddInt32(holder, f, v) : r->SetInt32(holder, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v = 0;
      if (!ParseNumber(value, &v)) return BadParam(shown, "not a whole number");
      rep ? r->AddInt64(holder, f, v) : r->SetInt64(holder, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v = 0;
      if (!ParseNumber(value, &v)) return BadParam(shown, "not a whole number");
      rep ? r->AddUInt32(holder, f, v) : r->SetUInt32(holder, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v = 0;
      if (!ParseNumber(value, &v)) return BadParam(shown, "not a whole number");
      rep ? r->AddUInt64(holder, f, v) : r->SetUInt64(holder, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double v = 0;
      if (!ParseNumber(value, &v) || !std::isfinite(v)) return BadParam(shown, "not a number");
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        rep ? r->AddDouble(holder, f, v) : r->SetDouble(holder, f, v);
      } else {
        rep ? r->AddFloat(holder, f, static_cast<float>(v))
            : r->SetFloat(holder, f, static_cast<float>(v));
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (value == "true" || value == "1")
        v = true;
      else if (value == "false" || value == "0")
        v = false;
      else
        return BadParam(shown, "not true or false");
      rep ? r->AddBool(holder, f, v) : r->SetBool(holder, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      // Enum names are taken in any case ("resolved" is RESOLVED), as in JSON bodies.
      std::string upper(value);
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      const auto* e = f->enum_type()->FindValueByName(upper);
      if (e == nullptr) return BadParam(shown, StrCat("not one of ", EnumChoices(f->enum_type())));
      rep ? r->AddEnum(holder, f, e) : r->SetEnum(holder, f, e);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      if (f->message_type()->full_name() == "google.protobuf.Timestamp" && !rep) {
        google::protobuf::Timestamp t;
        if (!google::protobuf::util::TimeUtil::FromString(std::string(value), &t)) {
          return BadParam(shown, "not an RFC 3339 date and time (e.g. 2026-11-25T08:00:00Z)");
        }
        r->MutableMessage(holder, f)->CopyFrom(t);
        return absl::OkStatus();
      }
      if (f->message_type()->full_name() == "google.protobuf.FieldMask" && !rep) {
        // As the OpenAPI document describes a FieldMask: comma-separated field paths
        // (PATCH /v1/services/{service_code}?update_mask=active,sla_hours), so a field can be
        // set to its default (active: false), which the body alone cannot say.
        google::protobuf::FieldMask mask;
        google::protobuf::util::FieldMaskUtil::FromString(std::string(value), &mask);
        if (mask.paths_size() > 32) return BadParam(shown, "more than 32 paths");
        r->MutableMessage(holder, f)->CopyFrom(mask);
        return absl::OkStatus();
      }
      return BadParam(shown, "cannot be given as a parameter");
    }
  }
  return BadParam(shown, "unsupported");
}

std::string KeyBefore(std::string_view json, size_t offset) {
  offset = std::min(offset, json.size());
  // Find the last `"key":` before the offset.
  size_t colon = json.rfind(':', offset);
  while (colon != std::string_view::npos && colon > 0) {
    size_t end = colon;
    while (end > 0 && (json[end - 1] == ' ' || json[end - 1] == '\t' || json[end - 1] == '\n'))
      --end;
    if (end > 1 && json[end - 1] == '"') {
      const size_t start = json.rfind('"', end - 2);
      if (start != std::string_view::npos) {
        const std::string_view key = json.substr(start + 1, end - start - 2);
        if (!key.empty() && key.size() <= 64 && infra::IsValidUtf8(key)) return std::string(key);
      }
    }
    if (colon == 0) break;
    colon = json.rfind(':', colon - 1);
  }
  return "";
}

absl::StatusOr<std::unique_ptr<Message>> BuildRequest(const RouteTable::Match& match,
                                                      const ParsedQuery& query,
                                                      const std::string& body,
                                                      std::string_view content_type) {
  const Route& route = *match.route;
  const auto* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(
      route.method->input_type());
  std::unique_ptr<Message> message(prototype->New());
  // The body first: path variables then take precedence over body fields of the same name.
  if (!route.body.empty()) {
    Message* target = message.get();
    if (route.body != "*") {
      target = message->GetReflection()->MutableMessage(
          message.get(), route.method->input_type()->FindFieldByName(route.body));
    }
    if (route.raw_request) {
      const auto* d = target->GetDescriptor();
      target->GetReflection()->SetString(target, d->FindFieldByName("content_type"),
                                         std::string(content_type));
      target->GetReflection()->SetString(target, d->FindFieldByName("data"), body);
    } else if (!body.empty()) {
      if (const size_t bad = infra::FirstInvalidUtf8(body); bad != std::string_view::npos) {
        const std::string key = KeyBefore(body, bad);
        return absl::InvalidArgumentError(
            StrCat(key.empty() ? std::string("body") : key, ": not valid UTF-8"));
      }
      google::protobuf::util::JsonParseOptions options;
      options.ignore_unknown_fields = false;
      options.case_insensitive_enum_parsing = true;
      const auto status = google::protobuf::util::JsonStringToMessage(body, target, options);
      if (!status.ok())
        return absl::InvalidArgumentError(BodyProblem(status.message().as_string()));
    }
  }
  for (const auto& [path, value] : match.bindings) {
    RETURN_IF_ERROR(SetFieldFromText(message.get(), path, value, path));
  }
  if (route.body == "*" && !query.params.empty()) {
    return absl::InvalidArgumentError(
        StrCat(ShownName(query.params.front().first), ": unknown query parameter"));
  }
  for (const auto& [name, value] : query.params) {
    // Compared as the fields they name: `mediaId` is `media_id`.
    const std::string field = CanonicalFieldPath(route.method->input_type(), name);
    if (!route.body.empty() && route.body != "*" &&
        (field == route.body || field.starts_with(route.body + "."))) {
      return absl::InvalidArgumentError(StrCat(name, ": belongs in the body"));
    }
    // The path names the resource; a query parameter must not change it
    // (DELETE /v1/devices/X?device_id=Y would otherwise delete Y).
    for (const auto& [path, unused] : match.bindings) {
      if (field == path || field.starts_with(path + ".") || path.starts_with(field + ".")) {
        return absl::InvalidArgumentError(StrCat(name, ": given by the path already"));
      }
    }
    if (auto s = SetFieldFromText(message.get(), name, value, name); !s.ok()) {
      if (infra::StdView(s.message()).ends_with("unknown parameter")) {
        return absl::InvalidArgumentError(StrCat(ShownName(name), ": unknown query parameter"));
      }
      return s;
    }
  }
  return message;
}

std::string ToJson(const Message& message) { return WriteJson(message); }

}  // namespace cityhub::gateway
