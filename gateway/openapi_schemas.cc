#include <set>
#include <string>

#include "gateway/openapi_parts.h"

namespace cityhub::gateway::openapi {

namespace {

// Text the services check with infra::CheckText: no control characters but tab (and CR, LF).
constexpr char kSingleLine[] = R"(^[^\u0000-\u0008\u000A-\u001F\u007F]*$)";
constexpr char kMultiLine[] = R"(^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$)";

bool IsUnspecified(const google::protobuf::EnumValueDescriptor* v) {
  return v->number() == 0 && v->name().ends_with("UNSPECIFIED");
}

}  // namespace

std::string SchemaName(const Descriptor* d) {
  std::string name = d->full_name();
  for (char& c : name) {
    if (c == '.') c = '_';
  }
  return name;
}

const cityhub::api::FieldRule& RuleOf(const FieldDescriptor* f) {
  return f->options().GetExtension(cityhub::api::field);
}

json Schemas::ValueSchema(const FieldDescriptor* f, Direction dir) {
  const auto& rule = RuleOf(f);
  json s;
  switch (f->type()) {
    case FieldDescriptor::TYPE_STRING:
      s = {{"type", "string"}};
      if (rule.min_length() > 0) s["minLength"] = rule.min_length();
      if (rule.max_length() > 0) s["maxLength"] = rule.max_length();
      if (!rule.pattern().empty()) {
        s["pattern"] = rule.pattern();
      } else if (rule.text() == cityhub::api::TEXT_KIND_SINGLE_LINE) {
        s["pattern"] = kSingleLine;
      } else if (rule.text() == cityhub::api::TEXT_KIND_MULTILINE) {
        s["pattern"] = kMultiLine;
      }
      if (!rule.format().empty()) s["format"] = rule.format();
      if (rule.values_size() > 0)
        s["enum"] = json(std::vector<std::string>(rule.values().begin(), rule.values().end()));
      return s;
    case FieldDescriptor::TYPE_BYTES:
      return {{"type", "string"}, {"format", "byte"}};
    case FieldDescriptor::TYPE_BOOL:
      return {{"type", "boolean"}};
    case FieldDescriptor::TYPE_DOUBLE:
    case FieldDescriptor::TYPE_FLOAT:
      s = {{"type", "number"},
           {"format", f->type() == FieldDescriptor::TYPE_DOUBLE ? "double" : "float"}};
      break;
    case FieldDescriptor::TYPE_INT64:
    case FieldDescriptor::TYPE_SINT64:
    case FieldDescriptor::TYPE_SFIXED64:
      // Protobuf's JSON mapping writes 64-bit integers as strings.
      return {{"type", "string"}, {"format", "int64"}, {"pattern", "^-?[0-9]{1,18}$"}};
    case FieldDescriptor::TYPE_UINT64:
    case FieldDescriptor::TYPE_FIXED64:
      return {{"type", "string"}, {"format", "uint64"}, {"pattern", "^[0-9]{1,19}$"}};
    case FieldDescriptor::TYPE_UINT32:
    case FieldDescriptor::TYPE_FIXED32:
      s = {{"type", "integer"}, {"format", "int64"}, {"minimum", 0}, {"maximum", 4294967295LL}};
      break;
    case FieldDescriptor::TYPE_ENUM:
      return EnumSchema(f->enum_type(), dir);
    case FieldDescriptor::TYPE_MESSAGE:
    case FieldDescriptor::TYPE_GROUP:
      return MessageSchema(f->message_type(), dir);
    default:  // 32-bit signed integers
      s = {{"type", "integer"},
           {"format", "int32"},
           {"minimum", -2147483648LL},
           {"maximum", 2147483647}};
      break;
  }
  // Numbers: the field's own bounds replace the type's.
  if (rule.has_minimum()) s["minimum"] = rule.minimum();
  if (rule.has_maximum()) s["maximum"] = rule.maximum();
  if (rule.exclusive_minimum()) s["exclusiveMinimum"] = true;
  if (s["type"] == "integer") {
    for (const char* bound : {"minimum", "maximum"}) {
      if (s.contains(bound)) s[bound] = static_cast<int64_t>(s[bound].get<double>());
    }
  }
  return s;
}

json Schemas::FieldSchema(const FieldDescriptor* f, Direction dir) {
  json schema;
  if (f->is_map()) {
    schema = {{"type", "object"},
              {"additionalProperties", ValueSchema(f->message_type()->map_value(), dir)}};
  } else if (f->is_repeated()) {
    const auto& rule = RuleOf(f);
    schema = {{"type", "array"}, {"items", ValueSchema(f, dir)}};
    if (rule.min_items() > 0) schema["minItems"] = rule.min_items();
    if (rule.max_items() > 0) schema["maxItems"] = rule.max_items();
    if (rule.unique_items()) schema["uniqueItems"] = true;
  } else {
    schema = ValueSchema(f, dir);
  }
  if (!RuleOf(f).description().empty()) {
    // Siblings of $ref are ignored in OpenAPI 3.0, so a described reference is wrapped.
    if (schema.contains("$ref")) schema = {{"allOf", json::array({schema})}};
    schema["description"] = RuleOf(f).description();
  }
  return schema;
}

// A reference to a named enum (so that clients get a named type). The zero value means "not
// given": answers may carry it, requests never need it, so requests see a schema without it.
json Schemas::EnumSchema(const google::protobuf::EnumDescriptor* e, Direction dir) {
  json values = json::array();
  bool unspecified = false;
  for (int i = 0; i < e->value_count(); ++i) {
    if (IsUnspecified(e->value(i))) {
      unspecified = true;
      if (dir == Direction::kInput) continue;
    }
    values.push_back(e->value(i)->name());
  }
  std::string name = e->full_name();
  for (char& c : name) {
    if (c == '.') c = '_';
  }
  if (dir == Direction::kInput && unspecified) name += "Input";
  if (done_.insert(name).second) components_[name] = {{"type", "string"}, {"enum", values}};
  return {{"$ref", "#/components/schemas/" + name}};
}

// A reference to (or, for well-known types, the inline schema of) a message. `omit`: fields
// bound by the path, left out of a request body.
json Schemas::MessageSchema(const Descriptor* d, Direction dir, const std::set<std::string>& omit) {
  if (json wkt = WellKnown(d); !wkt.is_null()) return wkt;
  const std::string name = ComponentName(d, dir);
  if (!done_.count(name)) {
    done_.insert(name);
    json properties = json::object();
    json required = json::array();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      const auto& rule = RuleOf(f);
      if (dir == Direction::kInput && (rule.output_only() || omit.count(f->name()))) continue;
      properties[f->name()] = FieldSchema(f, dir);
      const bool present =
          dir == Direction::kInput ? rule.required() : !f->has_presence() || rule.always_set();
      if (present) required.push_back(f->name());
    }
    json schema = {{"type", "object"}, {"properties", properties}};
    if (!required.empty()) schema["required"] = required;
    // Unknown fields in a request body are refused (400).
    if (dir == Direction::kInput) schema["additionalProperties"] = false;
    components_[name] = schema;
  }
  return {{"$ref", "#/components/schemas/" + name}};
}

