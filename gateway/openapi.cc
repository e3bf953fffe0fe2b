#include "gateway/openapi.h"

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

std::string Ref(const Descriptor* d) { return "#/components/schemas/" + SchemaName(d); }

class Schemas {
 public:
  json& components() { return components_; }

  // The schema of a field's value (without repetition).
  json ValueSchema(const FieldDescriptor* f) {
    switch (f->type()) {
      case FieldDescriptor::TYPE_STRING: return {{"type", "string"}};
      case FieldDescriptor::TYPE_BYTES: return {{"type", "string"}, {"format", "byte"}};
      case FieldDescriptor::TYPE_BOOL: return {{"type", "boolean"}};
      case FieldDescriptor::TYPE_DOUBLE: return {{"type", "number"}, {"format", "double"}};
      case FieldDescriptor::TYPE_FLOAT: return {{"type", "number"}, {"format", "float"}};
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        // Protobuf's JSON mapping writes 64-bit integers as strings.
        return {{"type", "string"}, {"format", "int64"}};
      case FieldDescriptor::TYPE_ENUM: {
        json values = json::array();
        for (int i = 0; i < f->enum_type()->value_count(); ++i) values.push_back(f->enum_type()->value(i)->name());
        return {{"type", "string"}, {"enum", values}};
      }
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP:
        return MessageSchema(f->message_type());
      default:
        return {{"type", "integer"}, {"format", "int32"}};
    }
  }

  json FieldSchema(const FieldDescriptor* f) {
    if (f->is_map()) {
      return {{"type", "object"}, {"additionalProperties", ValueSchema(f->message_type()->map_value())}};
    }
    json value = ValueSchema(f);
    if (f->is_repeated()) return {{"type", "array"}, {"items", value}};
    return value;
  }

  json MessageSchema(const Descriptor* d) {
    const std::string& name = d->full_name();
    if (name == "google.protobuf.Timestamp") return {{"type", "string"}, {"format", "date-time"}};
    if (name == "google.protobuf.FieldMask") return {{"type", "string"}};
    if (name == "google.protobuf.Struct") return {{"type", "object"}, {"additionalProperties", true}};
    if (name == "google.protobuf.Value") return json::object();
    if (name == "google.protobuf.ListValue") return {{"type", "array"}, {"items", json::object()}};
    if (!done_.count(name)) {
      done_.insert(name);
      json properties = json::object();
      for (int i = 0; i < d->field_count(); ++i) {
        properties[d->field(i)->name()] = FieldSchema(d->field(i));
      }
      json schema = {{"type", "object"}, {"properties", properties}};
      components_[SchemaName(d)] = schema;
    }
    return {{"$ref", Ref(d)}};
  }

 private:
  json components_ = json::object();
  std::set<std::string> done_;
};

// Query parameters for the request fields not bound by the path (nested scalars as a.b).
void AddQueryParameters(Schemas& schemas, const Descriptor* d, const std::string& prefix,
                        const std::set<std::string>& bound, json* parameters, int depth) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string name = prefix + f->name();
    if (bound.count(name)) continue;
    if (f->type() == FieldDescriptor::TYPE_MESSAGE && !f->is_repeated() &&
        f->message_type()->full_name() != "google.protobuf.Timestamp") {
      if (depth < 2) AddQueryParameters(schemas, f->message_type(), name + ".", bound, parameters, depth + 1);
      continue;
    }
    if (f->type() == FieldDescriptor::TYPE_MESSAGE && f->is_repeated()) continue;
    json p = {{"name", name}, {"in", "query"}, {"required", false}, {"schema", schemas.FieldSchema(f)}};
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

json Parameter(std::string name, std::string in, bool required, json schema, std::string description) {
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
    return json{{"get", {{"operationId", std::move(id)},
                         {"tags", json::array({"Operations"})},
                         {"summary", std::move(summary)},
                         {"responses", std::move(responses)}}}};
  };
  (*paths)["/healthz"] = op("Operations_Healthz", "The process is up",
                            {{"200", {{"description", "up"},
                                      {"content", JsonContent({{"type", "object"},
                                                               {"properties", {{"status", String()}}}})}}}});
  const json readiness = {{"type", "object"},
                          {"properties",
                           {{"backends", {{"type", "object"},
                                          {"additionalProperties",
                                           {{"type", "string"}, {"enum", {"SERVING", "NOT_SERVING"}}}}}}}}};
  (*paths)["/readyz"] = op("Operations_Readyz", "Every backend answers its health check",
                           {{"200", {{"description", "ready"}, {"content", JsonContent(readiness)}}},
                            {"503", {{"description", "a backend is not serving"}, {"content", JsonContent(readiness)}}}});
  (*paths)["/metrics"] = op("Operations_Metrics", "Prometheus metrics (text exposition format)",
                            {{"200", {{"description", "the metrics"},
                                      {"content", {{"text/plain", {{"schema", String()}}}}}}}});
  (*paths)["/openapi.json"] = op("Operations_OpenApi", "This document",
                                 {{"200", {{"description", "the OpenAPI document"},
                                           {"content", JsonContent({{"type", "object"}})}}}});
}

