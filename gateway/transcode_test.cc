#include "gateway/transcode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cityhub/accounts/v1/accounts.grpc.pb.h"
#include "cityhub/notifications/v1/notifications.grpc.pb.h"
#include "cityhub/requests/v1/requests.grpc.pb.h"

namespace cityhub::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace v1 = cityhub::requests::v1;

class TranscodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto table = RouteTable::Build(PublicServices());
    ASSERT_TRUE(table.ok());
    table_ = std::make_unique<RouteTable>(std::move(*table));
  }

  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> Build(const std::string& method,
                                                                   const std::string& target,
                                                                   const std::string& body = "",
                                                                   const std::string& type = "") {
    const size_t q = target.find('?');
    auto match = table_->Find(method, target.substr(0, q));
    EXPECT_TRUE(match) << target;
    auto query = ParseQuery(q == std::string::npos ? "" : target.substr(q + 1));
    if (!query.ok()) return query.status();
    return BuildRequest(*match, *query, body, type);
  }

  std::unique_ptr<RouteTable> table_;
};

// Found by tests/fuzz/transcode_fuzz: "=<bad bytes>" gave ": not valid UTF-8", naming nothing.
TEST(ParseQuery, BadBytesWithoutANameBlameTheQuery) {
  auto query = ParseQuery("=%FF");
  ASSERT_FALSE(query.ok());
  EXPECT_EQ(query.status().message(), "query: not valid UTF-8");
}

TEST_F(TranscodeTest, QueryParametersFillFieldsByType) {
  auto msg = Build(
      "GET",
      "/v1/requests?service_code=pothole&service_code=tree&status=SUBMITTED&status=IN_PROGRESS"
      "&lat=52.02&long=8.53&radius_m=500&since=2026-11-01T00:00:00Z&page_size=50");
  ASSERT_TRUE(msg.ok()) << msg.status();
  const auto& req = static_cast<const v1::ListRequestsRequest&>(**msg);
  EXPECT_EQ(req.service_code_size(), 2);
  ASSERT_EQ(req.status_size(), 2);
  EXPECT_EQ(req.status(1), v1::IN_PROGRESS);
  EXPECT_DOUBLE_EQ(req.long_(), 8.53);
  EXPECT_TRUE(req.has_radius_m());
  EXPECT_EQ(req.since().seconds(), 1793491200);
  EXPECT_EQ(req.page_size(), 50);
}

// #13: cityctl's apply sets fields to their defaults (active: false) through the mask.
TEST_F(TranscodeTest, UpdateMaskIsCommaSeparatedPathsInTheQuery) {
  auto msg = Build("PATCH", "/v1/services/pothole?update_mask=active,sla_hours",
                   R"({"active": false, "sla_hours": 5})", "application/json");
  ASSERT_TRUE(msg.ok()) << msg.status();
  const auto& req = static_cast<const v1::UpdateServiceRequest&>(**msg);
  ASSERT_EQ(req.update_mask().paths_size(), 2);
  EXPECT_EQ(req.update_mask().paths(0), "active");
  EXPECT_EQ(req.update_mask().paths(1), "sla_hours");
  EXPECT_EQ(req.service().sla_hours(), 5);
}

TEST_F(TranscodeTest, UnknownOrMalformedParametersAreNamed) {
  EXPECT_EQ(Build("GET", "/v1/requests?colour=red").status().message(),
            "colour: unknown query parameter");
  EXPECT_EQ(Build("GET", "/v1/requests?status=OPENED").status().message(),
            "status: not one of SUBMITTED, ACKNOWLEDGED, IN_PROGRESS, RESOLVED, REJECTED, "
            "DUPLICATE, CLOSED");
  EXPECT_TRUE(Build("GET", "/v1/requests?status=resolved").ok());  // enum names in any case
  EXPECT_EQ(Build("GET", "/v1/requests?page_size=many").status().message(),
            "page_size: not a whole number");
  EXPECT_THAT(std::string(Build("GET", "/v1/requests?since=yesterday").status().message()),
              StartsWith("since: not an RFC 3339"));
  EXPECT_EQ(Build("GET", "/v1/requests?lat=nan").status().message(), "lat: not a number");
  EXPECT_EQ(Build("GET", "/v1/requests?x=%zz").status().message(),
            "query: malformed percent-encoding");
}

TEST_F(TranscodeTest, AQueryParameterCannotChangeWhatThePathNames) {
  const std::string id = "01JCITYHUB0000000000000000";
  auto plain = Build("GET", "/v1/requests/" + id);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(static_cast<const v1::GetRequestRequest&>(**plain).request_id(), id);
  EXPECT_EQ(Build("GET", "/v1/requests/" + id + "?request_id=01JOTHER000000000000000000")
                .status()
                .message(),
            "request_id: given by the path already");
  EXPECT_EQ(Build("DELETE", "/v1/devices/d1?device_id=d2").status().message(),
            "device_id: given by the path already");
  // lowerCamelCase names the same field (else /v1/media/A?mediaId=B served B as A, immutable).
  EXPECT_EQ(Build("GET", "/v1/media/01JMEDIA00000000000000000A?mediaId=01JMEDIA00000000000000000B")
                .status()
                .message(),
            "mediaId: given by the path already");
  EXPECT_EQ(Build("GET", "/v1/requests/" + id + "?requestId=01JOTHER000000000000000000")
                .status()
                .message(),
            "requestId: given by the path already");
  EXPECT_EQ(Build("DELETE", "/v1/devices/d1?deviceId=d2").status().message(),
            "deviceId: given by the path already");
  EXPECT_TRUE(Build("GET", "/v1/requests/" + id + "?language=en").ok());
}

