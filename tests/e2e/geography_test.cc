// The city's geography (#15) end to end through the gateway, with the real notifications
// service: the seeded boundary and districts, routing rules deciding the department, and the
// routed department's operators told in their inbox, also after a change of districts moved a
// request (the background reassignment).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/harness/api.h"
#include "tests/harness/process.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

class Geography : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Stack::Options options;
    options.env = {{"CITYHUB_RATE_LIMIT_SIGN_IN", "500/min,burst=100"},
                   {"CITYHUB_RATE_LIMIT_WRITE", "500/min,burst=100"}};
    stack_ = new Stack(options);
    api_ = new Api(stack_->gateway_url());
    admin_ = api_->SignIn(stack_->admin_email(), stack_->admin_password());
  }
  static void TearDownTestSuite() {
    delete api_;
    delete stack_;
  }
  static json Pothole(double lat, double lon) {
    return {{"service_code", "pothole"},
            {"lat", lat},
            {"long", lon},
            {"attributes", {{"surface", "road"}}},
            {"description", "Schlagloch"}};
  }
  // Whether `token`'s inbox tells of request `id` within 20 s.
  static bool InboxTells(const std::string& token, const std::string& id) {
    return WaitFor(
        [&] {
          const auto r = api_->Call("GET", "/v1/notifications?page_size=50", nullptr, token);
          for (const auto& n : r.json.value("notifications", json::array())) {
            if (n.value("request_id", "") == id) return true;
          }
          return false;
        },
        20s);
  }

  static Stack* stack_;
  static Api* api_;
  static std::string admin_;
};

Stack* Geography::stack_ = nullptr;
Api* Geography::api_ = nullptr;
std::string Geography::admin_;

TEST_F(Geography, TheSeededCityRefusesReportsOutsideAndGivesDistricts) {
  const auto boundary = api_->Call("GET", "/v1/jurisdiction/boundary");
  ASSERT_EQ(boundary.status, 200) << boundary.raw.body;
  EXPECT_EQ(boundary.json["type"], "Polygon");
  const auto districts = api_->Call("GET", "/v1/districts");
  ASSERT_EQ(districts.status, 200);
  EXPECT_EQ(districts.json["features"].size(), 10u);
  const auto created = api_->Call("POST", "/v1/requests", Pothole(52.0216, 8.5325));
  ASSERT_EQ(created.status, 201) << created.raw.body;
  EXPECT_EQ(created.json["district"], "mitte");
  const auto berlin = api_->Call("POST", "/v1/requests", Pothole(52.52, 13.40));
  EXPECT_EQ(berlin.status, 400);
  EXPECT_EQ(berlin.json["message"], "lat: the location lies outside the city");
  const auto listed = api_->Call("GET", "/v1/requests?district=mitte&page_size=100");
  ASSERT_EQ(listed.status, 200);
  bool found = false;
  for (const auto& r : listed.json["requests"])
    found |= r["request_id"] == created.json["request_id"];
  EXPECT_TRUE(found);
  // Documents are the admin's to change.
  EXPECT_EQ(api_->Raw("PUT", "/v1/routingRules", "[]", {"Content-Type: application/json"}).status,
            401);
}

TEST_F(Geography, RoutedDepartmentsOperatorsAreNotifiedAlsoAfterADistrictChange) {
  const std::string mitte_roads =
      api_->NewOperator(stack_->smtp(), "tiefbau-mitte@bielefeld.de", {"roads-mitte"}, admin_);
  const std::string south_office =
      api_->NewOperator(stack_->smtp(), "buero-sued@bielefeld.de", {"south-office"}, admin_);
  const auto rules =
      api_->Raw("PUT", "/v1/routingRules",
                R"([{"service_code":"pothole","district":"mitte","department":"roads-mitte"},)"
                R"({"district":"south","department":"south-office"}])",
                {"Content-Type: application/json", "Authorization: Bearer " + admin_});
  ASSERT_EQ(rules.status, 200) << rules.raw.body;
  EXPECT_EQ(rules.json.size(), 2u);

  // District override: a pothole in Mitte goes to roads-mitte, whose operator hears of it.
  const auto created = api_->Call("POST", "/v1/requests", Pothole(52.0216, 8.5325));
  ASSERT_EQ(created.status, 201) << created.raw.body;
  const std::string id = created.json["request_id"];
  EXPECT_EQ(created.json["department"], "roads-mitte");
  EXPECT_TRUE(InboxTells(mitte_roads, id));
  // Elsewhere the category's department.
  const auto north = api_->Call("POST", "/v1/requests", Pothole(52.09, 8.515));
  ASSERT_EQ(north.status, 201);
  EXPECT_EQ(north.json["department"], "roads");

  // New districts: everything below 52.03 is "south"; the open request moves there, its
  // department follows the rules, and the south office hears of it.
  const std::string districts =
      R"({"type":"FeatureCollection","features":[)"
      R"({"type":"Feature","properties":{"district_id":"south","name_de":"Süd","name_en":"South"},)"
      R"("geometry":{"type":"Polygon","coordinates":[[[8.3,51.9],[8.7,51.9],[8.7,52.03],[8.3,52.03],[8.3,51.9]]]}},)"
      R"({"type":"Feature","properties":{"district_id":"north","name_de":"Nord","name_en":"North"},)"
      R"("geometry":{"type":"Polygon","coordinates":[[[8.3,52.03],[8.7,52.03],[8.7,52.2],[8.3,52.2],[8.3,52.03]]]}}]})";
  const auto put =
      api_->Raw("PUT", "/v1/districts", districts,
                {"Content-Type: application/geo+json", "Authorization: Bearer " + admin_});
  ASSERT_EQ(put.status, 200) << put.raw.body;
  EXPECT_EQ(api_->Call("GET", "/v1/districts").json["features"].size(), 2u);
  EXPECT_TRUE(WaitFor(
      [&] {
        const auto r = api_->Call("GET", "/v1/requests/" + id);
        return r.json.value("district", "") == "south" &&
               r.json.value("department", "") == "south-office";
      },
      30s));
  EXPECT_TRUE(InboxTells(south_office, id));
  EXPECT_EQ(
      api_->Call("GET", "/v1/requests/" + std::string(north.json["request_id"])).json["district"],
      "north");
}

}  // namespace
}  // namespace cityhub::testing
