// The geography of the requests service (#15) over its real gRPC server and a real Redis:
// boundary, districts, routing rules and the reassignment of open requests.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/requests/requests_test_fixture.h"

namespace cityhub::requests {
namespace {

using ::testing::HasSubstr;

// Two districts side by side: "west" below longitude 8.53, "east" above, around Bielefeld.
std::string TwoDistricts(double split = 8.53) {
  const std::string s = std::to_string(split);
  return R"({"type":"FeatureCollection","features":[
    {"type":"Feature","properties":{"district_id":"west","name_de":"West","name_en":"West"},
     "geometry":{"type":"Polygon","coordinates":[[[8.40,51.95],[)" +
         s + R"(,51.95],[)" + s +
         R"(,52.10],[8.40,52.10],[8.40,51.95]]]}},
    {"type":"Feature","properties":{"district_id":"east","name_de":"Ost","name_en":"East"},
     "geometry":{"type":"Polygon","coordinates":[[[)" +
         s + R"(,51.95],[8.65,51.95],[8.65,52.10],[)" + s + R"(,52.10],[)" + s + R"(,51.95]]]}}]})";
}

class GeographyTest : public RequestsServiceTest {
 protected:
  grpc::Status Put(const std::string& what, const std::string& body, const Who& who = kAdmin,
                   std::string* answer = nullptr) {
    v1::PutGeographyRequest req;
    req.mutable_document()->set_content_type("application/json");
    req.mutable_document()->set_data(body);
    cityhub::api::HttpBody out;
    auto ctx = Ctx(who);
    grpc::Status s = what == "boundary"    ? stub_->PutBoundary(ctx.get(), req, &out)
                     : what == "districts" ? stub_->PutDistricts(ctx.get(), req, &out)
                                           : stub_->PutRoutingRules(ctx.get(), req, &out);
    if (answer != nullptr) *answer = out.data();
    return s;
  }
  std::string GetDoc(const std::string& what, grpc::Status* status = nullptr) {
    v1::GetGeographyRequest req;
    cityhub::api::HttpBody out;
    auto ctx = Ctx(kAdmin);
    grpc::Status s = what == "boundary"    ? stub_->GetBoundary(ctx.get(), req, &out)
                     : what == "districts" ? stub_->GetDistricts(ctx.get(), req, &out)
                                           : stub_->GetRoutingRules(ctx.get(), req, &out);
    if (status != nullptr) *status = s;
    return out.data();
  }
  // Runs the reassignment worker's batches until it is done.
  void Reassign(int batch = 200) {
    for (int i = 0; i < 1000; ++i) {
      auto read = service_->ReassignDistricts("bielefeld.de", batch);
      ASSERT_TRUE(read.ok()) << read.status();

      if (*read < batch) return;
    }
    FAIL() << "the reassignment did not end";
  }
};

TEST_F(GeographyTest, BoundaryIsStoredReadAndDecidesWhereReportsMayBe) {
  grpc::Status status;
  GetDoc("boundary", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  // A small square around the centre: inside the old rectangle, the rest no longer is.
  const std::string square =
      R"({"type":"Polygon","coordinates":[[[8.50,52.00],[8.56,52.00],[8.56,52.04],[8.50,52.04],[8.50,52.00]]]})";
  std::string answer;
  ASSERT_TRUE(Put("boundary", square, kAdmin, &answer).ok());
  EXPECT_THAT(answer, HasSubstr(R"("type":"Polygon")"));
  EXPECT_EQ(GetDoc("boundary"), answer);
  EXPECT_EQ(Put("boundary", square, kLights).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  File(kAnna, NewRequest("pothole", 52.0211, 8.5325));
  v1::ServiceRequest out;
  auto ctx = Ctx(kAnna);
  const grpc::Status outside =
      stub_->CreateRequest(ctx.get(), NewRequest("pothole", 52.08, 8.60), &out);
  EXPECT_EQ(outside.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(outside.error_message(), "lat: the location lies outside the city");
  // On the edge counts as inside.
  File(kAnna, NewRequest("pothole", 52.04, 8.53));
}

TEST_F(GeographyTest, InvalidDocumentsAreRefusedNamingTheProblem) {
  const grpc::Status open_ring =
      Put("boundary", R"({"type":"Polygon","coordinates":[[[8,52],[9,52],[9,53],[8,53]]]})");
  EXPECT_EQ(open_ring.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(open_ring.error_message(), HasSubstr("coordinates[0]: the ring is not closed"));
  const grpc::Status rule = Put("rules", R"([{"district":"west"}])");
  EXPECT_EQ(rule.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(rule.error_message(), "rules[0].department: required");
  EXPECT_EQ(Put("districts", "[]").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status status;
  EXPECT_EQ(GetDoc("districts", &status), R"({"type":"FeatureCollection","features":[]})");
  EXPECT_EQ(GetDoc("rules"), "[]");
}

TEST_F(GeographyTest, RequestsGetTheirDistrictAndCanBeListedByIt) {
  ASSERT_TRUE(Put("districts", TwoDistricts()).ok());
  const auto west = File(kAnna, NewRequest("pothole", 52.02, 8.50));
  const auto east = File(kAnna, NewRequest("pothole", 52.02, 8.56));
  const auto nowhere = File(kAnna, NewRequest("pothole", 51.91, 8.50));
  EXPECT_EQ(west.district(), "west");
  EXPECT_EQ(east.district(), "east");
  EXPECT_EQ(nowhere.district(), "");
  v1::ListRequestsRequest list;
  list.set_district("east");
  v1::ListRequestsResponse page;
  auto ctx = Ctx(kAnna);
  ASSERT_TRUE(stub_->ListRequests(ctx.get(), list, &page).ok());
  ASSERT_EQ(page.requests_size(), 1);
  EXPECT_EQ(page.requests(0).request_id(), east.request_id());
}

TEST_F(GeographyTest, TheCategoryDepartmentHoldsUnlessARuleOverridesIt) {
  ASSERT_TRUE(Put("districts", TwoDistricts()).ok());
  // No rules: the category's department.
  EXPECT_EQ(File(kAnna, NewRequest("pothole", 52.02, 8.56)).department(), "roads");
  ASSERT_TRUE(
      Put("rules", R"([{"service_code":"pothole","district":"east","department":"roads-east"},
                               {"district":"west","department":"west-office"}])")
          .ok());
  EXPECT_EQ(File(kAnna, NewRequest("pothole", 52.02, 8.56)).department(), "roads-east");
  EXPECT_EQ(File(kAnna, NewRequest("graffiti", 52.02, 8.50)).department(), "west-office");
  EXPECT_EQ(File(kAnna, NewRequest("graffiti", 52.02, 8.56)).department(), "cleaning");
  EXPECT_THAT(GetDoc("rules"), HasSubstr("roads-east"));
}

TEST_F(GeographyTest, ChangingTheDistrictsReassignsOpenRequestsAndTheirDepartment) {
  ASSERT_TRUE(Put("districts", TwoDistricts(8.55)).ok());
  ASSERT_TRUE(
      Put("rules", R"([{"service_code":"pothole","district":"east","department":"roads-east"}])")
          .ok());
  Reassign();
  // Between 8.50 and 8.55: west now, east after the change.
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    const auto r = File(kAnna, NewRequest("pothole", 52.02, 8.535 + i * 0.001));
    EXPECT_EQ(r.district(), "west");
    EXPECT_EQ(r.department(), "roads");
    ids.push_back(r.request_id());
  }
  // A closed one keeps its district.
  v1::TransitionRequestRequest close;
  close.set_request_id(ids.back());
  close.set_status(v1::REJECTED);
  close.set_public_note("not ours");
  v1::ServiceRequest closed;
  auto ctx = Ctx(Operator("01JROADS000000000000000000", "roads"));
  ASSERT_TRUE(stub_->TransitionRequest(ctx.get(), close, &closed).ok());

  ASSERT_TRUE(Put("districts", TwoDistricts(8.50)).ok());
  // Nothing has moved yet: the worker does it, in batches (3 at a time here), from a cursor in
  // Redis that a restart would go on from.
  EXPECT_EQ(Get(kAnna, ids[0]).district(), "west");
  auto first = service_->ReassignDistricts("bielefeld.de", 3);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 3);
  Reassign(3);
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    const auto r = Get(kAnna, ids[i]);

    EXPECT_EQ(r.district(), "east");
    EXPECT_EQ(r.department(), "roads-east");
  }
  EXPECT_EQ(Get(kAnna, ids.back()).district(), "west");
  // The new department hears of each as of a reroute.
  int rerouted = 0;
  for (const auto& e : Events()) {
    if (e.has_request_rerouted() && e.request_rerouted().to_department() == "roads-east") {
      EXPECT_EQ(e.request_rerouted().from_department(), "roads");
      ++rerouted;
    }
  }
  EXPECT_EQ(rerouted, 6);
  // Listed under the new district.
  v1::ListRequestsRequest list;
  list.set_district("east");
  v1::ListRequestsResponse page;
  auto list_ctx = Ctx(kAnna);
  ASSERT_TRUE(stub_->ListRequests(list_ctx.get(), list, &page).ok());
  EXPECT_EQ(page.requests_size(), 6);
}

}  // namespace
}  // namespace cityhub::requests
