#include <string>

#include "gateway/openapi_parts.h"

namespace cityhub::gateway::openapi {

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

}  // namespace cityhub::gateway::openapi
