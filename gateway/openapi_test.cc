#include "gateway/openapi.h"

#include <algorithm>
#include <regex>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gateway/routes.h"

namespace cityhub::gateway {
namespace {

using nlohmann::json;

json Document() {
  auto table = RouteTable::Build(PublicServices());
  EXPECT_TRUE(table.ok()) << table.status();
  return json::parse(OpenApiJson(*table, "https://api.example"));
}

TEST(OpenApi, DescribesTheOperationalRoutes) {
  const json doc = Document();
  for (const char* path : {"/healthz", "/readyz", "/metrics", "/openapi.json"}) {
    ASSERT_TRUE(doc["paths"].contains(path)) << path;
    EXPECT_TRUE(doc["paths"][path].contains("get")) << path;
    EXPECT_TRUE(doc["paths"][path]["get"]["responses"].contains("200")) << path;
  }
  EXPECT_TRUE(doc["paths"]["/readyz"]["get"]["responses"].contains("503"));
  EXPECT_TRUE(
      doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"].contains("text/plain"));
}

TEST(OpenApi, DescribesEveryOpen311ResourceInBothFormats) {
  const json doc = Document();
  for (const std::string format : {"json", "xml"}) {
    const std::string type = format == "json" ? "application/json" : "text/xml";
    for (const std::string resource :
         {"discovery", "services", "services/{service_code}", "requests",
          "requests/{service_request_id}", "tokens/{token}"}) {
      const std::string path = "/open311/v2/" + resource + "." + format;
      ASSERT_TRUE(doc["paths"].contains(path)) << path;
      EXPECT_TRUE(doc["paths"][path]["get"]["responses"]["200"]["content"].contains(type)) << path;
    }
    const json& post = doc["paths"]["/open311/v2/requests." + format]["post"];
    ASSERT_TRUE(post.is_object()) << format;
    const json& form =
        post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
    EXPECT_EQ(form["required"], json::array({"api_key", "service_code"}));
    EXPECT_TRUE(post["responses"].contains("201"));
  }
  // The spec's discovery has no jurisdiction_id; the list has its filters.
  for (const auto& p : doc["paths"]["/open311/v2/discovery.json"]["get"]["parameters"]) {
    EXPECT_NE(p["name"], "jurisdiction_id");
  }
  std::set<std::string> filters;
  for (const auto& p : doc["paths"]["/open311/v2/requests.xml"]["get"]["parameters"])
    filters.insert(p["name"]);
  for (const char* name : {"jurisdiction_id", "service_request_id", "service_code", "start_date",
                           "end_date", "status", "page", "page_size"}) {
    EXPECT_TRUE(filters.count(name)) << name;
  }
}

TEST(OpenApi, EveryPathVariableIsADeclaredParameterAndEveryOperationIdIsUnique) {
  const json doc = Document();
  std::set<std::string> ids;
  const std::regex variable(R"(\{([^}]+)\})");
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      EXPECT_TRUE(ids.insert(op["operationId"].get<std::string>()).second) << op["operationId"];
      std::set<std::string> declared;
      for (const auto& p : op.value("parameters", json::array())) {
        if (p["in"] == "path") declared.insert(p["name"]);
      }
      std::set<std::string> used;
      for (auto it = std::sregex_iterator(path.begin(), path.end(), variable);
           it != std::sregex_iterator(); ++it) {
        used.insert((*it)[1]);
      }
      EXPECT_EQ(used, declared) << method << " " << path;
    }
  }
}

const json& Schema(const json& doc, const std::string& name) {
  const json& schemas = doc["components"]["schemas"];
  EXPECT_TRUE(schemas.contains(name)) << name;
  return schemas[name];
}

std::string RefName(const json& ref) {
  const std::string text = ref.value("$ref", "");
  return text.substr(text.rfind('/') + 1);
}

// The schema itself, following a $ref into components/schemas.
const json& Resolve(const json& doc, const json& schema) {
  return schema.contains("$ref") ? Schema(doc, RefName(schema)) : schema;
}

const json& Operation(const json& doc, const std::string& path, const std::string& method) {
  EXPECT_TRUE(doc["paths"].contains(path)) << path;
  EXPECT_TRUE(doc["paths"][path].contains(method)) << method << " " << path;
  return doc["paths"][path][method];
}

const json& BodySchema(const json& doc, const std::string& path, const std::string& method) {
  return Schema(doc,
                RefName(Operation(doc, path,
                                  method)["requestBody"]["content"]["application/json"]["schema"]));
}

const json& AnswerSchema(const json& doc, const std::string& path, const std::string& method,
                         const char* status) {
  return Schema(
      doc, RefName(Operation(
               doc, path, method)["responses"][status]["content"]["application/json"]["schema"]));
}

json Parameter(const json& op, const std::string& name) {
  for (const auto& p : op.value("parameters", json::array())) {
    if (p["name"] == name) return p;
  }
  ADD_FAILURE() << "no parameter " << name;
  return json::object();
}

bool Contains(const json& array, const std::string& value) {
  return std::find(array.begin(), array.end(), value) != array.end();
}

TEST(OpenApi, RequestBodiesListWhatTheServiceRequiresAndRefuseUnknownFields) {
  const json doc = Document();
  const json& reg = BodySchema(doc, "/v1/accounts", "post");
  EXPECT_EQ(reg["required"], json::array({"email", "password", "display_name"}));
  EXPECT_EQ(reg["additionalProperties"], false);
  EXPECT_EQ(BodySchema(doc, "/v1/devices", "post")["required"],
            json::array({"platform", "push_token"}));
  // Path variables are not part of a body.
  const json& comment = BodySchema(doc, "/v1/requests/{request_id}/comments", "post");
  EXPECT_FALSE(comment["properties"].contains("request_id"));
  EXPECT_EQ(comment["required"], json::array({"text"}));
  // Optional fields stay optional.
  EXPECT_FALSE(BodySchema(doc, "/v1/me", "patch").contains("required"));
}

// Each number is the one the service's check uses (named in the proto comment beside the field).
TEST(OpenApi, StringLimitsAreTheServicesLimits) {
  const json doc = Document();
  const json& reg = BodySchema(doc, "/v1/accounts", "post")["properties"];
  EXPECT_EQ(reg["display_name"]["maxLength"], 80);  // ValidateDisplayName
  EXPECT_EQ(reg["password"]["minLength"], 8);       // CheckPasswordPolicy
  EXPECT_EQ(reg["password"]["maxLength"], 128);
  EXPECT_EQ(reg["email"]["maxLength"], 254);  // NormalizeEmail
  EXPECT_EQ(reg["email"]["format"], "email");
  EXPECT_EQ(reg["language"]["enum"], json::array({"de", "en"}));
  const json& create = BodySchema(doc, "/v1/requests", "post")["properties"];
  EXPECT_EQ(create["description"]["maxLength"], 4000);  // DoCreateRequest
  EXPECT_EQ(create["address"]["maxLength"], 250);
  EXPECT_EQ(create["media_ids"]["maxItems"], 5);                         // kMaxMediaPerRequest
  EXPECT_EQ(create["media_ids"]["items"]["pattern"], "^[0-9a-f]{64}$");  // IsMediaId
  EXPECT_EQ(create["lat"]["minimum"], -85.05112878);  // CheckCoordinates: what Redis GEO takes
  EXPECT_EQ(create["long"]["maximum"], 180);
  EXPECT_EQ(create["media_url"]["maxLength"], 2048);  // CheckMediaUrl
  const json& text =
      BodySchema(doc, "/v1/requests/{request_id}/comments", "post")["properties"]["text"];
  EXPECT_EQ(text["minLength"], 1);  // AddComment
  EXPECT_EQ(text["maxLength"], 2000);
  EXPECT_EQ(BodySchema(doc, "/v1/devices", "post")["properties"]["push_token"]["maxLength"], 4096);
  // Text without control characters: the pattern refuses them.
  EXPECT_TRUE(
      std::regex_search(reg["display_name"]["pattern"].get<std::string>(), std::regex("u001F")));
}

TEST(OpenApi, ListRoutesDescribeTheirQueryParameters) {
  const json doc = Document();
  const json& list = Operation(doc, "/v1/requests", "get");
  const json page_size = Parameter(list, "page_size");
  EXPECT_EQ(page_size["schema"]["minimum"], 1);  // PageSize: 1..100
  EXPECT_EQ(page_size["schema"]["maximum"], 100);
  EXPECT_EQ(page_size["schema"]["type"], "integer");
  const json status = Parameter(list, "status");
  EXPECT_EQ(status["schema"]["type"], "array");
  EXPECT_EQ(status["explode"], true);
  // A filter never needs the zero value.
  EXPECT_EQ(RefName(status["schema"]["items"]), "cityhub_requests_v1_StatusInput");
  EXPECT_FALSE(Contains(Resolve(doc, status["schema"]["items"])["enum"], "STATUS_UNSPECIFIED"));
  EXPECT_TRUE(Contains(Resolve(doc, status["schema"]["items"])["enum"], "IN_PROGRESS"));
  EXPECT_EQ(Parameter(list, "since")["schema"]["format"], "date-time");
  EXPECT_EQ(Parameter(list, "radius_m")["schema"]["maximum"], 20000);
  EXPECT_EQ(Parameter(Operation(doc, "/v1/notifications", "get"), "page_size")["schema"]["maximum"],
            100);
  EXPECT_EQ(Parameter(Operation(doc, "/v1/requests:suggestDuplicates", "get"),
                      "service_code")["required"],
            true);
}

TEST(OpenApi, AnswersRequireWhatTheGatewayAlwaysWrites) {
  const json doc = Document();
  const json& account = AnswerSchema(doc, "/v1/me", "get", "200");
  for (const char* field :
       {"account_id", "email", "email_verified", "roles", "created_at", "updated_at"}) {
    EXPECT_TRUE(Contains(account["required"], field)) << field;
  }
  EXPECT_FALSE(account.contains("additionalProperties"));
  const json& request = AnswerSchema(doc, "/v1/requests/{request_id}", "get", "200");
  for (const char* field :
       {"request_id", "status", "media_urls", "requested_at", "updated_at", "expected_at"}) {
    EXPECT_TRUE(Contains(request["required"], field)) << field;
  }
  // Only for the owner and staff.
  EXPECT_FALSE(Contains(request["required"], "contact"));
  EXPECT_TRUE(Contains(Resolve(doc, request["properties"]["status"])["enum"], "SUBMITTED"));
  // Answers carry the zero value when nothing else applies (a history's first step).
  EXPECT_TRUE(Contains(
      Resolve(doc,
              Schema(doc, "cityhub_requests_v1_StatusChange")["properties"]["from_status"])["enum"],
      "STATUS_UNSPECIFIED"));
}

TEST(OpenApi, AMessageInBothDirectionsHasARequestSchemaOfItsOwn) {
  const json doc = Document();
  const json& put = Operation(doc, "/v1/me/notificationPreferences", "put");
  EXPECT_EQ(RefName(put["requestBody"]["content"]["application/json"]["schema"]),
            "cityhub_notifications_v1_NotificationPreferencesInput");
  EXPECT_FALSE(
      Schema(doc, "cityhub_notifications_v1_NotificationPreferencesInput").contains("required"));
  const json& answer = AnswerSchema(doc, "/v1/me/notificationPreferences", "put", "200");
  EXPECT_EQ(answer["required"], json::array({"inbox", "push", "email", "push_quiet_hours"}));
}

TEST(OpenApi, WellKnownTypesFollowProtobufsJsonMapping) {
  const json doc = Document();
  const json& account = AnswerSchema(doc, "/v1/me", "get", "200");
  EXPECT_EQ(account["properties"]["created_at"],
            json({{"type", "string"}, {"format", "date-time"}}));
  const json& pair = AnswerSchema(doc, "/v1/sessions", "post", "200");
  EXPECT_EQ(pair["properties"]["expires_in"]["type"], "string");
  EXPECT_EQ(pair["properties"]["expires_in"]["format"], "int64");
  const json& attributes = BodySchema(doc, "/v1/requests", "post")["properties"]["attributes"];
  EXPECT_EQ(attributes["type"], "object");
  EXPECT_EQ(attributes["additionalProperties"], true);
}

TEST(OpenApi, MediaRoutesNameTheirRealContentTypes) {
  const json doc = Document();
  const std::set<std::string> images = {"image/jpeg", "image/png", "image/webp"};
  std::set<std::string> served, accepted;
  for (const auto& [type, unused] :
       Operation(doc, "/v1/media/{media_id}", "get")["responses"]["200"]["content"].items()) {
    served.insert(type);
  }
  for (const auto& [type, content] :
       Operation(doc, "/v1/media", "post")["requestBody"]["content"].items()) {
    accepted.insert(type);
    EXPECT_EQ(content["schema"]["format"], "binary");
  }
  EXPECT_EQ(served, images);
  EXPECT_EQ(accepted, images);
  EXPECT_EQ(
      Parameter(Operation(doc, "/v1/media/{media_id}", "get"), "media_id")["schema"]["pattern"],
      "^[0-9a-f]{64}$");
}

TEST(OpenApi, EveryOperationDocumentsItsErrorsWithTheOneErrorBody) {
  const json doc = Document();
  for (const auto& [path, item] : doc["paths"].items()) {
    if (!path.starts_with("/v1/")) continue;
    for (const auto& [method, op] : item.items()) {
      const json& responses = op["responses"];
      for (const char* status : {"400", "401", "429", "500", "503", "504"}) {
        EXPECT_TRUE(responses.contains(status)) << method << " " << path << " " << status;
      }
      if (path.find('{') != std::string::npos) {
        EXPECT_TRUE(responses.contains("404")) << path;
      }
      if (op.contains("requestBody")) {
        EXPECT_TRUE(responses.contains("413")) << path;
      }
      for (const auto& [status, response] : responses.items()) {
        if (status[0] != '4' && status[0] != '5') continue;
        const json& shared = doc["components"]["responses"][RefName(response)];
        EXPECT_EQ(RefName(shared["content"]["application/json"]["schema"]), "Error")
            << path << " " << status;
      }
    }
  }
  EXPECT_EQ(Schema(doc, "Error")["required"], json::array({"code", "message", "details"}));
  EXPECT_TRUE(doc["components"]["responses"]["TooManyRequests"]["headers"].contains("Retry-After"));
  EXPECT_TRUE(
      Operation(doc, "/v1/accounts/{account_id}:setRoles", "post")["responses"].contains("403"));
  EXPECT_TRUE(Operation(doc, "/v1/accounts", "post")["responses"].contains("409"));
  EXPECT_TRUE(Operation(doc, "/v1/accounts:verifyEmail", "post")["responses"].contains("404"));
  EXPECT_TRUE(Operation(doc, "/v1/requests", "post")["responses"].contains("403"));
  EXPECT_FALSE(Operation(doc, "/v1/me", "get")["responses"].contains("403"));
}

TEST(OpenApi, SecurityFollowsTheAccessPolicyAndCreatesTakeAnIdempotencyKey) {
  const json doc = Document();
  const json bearer = {{"bearerAuth", json::array()}};
  EXPECT_EQ(Operation(doc, "/v1/me", "get")["security"], json::array({bearer}));
  EXPECT_EQ(Operation(doc, "/v1/services", "get")["security"],
            json::array({json::object(), bearer}));
  const json key = Parameter(Operation(doc, "/v1/requests", "post"), "Idempotency-Key");
  EXPECT_EQ(key["in"], "header");
  EXPECT_EQ(key["schema"]["maxLength"], 128);
  EXPECT_EQ(Parameter(Operation(doc, "/v1/requests/{request_id}", "get"),
                      "request_id")["schema"]["pattern"],
            "^[0-7][0-9A-HJKMNP-TV-Z]{25}$");
}

}  // namespace
}  // namespace cityhub::gateway