// Open311 GeoReport v2 (the gateway's adapter, not a contract): each resource in .json and .xml.
void AddOpen311Paths(json* paths, json* schemas) {
  auto object = [](json properties) { return json{{"type", "object"}, {"properties", std::move(properties)}}; };
  auto list = [](std::string item) { return json{{"type", "array"}, {"items", {{"$ref", "#/components/schemas/" + item}}}}; };
  const json nullable = {{"type", "string"}, {"nullable", true}};
  (*schemas)["Open311Error"] = object({{"code", {{"type", "integer"}}}, {"description", String()}});
  (*schemas)["Open311Discovery"] = object(
      {{"changeset", String()}, {"contact", String()}, {"key_service", String()},
       {"endpoints", {{"type", "array"},
                      {"items", object({{"specification", String()}, {"url", String()}, {"changeset", String()},
                                        {"type", String()}, {"formats", {{"type", "array"}, {"items", String()}}}})}}}});
  (*schemas)["Open311Service"] = object({{"service_code", String()}, {"service_name", String()},
                                         {"description", String()}, {"metadata", {{"type", "boolean"}}},
                                         {"type", String()}, {"keywords", String()}, {"group", String()}});
  (*schemas)["Open311ServiceDefinition"] = object(
      {{"service_code", String()},
       {"attributes", {{"type", "array"},
                       {"items", object({{"variable", {{"type", "boolean"}}}, {"code", String()},
                                         {"datatype", String()}, {"required", {{"type", "boolean"}}},
                                         {"datatype_description", nullable}, {"order", {{"type", "integer"}}},
                                         {"description", String()},
                                         {"values", {{"type", "array"},
                                                     {"items", object({{"key", String()}, {"name", String()}})}}}})}}}});
  json request = object({});
  for (const char* name : {"service_request_id", "status", "service_name", "service_code", "description",
                           "address", "requested_datetime", "updated_datetime"}) {
    request["properties"][name] = String();
  }
  for (const char* name : {"status_notes", "agency_responsible", "service_notice", "expected_datetime",
                           "address_id", "zipcode", "media_url"}) {
    request["properties"][name] = nullable;
  }
  request["properties"]["lat"] = {{"type", "number"}, {"nullable", true}};
  request["properties"]["long"] = {{"type", "number"}, {"nullable", true}};
  (*schemas)["Open311Request"] = request;
  (*schemas)["Open311Created"] = object({{"service_request_id", String()}, {"service_notice", nullable},
                                         {"account_id", nullable}});
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
      {"services", "ListServices", "The service catalogue", "Open311Service", {jurisdiction, locale}},
      {"services/{service_code}", "GetServiceDefinition", "A service's attributes", "",
       {Parameter("service_code", "path", true, String(), "the service"), jurisdiction, locale}},
      {"requests", "ListRequests", "Requests, newest first (at most 1000, the last 90 days by default)",
       "Open311Request",
       {jurisdiction, locale, Parameter("service_request_id", "query", false, String(), "comma-separated ids"),
        Parameter("service_code", "query", false, String(), "comma-separated service codes"),
        Parameter("start_date", "query", false, {{"type", "string"}, {"format", "date-time"}}, "W3C date-time"),
        Parameter("end_date", "query", false, {{"type", "string"}, {"format", "date-time"}}, "W3C date-time"),
        Parameter("status", "query", false, {{"type", "string"}, {"enum", {"open", "closed"}}}, "open or closed"),
        Parameter("page", "query", false, {{"type", "integer"}, {"minimum", 1}}, "from 1"),
        Parameter("page_size", "query", false, {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}, "")}},
      {"requests/{service_request_id}", "GetRequest", "One request", "Open311Request",
       {Parameter("service_request_id", "path", true, String(), "the request"), jurisdiction, locale}},
      {"tokens/{token}", "GetToken", "The request a token stands for", "Open311Token",
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
      json schema = r.id == "Discovery"              ? json{{"$ref", "#/components/schemas/Open311Discovery"}}
                    : r.id == "GetServiceDefinition" ? json{{"$ref", "#/components/schemas/Open311ServiceDefinition"}}
                                                     : list(r.schema);
      const std::string path = "/open311/v2/" + r.path + "." + format;
      (*paths)[path]["get"] = {{"operationId", "Open311_" + r.id + "_" + format},
                               {"tags", json::array({"Open311"})},
                               {"summary", r.summary},
                               {"parameters", r.parameters},
                               {"responses", {{"200", {{"description", "OK"}, {"content", content(schema)}}},
                                              {"default", error}}}};
    }
    json form = object({});
    for (const char* name : {"jurisdiction_id", "api_key", "service_code", "address_string", "address_id",
                             "zipcode", "email", "device_id", "account_id", "first_name", "last_name", "phone",
                             "media_url", "locale"}) {
      form["properties"][name] = String();
    }
    form["properties"]["lat"] = {{"type", "number"}};
    form["properties"]["long"] = {{"type", "number"}};
    form["properties"]["description"] = {{"type", "string"}, {"maxLength", 4000}};
    form["required"] = {"api_key", "service_code"};
    form["additionalProperties"] = {{"type", "string"}};
    form["description"] = "attribute[CODE]=value, attribute[CODE][]=value for multi-value lists; "
                          "exactly one location: lat and long, address_string or address_id";
    (*paths)["/open311/v2/requests." + format]["post"] = {
        {"operationId", "Open311_CreateRequest_" + format},
        {"tags", json::array({"Open311"})},
        {"summary", "File a request with a partner's api_key"},
        {"requestBody", {{"required", true},
                         {"content", {{"application/x-www-form-urlencoded", {{"schema", form}}}}}}},
        {"responses", {{"201", {{"description", "created"}, {"content", content(list("Open311Created"))}}},
                       {"default", error}}}};
  }
}

}  // namespace

