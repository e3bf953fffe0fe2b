#include "gateway/routes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cityhub/accounts/v1/accounts.grpc.pb.h"
#include "cityhub/notifications/v1/notifications.grpc.pb.h"
#include "cityhub/requests/v1/requests.grpc.pb.h"

namespace cityhub::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::vector<const google::protobuf::ServiceDescriptor*> All() { return PublicServices(); }

TEST(PathTemplate, ParsesVariablesNestedFieldsAndVerbs) {
  auto t = ParsePathTemplate("/v1/requests/{request_id}:transition");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->segments.size(), 3u);
  EXPECT_TRUE(t->segments[2].variable);
  EXPECT_EQ(t->segments[2].field_path, "request_id");
  EXPECT_EQ(t->verb, "transition");
  auto nested = ParsePathTemplate("/v1/things/{thing.name}");
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->segments[2].field_path, "thing.name");
  EXPECT_EQ(ParsePathTemplate("/v1/accounts:verifyEmail")->verb, "verifyEmail");
  for (const char* bad :
       {"v1/x", "/", "/v1//x", "/v1/{x", "/v1/{}", "/v1/{1x}", "/v1/x:", "/v1/a{b}"}) {
    EXPECT_FALSE(ParsePathTemplate(bad).ok()) << bad;
  }
}

TEST(RouteTable, CoversEveryRouteOfThePublicApi) {
  auto table = RouteTable::Build(All());
  ASSERT_TRUE(table.ok()) << table.status();
  std::set<std::string> have;
  for (const auto& r : table->routes()) have.insert(r.http_method + " " + r.path.text);
  // Every route of the public API document (API.md), and nothing internal.
  for (const char* route : {"POST /v1/accounts",
                            "POST /v1/accounts:verifyEmail",
                            "POST /v1/sessions",
                            "POST /v1/sessions:refresh",
                            "POST /v1/sessions:signOut",
                            "POST /v1/sessions:signOutEverywhere",
                            "GET /v1/me",
                            "PATCH /v1/me",
                            "POST /v1/me:changePassword",
                            "POST /v1/passwordResets",
                            "POST /v1/passwordResets:confirm",
                            "GET /v1/me:export",
                            "POST /v1/me:delete",
                            "GET /.well-known/jwks.json",
                            "POST /v1/accounts/{account_id}:setRoles",
                            "POST /v1/apiKeys",
                            "GET /v1/apiKeys",
                            "DELETE /v1/apiKeys/{api_key_id}",
                            "GET /v1/services",
                            "GET /v1/services/{service_code}",
                            "POST /v1/services",
                            "PATCH /v1/services/{service_code}",
                            "POST /v1/media",
                            "GET /v1/media/{media_id}",
                            "POST /v1/requests",
                            "GET /v1/requests/{request_id}",
                            "GET /v1/requests",
                            "GET /v1/me/requests",
                            "GET /v1/requests:suggestDuplicates",
                            "POST /v1/requests/{request_id}/comments",
                            "GET /v1/requests/{request_id}/comments",
                            "POST /v1/requests/{request_id}:transition",
                            "POST /v1/requests/{request_id}:follow",
                            "POST /v1/requests/{request_id}:unfollow",
                            "GET /v1/notifications",
                            "GET /v1/notifications:unreadCount",
                            "POST /v1/notifications/{notification_id}:markRead",
                            "POST /v1/notifications:markAllRead",
                            "GET /v1/notifications:stream",
                            "POST /v1/devices",
                            "DELETE /v1/devices/{device_id}",
                            "GET /v1/me/notificationPreferences",
                            "PUT /v1/me/notificationPreferences",
                            "POST /v1/webhooks",
                            "GET /v1/webhooks",
                            "DELETE /v1/webhooks/{webhook_id}"}) {
    EXPECT_TRUE(have.count(route)) << route;
  }
  for (const auto& r : table->routes()) {
    EXPECT_NE(r.policy.access(), cityhub::api::ACCESS_INTERNAL) << r.grpc_path;
    EXPECT_NE(r.method->name(), "GetContact");
  }
}

TEST(RouteTable, EveryMethodHasAnAccessPolicy) {
  for (const auto* service : All()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* m = service->method(i);
      EXPECT_NE(m->options().GetExtension(cityhub::api::policy).access(),
                cityhub::api::ACCESS_UNSPECIFIED)
          << m->full_name();
    }
  }
}

TEST(RouteTable, MatchesLiteralsVerbsAndVariables) {
  auto table = RouteTable::Build(All());
  ASSERT_TRUE(table.ok());
  auto get = table->Find("GET", "/v1/requests/01JABC");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->route->method->name(), "GetRequest");
  EXPECT_THAT(get->bindings,
              ElementsAre(std::make_pair(std::string("request_id"), std::string("01JABC"))));
  auto transition = table->Find("POST", "/v1/requests/01JABC:transition");
  ASSERT_TRUE(transition);
  EXPECT_EQ(transition->route->method->name(), "TransitionRequest");
  auto suggest = table->Find("GET", "/v1/requests:suggestDuplicates");
  ASSERT_TRUE(suggest);
  EXPECT_EQ(suggest->route->method->name(), "SuggestDuplicates");
  auto mine = table->Find("GET", "/v1/me/requests");
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->route->method->name(), "ListMyRequests");
  auto encoded = table->Find("GET", "/v1/services/street%20light");
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->bindings[0].second, "street light");
  EXPECT_FALSE(table->Find("GET", "/v1/services/bad%zzescape"));
  EXPECT_FALSE(table->Find("GET", "/v1/requests/x:unknownVerb"));
  EXPECT_FALSE(table->Find("GET", "/v2/requests"));
}

TEST(RouteTable, TellsWhichMethodsAPathAllows) {
  auto table = RouteTable::Build(All());
  std::vector<std::string> allowed;
  EXPECT_FALSE(table->Find("DELETE", "/v1/me", &allowed));
  EXPECT_THAT(allowed, UnorderedElementsAre("GET", "PATCH"));
}

TEST(RouteTable, KnowsRawBodiesAndStreams) {
  auto table = RouteTable::Build(All());
  auto upload = table->Find("POST", "/v1/media");
  ASSERT_TRUE(upload);
  EXPECT_TRUE(upload->route->raw_request);
  EXPECT_EQ(upload->route->policy.max_body_bytes(), 10u * 1024 * 1024);
  EXPECT_TRUE(table->Find("GET", "/v1/media/abc")->route->raw_response);
  auto stream = table->Find("GET", "/v1/notifications:stream");
  ASSERT_TRUE(stream);
  EXPECT_TRUE(stream->route->server_streaming);
  EXPECT_EQ(stream->route->resume_field, "after_id");
}

TEST(RouteTable, TwoMethodsClaimingOneRouteFailAtStartUp) {
  // The accounts service twice: every route is claimed twice.
  const auto* accounts = PublicServices()[0];
  auto table = RouteTable::Build({accounts, accounts});
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(std::string(table.status().message()), HasSubstr("two routes claim"));
}

}  // namespace
}  // namespace cityhub::gateway
