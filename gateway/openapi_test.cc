#include "gateway/openapi.h"

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

}  // namespace
}  // namespace cityhub::gateway
