#include "services/requests/attributes.h"

#include <charconv>
#include <cmath>
#include <set>

#include <google/protobuf/util/time_util.h>

#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::requests {

using google::protobuf::Value;
using infra::StrCat;

namespace {

bool AllowedKey(const cityhub::storage::requests::StoredAttribute& a, const std::string& key) {
  for (const auto& v : a.values()) {
    if (v.key() == key) return true;
  }
  return false;
}

// Form-encoded clients (Open311) can only send text: a number written as text becomes a number,
// and a single key for a multi-value list becomes a list of one.
void Normalize(const cityhub::storage::requests::StoredAttribute& a, Value* v) {
  if (v->kind_case() != Value::kStringValue) return;
  if (a.datatype() == "number") {
    const std::string& text = v->string_value();
    double number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (!text.empty() && ec == std::errc() && end == text.data() + text.size() &&
        std::isfinite(number)) {
      v->set_number_value(number);
    }
  } else if (a.datatype() == "multivaluelist") {
    std::string key = v->string_value();
    v->mutable_list_value()->add_values()->set_string_value(std::move(key));
  }
}

absl::Status CheckOne(const cityhub::storage::requests::StoredAttribute& a, const Value& v) {
  const std::string field = StrCat("attributes.", a.code());
  const std::string& type = a.datatype();
  if (type == "string" || type == "text") {
    if (v.kind_case() != Value::kStringValue) return infra::InvalidField(field, "must be a string");
    if (auto problem =
            infra::CheckText(v.string_value(), 0, type == "string" ? 200 : 4000, type == "text")) {
      return infra::InvalidField(field, *problem);
    }
    if (a.required() && infra::TrimAscii(v.string_value()).empty()) {
      return infra::InvalidField(field, "is required");
    }
  } else if (type == "number") {
    if (v.kind_case() != Value::kNumberValue || !std::isfinite(v.number_value())) {
      return infra::InvalidField(field, "must be a number");
    }
  } else if (type == "datetime") {
    google::protobuf::Timestamp t;
    if (v.kind_case() != Value::kStringValue || v.string_value().size() > 64 ||
        !google::protobuf::util::TimeUtil::FromString(v.string_value(), &t)) {
      return infra::InvalidField(field, "must be an RFC 3339 date and time");
    }
  } else if (type == "singlevaluelist") {
    if (v.kind_case() != Value::kStringValue || !AllowedKey(a, v.string_value())) {
      return infra::InvalidField(field, "must be one of the listed values");
    }
  } else if (type == "multivaluelist") {
    if (v.kind_case() != Value::kListValue) return infra::InvalidField(field, "must be a list");
    if (a.required() && v.list_value().values_size() == 0) {
      return infra::InvalidField(field, "is required");
    }
    std::set<std::string> seen;
    for (const Value& item : v.list_value().values()) {
      if (item.kind_case() != Value::kStringValue || !AllowedKey(a, item.string_value())) {
        return infra::InvalidField(field, "must list only the allowed values");
      }
      if (!seen.insert(item.string_value()).second) {
        return infra::InvalidField(field, "lists a value more than once");
      }
    }
  } else {
    return absl::InternalError(StrCat("attribute ", a.code(), " has unknown datatype ", type));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ValidateAttributes(
    const google::protobuf::Struct& answers,
    const cityhub::storage::requests::StoredService& service) {
  if (answers.fields_size() > 50) return infra::InvalidField("attributes", "more than 50 answers");
  google::protobuf::Struct normalized = answers;
  for (auto& [code, value] : *normalized.mutable_fields()) {
    const cityhub::storage::requests::StoredAttribute* definition = nullptr;
    for (const auto& a : service.attributes()) {
      if (a.code() == code) definition = &a;
    }
    if (definition == nullptr || !definition->variable()) {
      const std::string shown = infra::IsValidUtf8(code) && code.size() <= 64 ? code : "?";
      return infra::InvalidField(StrCat("attributes.", shown), "not an attribute of this category");
    }
    Normalize(*definition, &value);
    if (auto s = CheckOne(*definition, value); !s.ok()) return s;
  }
  for (const auto& a : service.attributes()) {
    if (a.variable() && a.required() && !answers.fields().contains(a.code())) {
      return infra::InvalidField(StrCat("attributes.", a.code()), "is required");
    }
  }
  return normalized.fields_size() > 0 ? normalized.SerializeAsString() : std::string();
}

google::protobuf::Struct AttributesFromStorage(const std::string& bytes) {
  google::protobuf::Struct out;
  if (!bytes.empty()) (void)out.ParseFromString(bytes);
  return out;
}

}  // namespace cityhub::requests
