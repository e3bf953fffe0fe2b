#include "gateway/openapi.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <nlohmann/json.hpp>

#include "gateway/openapi_parts.h"
#include "infra/strings.h"

namespace cityhub::gateway {

using openapi::AddOpen311Paths;
using openapi::AddOperationalPaths;
using openapi::CollectMessages;
using openapi::Descriptor;
using openapi::Direction;
using openapi::FieldDescriptor;
using openapi::json;
using openapi::JsonContent;
using openapi::RuleOf;
using openapi::SchemaName;
using openapi::Schemas;

namespace {

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
    // A JSON file (application/geo+json) is an object to a client reading it, not bytes.
    for (const auto& type : rule.response_types())
      content[type] = type.ends_with("json") ? json{{"schema", {{"type", "object"}}}} : Binary();
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
