#include "gateway/openapi.h"

#include <set>

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
  json components = {
      {"schemas", schemas.components()},
      {"securitySchemes", {{"bearerAuth", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}}}}};
  components["schemas"]["Error"] = {
      {"type", "object"},
      {"required", {"code", "message"}},
      {"properties", {{"code", {{"type", "integer"}}},
                      {"message", {{"type", "string"}}},
                      {"details", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};
  json doc = {{"openapi", "3.0.3"},
              {"info", {{"title", "cityhub API"},
                        {"version", "1.0.0"},
                        {"description", "The public HTTP API of cityhub: accounts, service requests, notifications."},
                        {"license", {{"name", "Proprietary"}, {"url", "https://bielefeld.de"}}}}},
              {"servers", json::array({{{"url", server_url}}})},
              {"paths", paths},
              {"components", components}};
  return doc.dump(2);
}

}  // namespace cityhub::gateway
