#include "gateway/openapi.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <nlohmann/json.hpp>

#include "infra/strings.h"

namespace cityhub::gateway {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using nlohmann::json;

namespace {

std::string SchemaName(const Descriptor* d) {
  std::string name = d->full_name();
  for (char& c : name) {
    if (c == '.') c = '_';
  }
  return name;
}

// Text the services check with infra::CheckText: no control characters but tab (and CR, LF).
constexpr char kSingleLine[] = R"(^[^\u0000-\u0008\u000A-\u001F\u007F]*$)";
constexpr char kMultiLine[] = R"(^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$)";

// Requests and answers see different schemas of one message: a request leaves out output-only
// fields, refuses unknown ones and requires what the service requires; an answer carries every
// field without presence (the gateway prints defaults), so those are all required there.
enum class Direction { kInput, kOutput };

const cityhub::api::FieldRule& RuleOf(const FieldDescriptor* f) {
  return f->options().GetExtension(cityhub::api::field);
}

bool IsUnspecified(const google::protobuf::EnumValueDescriptor* v) {
  return v->number() == 0 && v->name().ends_with("UNSPECIFIED");
}

class Schemas {
 public:
  // `outputs`: the messages some answer carries, whose request-side schema needs its own name.
  explicit Schemas(std::set<const Descriptor*> outputs) : outputs_(std::move(outputs)) {}

  json& components() { return components_; }