TEST_F(TranscodeTest, BodiesAreJsonWithUnknownFieldsRefused) {
  auto ok = Build(
      "POST", "/v1/requests",
      R"({"service_code":"pothole","lat":52.02,"long":8.53,"mediaIds":["a"],"attributes":{"surface":"road"}})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  const auto& req = static_cast<const v1::CreateRequestRequest&>(**ok);
  EXPECT_EQ(req.media_ids(0), "a");  // lowerCamelCase accepted
  EXPECT_EQ(req.attributes().fields().at("surface").string_value(), "road");
  auto unknown = Build("POST", "/v1/requests", R"({"service_code":"pothole","colour":"red"})");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("colour"));
  EXPECT_THAT(std::string(Build("POST", "/v1/requests", "{not json").status().message()),
              StartsWith("body: "));
  // Broken JSON is described, never echoed back.
  const std::string secret = "{\"description\": \"Geheim-4711\" oops}";
  const std::string broken(Build("POST", "/v1/requests", secret).status().message());
  EXPECT_THAT(broken, StartsWith("body: "));
  EXPECT_EQ(broken.find("Geheim-4711"), std::string::npos) << broken;
  // A value of the wrong type names the field, not the value.
  for (const std::string body : {R"({"lat": "Geheim-4711"})", R"({"description": ["Geheim-4711"]})",
                                 R"({"lat": 52.0, "long": "Geheim-4711"})"}) {
    const std::string wrong(Build("POST", "/v1/requests", body).status().message());
    EXPECT_EQ(wrong.find("Geheim-4711"), std::string::npos) << wrong;
    EXPECT_TRUE(wrong.starts_with("lat") || wrong.starts_with("description") ||
                wrong.starts_with("long") || wrong.starts_with("body"))
        << wrong;
  }
  // A bad enum value names the field and what it may hold; names are taken in any case.
  const std::string id = "01JCITYHUB0000000000000000";
  EXPECT_EQ(Build("POST", "/v1/requests/" + id + ":transition", R"({"status":"fixed"})")
                .status()
                .message(),
            "status: not one of SUBMITTED, ACKNOWLEDGED, IN_PROGRESS, RESOLVED, REJECTED, "
            "DUPLICATE, CLOSED");
  EXPECT_TRUE(Build("POST", "/v1/requests/" + id + ":transition", R"({"status":"resolved"})").ok());
  EXPECT_EQ(Build("POST", "/v1/requests?lat=1", "{}").status().message(),
            "lat: unknown query parameter");
}

TEST_F(TranscodeTest, InvalidUtf8InABodyNamesItsField) {
  auto bad =
      Build("POST", "/v1/accounts", "{\"email\":\"a@b.de\",\"display_name\":\"An\xff\xfe\"}");
  EXPECT_EQ(bad.status().message(), "display_name: not valid UTF-8");
}

TEST_F(TranscodeTest, InvalidUtf8InAPathVariableNamesItsField) {
  auto bad = Build("GET", "/v1/requests/%FF%FE");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "request_id: not valid UTF-8");
  // A truncated sequence in a path that also has a verb, and a nested-body route.
  EXPECT_EQ(Build("POST", "/v1/requests/ab%C3:follow", "{}").status().message(),
            "request_id: not valid UTF-8");
  EXPECT_EQ(Build("PATCH", "/v1/services/pot%E2%82hole", R"({"sla_hours":48})").status().message(),
            "service_code: not valid UTF-8");
  // Valid multi-byte text still goes through.
  auto ok = Build("GET", "/v1/services/stra%C3%9Fe");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(static_cast<const v1::GetServiceRequest&>(**ok).service_code(),
            "stra\xC3\x9F"
            "e");
}

TEST_F(TranscodeTest, PathVariablesWinAndBodyFieldsMapToTheirField) {
  auto msg = Build("PATCH", "/v1/services/pothole", R"({"sla_hours":48})");
  ASSERT_TRUE(msg.ok()) << msg.status();
  const auto& req = static_cast<const v1::UpdateServiceRequest&>(**msg);
  EXPECT_EQ(req.service_code(), "pothole");
  EXPECT_EQ(req.service().sla_hours(), 48);
}

TEST_F(TranscodeTest, RawBodiesGoIntoHttpBody) {
  auto msg = Build("POST", "/v1/media", std::string("\xFF\xD8\xFF\x00", 4), "image/jpeg");
  ASSERT_TRUE(msg.ok());
  const auto& req = static_cast<const v1::UploadMediaRequest&>(**msg);
  EXPECT_EQ(req.file().content_type(), "image/jpeg");
  EXPECT_EQ(req.file().data().size(), 4u);
}

TEST_F(TranscodeTest, OutputUsesProtoFieldNamesAndEnumNames) {
  v1::ServiceRequest r;
  r.set_request_id("x");
  r.set_status(v1::IN_PROGRESS);
  r.add_media_urls("https://a/b");
  const std::string json = ToJson(r);
  EXPECT_THAT(json, HasSubstr("\"request_id\":\"x\""));
  EXPECT_THAT(json, HasSubstr("\"status\":\"IN_PROGRESS\""));
  EXPECT_THAT(json, HasSubstr("\"media_urls\":[\"https://a/b\"]"));
  EXPECT_THAT(json, HasSubstr("\"follower_count\":0"));  // defaults are printed
}

TEST(KeyBefore, FindsTheEnclosingKey) {
  EXPECT_EQ(KeyBefore(R"({"a": 1, "name" : "Jo)", 20), "name");
  EXPECT_EQ(KeyBefore("no keys", 3), "");
}

}  // namespace
}  // namespace cityhub::gateway