std::string OpenApiJson(const RouteTable& routes, const std::string& server_url) {
  Schemas schemas;
  json paths = json::object();
  for (const Route& r : routes.routes()) {
    json op;
    op["operationId"] = r.method->service()->name() + "_" + r.method->name();
    op["tags"] = json::array({r.method->service()->name()});
    op["summary"] = r.method->name();
    json parameters = json::array();
    std::set<std::string> bound;
    for (const auto& s : r.path.segments) {
      if (!s.variable) continue;
      bound.insert(s.field_path);
      parameters.push_back({{"name", s.field_path}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
    }
    if (r.body != "*") {
      std::set<std::string> excluded = bound;
      if (!r.body.empty()) excluded.insert(r.body);
      AddQueryParameters(schemas, r.method->input_type(), "", excluded, &parameters, 0);
    }
    if (r.server_streaming && !r.resume_field.empty()) {
      parameters.push_back({{"name", "Last-Event-ID"}, {"in", "header"}, {"required", false},
                            {"schema", {{"type", "string"}}}});
    }
    if (r.policy.idempotent()) {
      parameters.push_back({{"name", "Idempotency-Key"}, {"in", "header"}, {"required", false},
                            {"schema", {{"type", "string"}, {"maxLength", 128}}}});
    }
    if (!parameters.empty()) op["parameters"] = parameters;
    if (!r.body.empty()) {
      json content;
      if (r.raw_request) {
        for (const char* type : {"image/jpeg", "image/png", "image/webp"}) {
          content[type] = {{"schema", {{"type", "string"}, {"format", "binary"}}}};
        }
      } else {
        const Descriptor* d = r.body == "*" ? r.method->input_type()
                                            : r.method->input_type()->FindFieldByName(r.body)->message_type();
        content["application/json"] = {{"schema", schemas.MessageSchema(d)}};
      }
      op["requestBody"] = {{"required", true}, {"content", content}};
    }
    json success;
    if (r.raw_response) {
      success = {{"description", "the file"},
                 {"content", {{"application/octet-stream", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}};
    } else if (r.server_streaming) {
      success = {{"description", "Server-Sent Events, one per message"},
                 {"content", {{"text/event-stream", {{"schema", {{"type", "string"}}}}}}}};
    } else {
      success = {{"description", "OK"},
                 {"content", {{"application/json", {{"schema", schemas.MessageSchema(r.method->output_type())}}}}}};
    }
    op["responses"] = {{std::to_string(r.success_status), success},
                       {"default", {{"description", "an error"},
                                    {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}};
    if (r.policy.access() != cityhub::api::ACCESS_PUBLIC) {
      op["security"] = json::array({{{"bearerAuth", json::array()}}});
    }
    paths[r.path.text][Lower(r.http_method)] = op;
  }
  AddOperationalPaths(&paths);
  json components = {
      {"schemas", schemas.components()},
      {"securitySchemes", {{"bearerAuth", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}}}}};
  components["schemas"]["Error"] = {
      {"type", "object"},
      {"required", {"code", "message"}},
      {"properties", {{"code", {{"type", "integer"}}},
                      {"message", {{"type", "string"}}},
                      {"details", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};
  AddOpen311Paths(&paths, &components["schemas"]);
  json doc = {{"openapi", "3.0.3"},
              {"info", {{"title", "cityhub API"},
                        {"version", "1.0.0"},
                        {"description", "The public HTTP API of cityhub: accounts, service requests, notifications, Open311 GeoReport v2 and operations."},
                        {"license", {{"name", "Proprietary"}, {"url", "https://bielefeld.de"}}}}},
              {"servers", json::array({{{"url", server_url}}})},
              {"paths", paths},
              {"components", components}};
  return doc.dump(2);
}

}  // namespace cityhub::gateway