  // The schema of one value of a field (an item, for repeated fields).
  json ValueSchema(const FieldDescriptor* f, Direction dir) {
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

  json FieldSchema(const FieldDescriptor* f, Direction dir) {
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
  json EnumSchema(const google::protobuf::EnumDescriptor* e, Direction dir) {
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
  json MessageSchema(const Descriptor* d, Direction dir, const std::set<std::string>& omit = {}) {
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

 private:
  std::string ComponentName(const Descriptor* d, Direction dir) const {
    return dir == Direction::kInput && outputs_.count(d) ? SchemaName(d) + "Input" : SchemaName(d);
  }

  // Protobuf's JSON forms of the well-known types; null for other messages.
  static json WellKnown(const Descriptor* d) {
    const std::string& name = d->full_name();
    if (!name.starts_with("google.protobuf.")) return nullptr;
    if (name == "google.protobuf.Timestamp") return {{"type", "string"}, {"format", "date-time"}};
    if (name == "google.protobuf.Duration") {
      return {{"type", "string"},
              {"pattern", R"(^-?[0-9]{1,12}(\.[0-9]{1,9})?s$)"},
              {"example", "3.5s"}};
    }
    if (name == "google.protobuf.FieldMask") {
      return {{"type", "string"}, {"description", "comma-separated field paths"}};
    }
    if (name == "google.protobuf.Struct")
      return {{"type", "object"}, {"additionalProperties", true}};
    if (name == "google.protobuf.Value")
      return {{"nullable", true}, {"description", "any JSON value"}};
    if (name == "google.protobuf.ListValue") return {{"type", "array"}, {"items", json::object()}};
    if (name == "google.protobuf.Empty")
      return {{"type", "object"}, {"additionalProperties", false}};
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
      return {{"type", "string"},
              {"format", "uint64"},
              {"pattern", "^[0-9]{1,19}$"},
              {"nullable", true}};
    }
    if (name == "google.protobuf.Any") {
      return {{"type", "object"},
              {"required", {"@type"}},
              {"properties", {{"@type", {{"type", "string"}}}}},
              {"additionalProperties", true}};
    }
    return nullptr;
  }

  std::set<const Descriptor*> outputs_;
  json components_ = json::object();
  std::set<std::string> done_;
};

// Every message reachable from `d` (answers' messages, for naming request-side schemas).
void CollectMessages(const Descriptor* d, std::set<const Descriptor*>* out) {
  if (!out->insert(d).second) return;
  for (int i = 0; i < d->field_count(); ++i) {
    if (const Descriptor* m = d->field(i)->message_type()) CollectMessages(m, out);
  }
}

// Query parameters for the request fields not bound by the path (nested scalars as a.b).
void AddQueryParameters(Schemas& schemas, const Descriptor* d, const std::string& prefix,
                        const std::set<std::string>& bound, json* parameters, int depth) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string name = prefix + f->name();
    if (bound.count(name) || RuleOf(f).output_only()) continue;
    if (f->type() == FieldDescriptor::TYPE_MESSAGE && !f->is_repeated() &&
        f->message_type()->full_name() != "google.protobuf.Timestamp") {
      if (depth < 2)
        AddQueryParameters(schemas, f->message_type(), name + ".", bound, parameters, depth + 1);
      continue;
    }
    if (f->type() == FieldDescriptor::TYPE_MESSAGE && f->is_repeated()) continue;
    json p = {{"name", name},
              {"in", "query"},
              {"required", RuleOf(f).required()},
              {"schema", schemas.FieldSchema(f, Direction::kInput)}};
    if (p["schema"].contains("description")) {
      p["description"] = p["schema"]["description"];
      p["schema"].erase("description");
    }
    if (f->is_repeated()) {
      p["style"] = "form";
      p["explode"] = true;
    }
    parameters->push_back(p);
  }
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
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

// The operational routes, outside the contracts: described by hand.
void AddOperationalPaths(json* paths) {
  auto op = [](std::string id, std::string summary, json responses) {
    return json{{"get",
                 {{"operationId", std::move(id)},
                  {"tags", json::array({"Operations"})},
                  {"summary", std::move(summary)},
                  {"responses", std::move(responses)}}}};
  };
  (*paths)["/healthz"] = op(
      "Operations_Healthz", "The process is up",
      {{"200",
        {{"description", "up"},
         {"content", JsonContent({{"type", "object"}, {"properties", {{"status", String()}}}})}}}});
  const json readiness = {
      {"type", "object"},
      {"properties",
       {{"backends",
         {{"type", "object"},
          {"additionalProperties", {{"type", "string"}, {"enum", {"SERVING", "NOT_SERVING"}}}}}}}}};
  (*paths)["/readyz"] =
      op("Operations_Readyz", "Every backend answers its health check",
         {{"200", {{"description", "ready"}, {"content", JsonContent(readiness)}}},
          {"503",
           {{"description", "a backend is not serving"}, {"content", JsonContent(readiness)}}}});
  (*paths)["/metrics"] = op(
      "Operations_Metrics", "Prometheus metrics (text exposition format)",
      {{"200",
        {{"description", "the metrics"}, {"content", {{"text/plain", {{"schema", String()}}}}}}}});
  (*paths)["/openapi.json"] = op("Operations_OpenApi", "This document",
                                 {{"200",
                                   {{"description", "the OpenAPI document"},
                                    {"content", JsonContent({{"type", "object"}})}}}});
}

// Open311 GeoReport v2 (the gateway's adapter, not a contract): each resource in .json and .xml.
void AddOpen311Paths(json* paths, json* schemas) {
  auto object = [](json properties) {
    return json{{"type", "object"}, {"properties", std::move(properties)}};
  };
  auto list = [](std::string item) {
    return json{{"type", "array"}, {"items", {{"$ref", "#/components/schemas/" + item}}}};
  };
  const json nullable = {{"type", "string"}, {"nullable", true}};
  (*schemas)["Open311Error"] = object({{"code", {{"type", "integer"}}}, {"description", String()}});
  (*schemas)["Open311Discovery"] =
      object({{"changeset", String()},
              {"contact", String()},
              {"key_service", String()},
              {"endpoints",
               {{"type", "array"},
                {"items", object({{"specification", String()},
                                  {"url", String()},
                                  {"changeset", String()},
                                  {"type", String()},
                                  {"formats", {{"type", "array"}, {"items", String()}}}})}}}});
  (*schemas)["Open311Service"] = object({{"service_code", String()},
                                         {"service_name", String()},
                                         {"description", String()},
                                         {"metadata", {{"type", "boolean"}}},
                                         {"type", String()},
                                         {"keywords", String()},
                                         {"group", String()}});
  (*schemas)["Open311ServiceDefinition"] = object(
      {{"service_code", String()},
       {"attributes",
        {{"type", "array"},
         {"items", object({{"variable", {{"type", "boolean"}}},
                           {"code", String()},
                           {"datatype", String()},
                           {"required", {{"type", "boolean"}}},
                           {"datatype_description", nullable},
                           {"order", {{"type", "integer"}}},
                           {"description", String()},
                           {"values",
                            {{"type", "array"},
                             {"items", object({{"key", String()}, {"name", String()}})}}}})}}}});
  json request = object({});
  for (const char* name : {"service_request_id", "status", "service_name", "service_code",
                           "description", "address", "requested_datetime", "updated_datetime"}) {
    request["properties"][name] = String();
  }
  for (const char* name : {"status_notes", "agency_responsible", "service_notice",
                           "expected_datetime", "address_id", "zipcode", "media_url"}) {
    request["properties"][name] = nullable;
  }
  request["properties"]["lat"] = {{"type", "number"}, {"nullable", true}};
  request["properties"]["long"] = {{"type", "number"}, {"nullable", true}};
  (*schemas)["Open311Request"] = request;
  (*schemas)["Open311Created"] = object(
      {{"service_request_id", String()}, {"service_notice", nullable}, {"account_id", nullable}});
  (*schemas)["Open311Token"] = object({{"service_request_id", String()}, {"token", String()}});

  const json jurisdiction = Parameter("jurisdiction_id", "query", false, String(),
                                      "required when the server serves more than one jurisdiction");
  const json locale = Parameter("locale", "query", false, String(), "de or en");
  struct Resource {
    std::string path, id, summary, schema;
    std::vector<json> parameters;
  };
  const std::vector<Resource> resources = {
      {"discovery", "Discovery", "The endpoint's description", "", {locale}},
      {"services",
       "ListServices",
       "The service catalogue",
       "Open311Service",
       {jurisdiction, locale}},
      {"services/{service_code}",
       "GetServiceDefinition",
       "A service's attributes",
       "",
       {Parameter("service_code", "path", true, String(), "the service"), jurisdiction, locale}},
      {"requests",
       "ListRequests",
       "Requests, newest first (at most 1000, the last 90 days by default)",
       "Open311Request",
       {jurisdiction, locale,
        Parameter("service_request_id", "query", false, String(), "comma-separated ids"),
        Parameter("service_code", "query", false, String(), "comma-separated service codes"),
        Parameter("start_date", "query", false, {{"type", "string"}, {"format", "date-time"}},
                  "W3C date-time"),
        Parameter("end_date", "query", false, {{"type", "string"}, {"format", "date-time"}},
                  "W3C date-time"),
        Parameter("status", "query", false, {{"type", "string"}, {"enum", {"open", "closed"}}},
                  "open or closed"),
        Parameter("page", "query", false, {{"type", "integer"}, {"minimum", 1}}, "from 1"),
        Parameter("page_size", "query", false,
                  {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}, "")}},
      {"requests/{service_request_id}",
       "GetRequest",
       "One request",
       "Open311Request",
       {Parameter("service_request_id", "path", true, String(), "the request"), jurisdiction,
        locale}},
      {"tokens/{token}",
       "GetToken",
       "The request a token stands for",
       "Open311Token",
       {Parameter("token", "path", true, String(), "the token"), jurisdiction, locale}},
  };
  for (const std::string format : {"json", "xml"}) {
    const std::string type = format == "json" ? "application/json" : "text/xml";
    auto content = [&](const json& schema) {
      // The XML carries the same document (root element per resource, one child per item).
      return json{{type, {{"schema", format == "json" ? schema : String()}}}};
    };
    const json error = {{"description", "[{code, description}] (400, 403, 404, 429, 5xx)"},
                        {"content", content(list("Open311Error"))}};
    for (const Resource& r : resources) {
      json schema = r.id == "Discovery" ? json{{"$ref", "#/components/schemas/Open311Discovery"}}
                    : r.id == "GetServiceDefinition"
                        ? json{{"$ref", "#/components/schemas/Open311ServiceDefinition"}}
                        : list(r.schema);
      const std::string path = "/open311/v2/" + r.path + "." + format;
      (*paths)[path]["get"] = {
          {"operationId", "Open311_" + r.id + "_" + format},
          {"tags", json::array({"Open311"})},
          {"summary", r.summary},
          {"parameters", r.parameters},
          {"responses",
           {{"200", {{"description", "OK"}, {"content", content(schema)}}}, {"default", error}}}};
    }
    json form = object({});
    for (const char* name : {"jurisdiction_id", "api_key", "service_code", "address_string",
                             "address_id", "zipcode", "email", "device_id", "account_id",
                             "first_name", "last_name", "phone", "media_url", "locale"}) {
      form["properties"][name] = String();
    }
    form["properties"]["lat"] = {{"type", "number"}};
    form["properties"]["long"] = {{"type", "number"}};
    form["properties"]["description"] = {{"type", "string"}, {"maxLength", 4000}};
    form["required"] = {"api_key", "service_code"};
    form["additionalProperties"] = {{"type", "string"}};
    form["description"] =
        "attribute[CODE]=value, attribute[CODE][]=value for multi-value lists; "
        "exactly one location: lat and long, address_string or address_id";
    (*paths)["/open311/v2/requests." + format]["post"] = {
        {"operationId", "Open311_CreateRequest_" + format},
        {"tags", json::array({"Open311"})},
        {"summary", "File a request with a partner's api_key"},
        {"requestBody",
         {{"required", true},
          {"content", {{"application/x-www-form-urlencoded", {{"schema", form}}}}}}},
        {"responses",
         {{"201", {{"description", "created"}, {"content", content(list("Open311Created"))}}},
          {"default", error}}}};
  }
}

// The field a (possibly nested) path names, or null.
const FieldDescriptor* FindField(const Descriptor* d, const std::string& path) {
  const FieldDescriptor* f = nullptr;
  size_t start = 0;
  while (d != nullptr) {
    const size_t dot = path.find('.', start);
    f = d->FindFieldByName(
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (f == nullptr || dot == std::string::npos) return f;
    d = f->message_type();
    start = dot + 1;
  }
  return nullptr;
}

json ErrorRef(const char* name) {
  return {{"$ref", std::string("#/components/responses/") + name}};
}

// The error answers every operation shares, each with the one error body.
json ErrorResponses() {
  auto error = [](std::string description) {
    return json{{"description", std::move(description)},
                {"content", JsonContent({{"$ref", "#/components/schemas/Error"}})}};
  };
  json responses = {
      {"BadRequest",
       error("Bad input: a malformed body or parameter, or a value the service refuses "
             "(the message names the field)")},
      {"Unauthenticated",
       error("Sign-in required, or the bearer token given is invalid or expired")},
      {"PermissionDenied",
       error("The caller's role or relation to the resource does not allow this")},
      {"NotFound", error("No such resource (or one the caller may not see)")},
      {"Conflict", error("Conflicts with the resource's current state (e.g. already exists)")},
      {"TooLarge", error("The request body is larger than the route accepts")},
      {"TooManyRequests", error("A rate limit: retry after the given number of seconds")},
      {"Internal", error("An internal error (details only in the server's log)")},
      {"Unavailable", error("A backend is unavailable; retry with backoff")},
      {"Timeout", error("A backend did not answer in time")},
  };
  responses["TooManyRequests"]["headers"] = {{"Retry-After",
                                              {{"description", "seconds to wait before retrying"},
                                               {"schema", {{"type", "integer"}, {"minimum", 0}}}}}};
  return responses;
}

// The statuses an operation answers besides success: what every route can answer, what its
// access policy, path and body imply, and what its HTTP rule lists (`errors`).
json OperationErrors(const Route& r, const cityhub::api::HttpRule& rule) {
  std::set<int> statuses = {400, 401, 429, 500, 503, 504};
  const auto access = r.policy.access();
  if (access == cityhub::api::ACCESS_OPERATOR || access == cityhub::api::ACCESS_ADMIN)
    statuses.insert(403);
  for (const auto& s : r.path.segments) {
    if (s.variable) statuses.insert(404);
  }
  if (!r.body.empty()) statuses.insert(413);
  for (int status : rule.errors()) statuses.insert(status);
  static const std::map<int, const char*> kNames = {
      {400, "BadRequest"},  {401, "Unauthenticated"}, {403, "PermissionDenied"}, {404, "NotFound"},
      {409, "Conflict"},    {413, "TooLarge"},        {429, "TooManyRequests"},  {500, "Internal"},
      {503, "Unavailable"}, {504, "Timeout"}};
  json out = json::object();
  for (int status : statuses) {
    if (auto it = kNames.find(status); it != kNames.end())
      out[std::to_string(status)] = ErrorRef(it->second);
  }
  return out;
}

json Binary() { return {{"schema", {{"type", "string"}, {"format", "binary"}}}}; }

json Operation(Schemas& schemas, const Route& r) {
  const auto& rule = r.method->options().GetExtension(cityhub::api::http);
  json op;
  op["operationId"] = r.method->service()->name() + "_" + r.method->name();
  op["tags"] = json::array({r.method->service()->name()});
  op["summary"] = r.method->name();
  json parameters = json::array();
  std::set<std::string> bound;
  for (const auto& s : r.path.segments) {
    if (!s.variable) continue;
    bound.insert(s.field_path);
    const FieldDescriptor* f = FindField(r.method->input_type(), s.field_path);
    json schema =
        f != nullptr ? schemas.FieldSchema(f, Direction::kInput) : json{{"type", "string"}};
    if (!schema.contains("minLength") && !schema.contains("pattern")) schema["minLength"] = 1;
    schema.erase("description");
    parameters.push_back(
        {{"name", s.field_path}, {"in", "path"}, {"required", true}, {"schema", schema}});
  }
  if (r.body != "*") {
    std::set<std::string> excluded = bound;
    if (!r.body.empty()) excluded.insert(r.body);
    AddQueryParameters(schemas, r.method->input_type(), "", excluded, &parameters, 0);
  }
  if (r.server_streaming && !r.resume_field.empty()) {
    json resume = {{"name", "Last-Event-ID"},
                   {"in", "header"},
                   {"required", false},
                   {"description", "resume after this event id (exclusive)"},
                   {"schema", {{"type", "string"}}}};
    if (const FieldDescriptor* f = FindField(r.method->input_type(), r.resume_field)) {
      resume["schema"] = schemas.FieldSchema(f, Direction::kInput);
      resume["schema"].erase("description");
    }
    parameters.push_back(resume);
  }
  if (r.policy.idempotent()) {
    // Checked by the service: at most 128 printable ASCII characters.
    parameters.push_back(
        {{"name", "Idempotency-Key"},
         {"in", "header"},
         {"required", false},
         {"description",
          "a repeat within 24 h with the same key (and account) returns "
          "the first answer and creates nothing new"},
         {"schema",
          {{"type", "string"}, {"minLength", 1}, {"maxLength", 128}, {"pattern", "^[!-~]+$"}}}});
  }
  if (!parameters.empty()) op["parameters"] = parameters;
  if (!r.body.empty()) {
    json content = json::object();
    if (r.raw_request) {
      for (const auto& type : rule.request_types()) content[type] = Binary();
      if (content.empty()) content["application/octet-stream"] = Binary();
    } else {
      const Descriptor* d = r.body == "*"
                                ? r.method->input_type()
                                : r.method->input_type()->FindFieldByName(r.body)->message_type();
      content["application/json"] = {
          {"schema", schemas.MessageSchema(d, Direction::kInput,
                                           r.body == "*" ? bound : std::set<std::string>{})}};
    }
    op["requestBody"] = {{"required", true}, {"content", content}};
  }
  json success;
  if (r.raw_response) {
    json content = json::object();
    for (const auto& type : rule.response_types()) content[type] = Binary();
    if (content.empty()) content["application/octet-stream"] = Binary();
    success = {{"description", "the file, with its own content type"}, {"content", content}};
  } else if (r.server_streaming) {
    success = {{"description", "Server-Sent Events: each `data:` line is one " +
                                   SchemaName(r.method->output_type()) +
                                   " as JSON, its `id:` the " + r.stream_id_field},
               {"content", {{"text/event-stream", {{"schema", {{"type", "string"}}}}}}}};
  } else {
    success = {{"description", r.success_status == 201 ? "Created" : "OK"},
               {"content",
                JsonContent(schemas.MessageSchema(r.method->output_type(), Direction::kOutput))}};
  }
  json responses = OperationErrors(r, rule);
  responses[std::to_string(r.success_status)] = success;
  op["responses"] = responses;
  // Public routes take a token when there is one (it is verified and forwarded).
  const json bearer = {{"bearerAuth", json::array()}};
  op["security"] = r.policy.access() == cityhub::api::ACCESS_PUBLIC
                       ? json::array({json::object(), bearer})
                       : json::array({bearer});
  return op;
}

}  // namespace

std::string OpenApiJson(const RouteTable& routes, const std::string& server_url) {
  std::set<const Descriptor*> outputs;
  for (const Route& r : routes.routes()) CollectMessages(r.method->output_type(), &outputs);
  Schemas schemas(std::move(outputs));
  json paths = json::object();
  for (const Route& r : routes.routes())
    paths[r.path.text][Lower(r.http_method)] = Operation(schemas, r);
  AddOperationalPaths(&paths);
  json components = {
      {"schemas", schemas.components()},
      {"responses", ErrorResponses()},
      {"securitySchemes",
       {{"bearerAuth", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}}}}};
  components["schemas"]["Error"] = {
      {"type", "object"},
      {"required", {"code", "message", "details"}},
      {"properties",
       {{"code",
         {{"type", "integer"},
          {"format", "int32"},
          {"description", "the gRPC status code (3 INVALID_ARGUMENT, 5 NOT_FOUND, ...)"}}},
        {"message", {{"type", "string"}}},
        {"details", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};
  AddOpen311Paths(&paths, &components["schemas"]);
  json doc = {{"openapi", "3.0.3"},
              {"info",
               {{"title", "cityhub API"},
                {"version", "1.0.0"},
                {"description",
                 "The public HTTP API of cityhub: accounts, service requests, notifications, "
                 "Open311 GeoReport v2 and operations."},
                {"license", {{"name", "Proprietary"}, {"url", "https://bielefeld.de"}}}}},
              {"servers", json::array({{{"url", server_url}}})},
              {"paths", paths},
              {"components", components}};
  return doc.dump(2);
}

}  // namespace cityhub::gateway