std::string Schemas::ComponentName(const Descriptor* d, Direction dir) const {
  return dir == Direction::kInput && outputs_.count(d) ? SchemaName(d) + "Input" : SchemaName(d);
}

// Protobuf's JSON forms of the well-known types; null for other messages.
json Schemas::WellKnown(const Descriptor* d) {
  const std::string& name = d->full_name();
  if (!name.starts_with("google.protobuf.")) return nullptr;
  if (name == "google.protobuf.Timestamp") return {{"type", "string"}, {"format", "date-time"}};
  if (name == "google.protobuf.Duration") {
    return {
        {"type", "string"}, {"pattern", R"(^-?[0-9]{1,12}(\.[0-9]{1,9})?s$)"}, {"example", "3.5s"}};
  }
  if (name == "google.protobuf.FieldMask") {
    return {{"type", "string"}, {"description", "comma-separated field paths"}};
  }
  if (name == "google.protobuf.Struct") return {{"type", "object"}, {"additionalProperties", true}};
  if (name == "google.protobuf.Value")
    return {{"nullable", true}, {"description", "any JSON value"}};
  if (name == "google.protobuf.ListValue") return {{"type", "array"}, {"items", json::object()}};
  if (name == "google.protobuf.Empty") return {{"type", "object"}, {"additionalProperties", false}};
  // Wrappers are their bare value, or null.
  if (name == "google.protobuf.StringValue") return {{"type", "string"}, {"nullable", true}};
  if (name == "google.protobuf.BytesValue")
    return {{"type", "string"}, {"format", "byte"}, {"nullable", true}};
  if (name == "google.protobuf.BoolValue") return {{"type", "boolean"}, {"nullable", true}};
  if (name == "google.protobuf.DoubleValue" || name == "google.protobuf.FloatValue") {
    return {{"type", "number"}, {"nullable", true}};
  }
  if (name == "google.protobuf.Int32Value")
    return {{"type", "integer"}, {"format", "int32"}, {"nullable", true}};
  if (name == "google.protobuf.UInt32Value") {
    return {{"type", "integer"}, {"format", "int64"}, {"minimum", 0}, {"nullable", true}};
  }
  if (name == "google.protobuf.Int64Value") {
    return {{"type", "string"},
            {"format", "int64"},
            {"pattern", "^-?[0-9]{1,18}$"},
            {"nullable", true}};
  }
  if (name == "google.protobuf.UInt64Value") {
    return {
        {"type", "string"}, {"format", "uint64"}, {"pattern", "^[0-9]{1,19}$"}, {"nullable", true}};
  }
  if (name == "google.protobuf.Any") {
    return {{"type", "object"},
            {"required", {"@type"}},
            {"properties", {{"@type", {{"type", "string"}}}}},
            {"additionalProperties", true}};
  }
  return nullptr;
}

void CollectMessages(const Descriptor* d, std::set<const Descriptor*>* out) {
  if (!out->insert(d).second) return;
  for (int i = 0; i < d->field_count(); ++i) {
    if (const Descriptor* m = d->field(i)->message_type()) CollectMessages(m, out);
  }
}

json JsonContent(json schema) { return {{"application/json", {{"schema", std::move(schema)}}}}; }

json Parameter(std::string name, std::string in, bool required, json schema,
               std::string description) {
  return {{"name", std::move(name)},
          {"in", std::move(in)},
          {"required", required},
          {"schema", std::move(schema)},
          {"description", std::move(description)}};
}

json String() { return {{"type", "string"}}; }

}  // namespace cityhub::gateway::openapi
