// Near and bounding-box queries over 10 000 random requests equal a brute-force filter.
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "infra/ids.h"
#include "services/requests/geo.h"
#include "services/requests/requests_test_fixture.h"

namespace cityhub::requests {
namespace {

namespace v1 = cityhub::requests::v1;
using namespace std::chrono_literals;

class RequestsGeoTest : public RequestsServiceTest {
 protected:
  // Stores `n` requests at random points of the city straight through the store (filing them
  // over gRPC would only slow the test down; the query path is what is under test).
  void Seed(int n) {
    std::mt19937_64 rng(20261125);
    std::uniform_real_distribution<double> lat(51.95, 52.08), lon(8.43, 8.62);
    for (int i = 0; i < n; ++i) {
      clock_->Advance(1ms);
      StoredRequest r;
      r.set_id(infra::NewUlid(*clock_));
      r.set_jurisdiction_id("bielefeld.de");
      r.set_service_code(i % 4 ? "pothole" : "streetlight");
      r.set_department(i % 4 ? "roads" : "street-lighting");
      r.set_status(v1::SUBMITTED);
      r.set_has_location(true);
      r.set_lat(lat(rng));
      r.set_long_(lon(rng));
      r.set_requested_ms(infra::UnixMillis(clock_->Now()));
      ASSERT_TRUE(requests_->Create(r, {}, "", 0s).ok());
      points_.push_back(r);
    }
  }

  // Every id a list query returns, following page tokens.
  std::set<std::string> All(v1::ListRequestsRequest req) {
    std::set<std::string> out;
    req.set_page_size(100);
    for (int pages = 0; pages < 200; ++pages) {
      v1::ListRequestsResponse page;
      const grpc::Status s = stub_->ListRequests(Ctx().get(), req, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      for (const auto& r : page.requests()) EXPECT_TRUE(out.insert(r.request_id()).second);
      if (page.next_page_token().empty()) break;
      req.set_page_token(page.next_page_token());
    }
    return out;
  }

  std::vector<StoredRequest> points_;
};

TEST_F(RequestsGeoTest, NearAndBoxQueriesEqualABruteForceFilter) {
  Seed(10000);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(51.96, 52.07), lon(8.45, 8.60), radius(50, 1500);
  for (int q = 0; q < 25; ++q) {
    v1::ListRequestsRequest near;
    near.set_lat(lat(rng));
    near.set_long_(lon(rng));
    near.set_radius_m(radius(rng));
    std::set<std::string> expected;
    for (const auto& p : points_) {
      if (DistanceM(near.lat(), near.long_(), p.lat(), p.long_()) <= near.radius_m()) expected.insert(p.id());
    }
    EXPECT_EQ(All(near), expected) << "near query " << q;

    v1::ListRequestsRequest box;
    box.set_min_lat(lat(rng));
    box.set_min_long(lon(rng));
    box.set_max_lat(box.min_lat() + 0.01);
    box.set_max_long(box.min_long() + 0.015);
    std::set<std::string> in_box;
    for (const auto& p : points_) {
      if (p.lat() >= box.min_lat() && p.lat() <= box.max_lat() && p.long_() >= box.min_long() &&
          p.long_() <= box.max_long()) {
        in_box.insert(p.id());
      }
    }
    EXPECT_EQ(All(box), in_box) << "box query " << q;

    // Filters combine with geo: one category only.
    near.add_service_code("streetlight");
    std::set<std::string> lights;
    for (const auto& p : points_) {
      if (p.service_code() == "streetlight" &&
          DistanceM(near.lat(), near.long_(), p.lat(), p.long_()) <= near.radius_m()) {
        lights.insert(p.id());
      }
    }
    EXPECT_EQ(All(near), lights) << "near+category query " << q;
  }
}

}  // namespace
}  // namespace cityhub::requests
