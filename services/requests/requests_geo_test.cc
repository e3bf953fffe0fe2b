// Near and bounding-box queries over many random requests equal a brute-force filter, newest
// first, across pages, also when an area holds more requests than the candidate cap.
#include <algorithm>
#include <functional>
#include <optional>
#include <random>
#include <set>

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "infra/ids.h"
#include "services/requests/geo.h"
#include "services/requests/keys.h"
#include "services/requests/requests_test_fixture.h"

namespace cityhub::requests {
namespace {

namespace v1 = cityhub::requests::v1;
using google::protobuf::util::TimeUtil;
using namespace std::chrono_literals;

class RequestsGeoTest : public RequestsServiceTest {
 protected:
  // Stores `n` requests at random points of the city straight through the store (filing them
  // over gRPC would only slow the test down; the query path is what is under test), one every
  // `step`, so that they spread over many weeks of the weekly geo index. One in four is a
  // streetlight, one in three is resolved.
  void Seed(int n, std::chrono::milliseconds step = 10min) {
    std::mt19937_64 rng(20261125);
    std::uniform_real_distribution<double> lat(51.95, 52.08), lon(8.45, 8.62);
    for (int i = 0; i < n; ++i) {
      clock_->Advance(step);
      Add(lat(rng), lon(rng), i);
    }
  }

  // One request at a point, filed at `when` (the clock's time unless given).
  void Add(double lat, double lon, int i = 1, std::optional<infra::Clock::time_point> when = {}) {
    const auto at = when.value_or(clock_->Now());
    StoredRequest r;
    r.set_id(infra::NewUlid(at));
    r.set_jurisdiction_id("bielefeld.de");
    r.set_service_code(i % 4 ? "pothole" : "streetlight");
    r.set_department(i % 4 ? "roads" : "street-lighting");
    r.set_status(i % 3 ? v1::SUBMITTED : v1::RESOLVED);
    r.set_has_location(true);
    r.set_lat(lat);
    r.set_long_(lon);
    r.set_requested_ms(infra::UnixMillis(at));
    ASSERT_TRUE(requests_->Create(r, {}, "", 0s).ok());
    points_.push_back(r);
  }

  // Every id a list query returns, in the order returned, following page tokens; each page
  // holds at most `page_size`.
  std::vector<std::string> All(v1::ListRequestsRequest req, int page_size = 100) {
    std::vector<std::string> out;
    req.set_page_size(page_size);
    for (int pages = 0; pages < 5000; ++pages) {
      v1::ListRequestsResponse page;
      const grpc::Status s = stub_->ListRequests(Ctx().get(), req, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      EXPECT_LE(page.requests_size(), page_size);
      for (const auto& r : page.requests()) out.push_back(r.request_id());
      if (page.next_page_token().empty()) return out;
      req.set_page_token(page.next_page_token());
    }
    ADD_FAILURE() << "no last page";
    return out;
  }

  // The seeded ids for which `keep` holds, newest first (ids are ULIDs).
  std::vector<std::string> Expected(const std::function<bool(const StoredRequest&)>& keep) const {
    std::vector<std::string> out;
    for (const auto& p : points_) {
      if (keep(p)) out.push_back(p.id());
    }
    std::sort(out.begin(), out.end(), std::greater<>());
    return out;
  }

  static std::function<bool(const StoredRequest&)> InRadius(const v1::ListRequestsRequest& q) {
    return [q](const StoredRequest& p) {
      return DistanceM(q.lat(), q.long_(), p.lat(), p.long_()) <= q.radius_m();
    };
  }
  static std::function<bool(const StoredRequest&)> InBox(const v1::ListRequestsRequest& q) {
    return [q](const StoredRequest& p) {
      return p.lat() >= q.min_lat() && p.lat() <= q.max_lat() && p.long_() >= q.min_long() &&
             p.long_() <= q.max_long();
    };
  }

  // A near query around the city centre.
  static v1::ListRequestsRequest AroundTheCentre(double radius_m) {
    v1::ListRequestsRequest near;
    near.set_lat(52.015);
    near.set_long_(8.525);
    near.set_radius_m(radius_m);
    return near;
  }

  // How many weeks of the geo index the seeded requests fill.
  size_t Weeks() const {
    std::set<int64_t> weeks;
    for (const auto& p : points_) weeks.insert(GeoWeekOf(p.requested_ms()));
    return weeks.size();
  }

  std::vector<StoredRequest> points_;
};

TEST_F(RequestsGeoTest, NearAndBoxQueriesEqualABruteForceFilter) {
  Seed(10000);
  ASSERT_GE(Weeks(), 9u);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(51.96, 52.07), lon(8.45, 8.60), radius(50, 1500);
  for (int q = 0; q < 25; ++q) {
    v1::ListRequestsRequest near;
    near.set_lat(lat(rng));
    near.set_long_(lon(rng));
    near.set_radius_m(radius(rng));
    EXPECT_EQ(All(near), Expected(InRadius(near))) << "near query " << q;

    v1::ListRequestsRequest box;
    box.set_min_lat(lat(rng));
    box.set_min_long(lon(rng));
    box.set_max_lat(box.min_lat() + 0.01);
    box.set_max_long(box.min_long() + 0.015);
    EXPECT_EQ(All(box), Expected(InBox(box))) << "box query " << q;

    // Filters combine with geo: one category only.
    near.add_service_code("streetlight");
    const auto in_radius = InRadius(near);
    EXPECT_EQ(All(near), Expected([&](const StoredRequest& p) {
                return p.service_code() == "streetlight" && in_radius(p);
              }))
        << "near+category query " << q;

    // A time window picks the weeks to search; its edges fall inside weeks.
    const int64_t since = points_[1000 + q * 200].requested_ms();
    const int64_t until = points_[4000 + q * 150].requested_ms() + 1;
    *box.mutable_since() = TimeUtil::MillisecondsToTimestamp(since);
    *box.mutable_until() = TimeUtil::MillisecondsToTimestamp(until);
    const auto in_box = InBox(box);
    EXPECT_EQ(All(box, 7), Expected([&](const StoredRequest& p) {
                return p.requested_ms() >= since && p.requested_ms() < until && in_box(p);
              }))
        << "box in a time window, query " << q;
  }
}

// Pages near a point end where the requests end, however many older weeks hold none nearby,
// and a tiny radius around one request finds it whatever its week.
TEST_F(RequestsGeoTest, SparseAreasAreSearchedThroughEveryWeek) {
  Seed(3000, 1h);
  ASSERT_GE(Weeks(), 17u);
  for (size_t i = 0; i < points_.size(); i += 149) {
    v1::ListRequestsRequest near;
    near.set_lat(points_[i].lat());
    near.set_long_(points_[i].long_());
    near.set_radius_m(5);
    EXPECT_EQ(All(near, 1), Expected(InRadius(near))) << "around request " << i;
  }
  v1::ListRequestsRequest outside;  // inside the city's bounds, where nothing was filed
  outside.set_lat(51.93);
  outside.set_long_(8.40);
  outside.set_radius_m(200);
  EXPECT_TRUE(All(outside).empty());
}

// A page that the two newest weeks fill (the usual density of a city) costs two round trips:
// the list of weeks with the searches of both weeks, then one read of the records.
TEST_F(RequestsGeoTest, APageFromTheTwoNewestWeeksIsTwoRoundTrips) {
  const int64_t week = GeoWeekOf(infra::UnixMillis(clock_->Now()));
  const infra::Clock::time_point start{std::chrono::milliseconds(week * kGeoWeekMs)};
  clock_->Set(start + 72h);
  for (int i = 1; i <= 12; ++i) {
    Add(52.015 + 0.0001 * (i % 7), 8.525 + 0.0001 * (i % 5), i, start + 72h - i * 10min);
    Add(52.015 - 0.0001 * (i % 7), 8.525 - 0.0001 * (i % 5), i, start - i * 10min);
  }
  ASSERT_TRUE(client().Command({"CONFIG", "RESETSTAT"}).ok());
  v1::ListRequestsRequest near = AroundTheCentre(300);
  near.set_page_size(20);
  v1::ListRequestsResponse page;
  const grpc::Status s = stub_->ListRequests(Ctx().get(), near, &page);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::vector<std::string> ids;
  for (const auto& r : page.requests()) ids.push_back(r.request_id());
  std::vector<std::string> expected = Expected(InRadius(near));
  ASSERT_EQ(expected.size(), 24u);
  expected.resize(20);
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(page.next_page_token(), expected.back());

  std::map<std::string, int> calls = CommandCalls();
  EXPECT_EQ(calls["zrevrangebyscore"], 1);
  EXPECT_EQ(calls["geosearch"], 2);  // this week and the one before, in the same round trip
  EXPECT_EQ(calls["mget"], 1);
}

// Data of the single geo set of earlier versions is moved into the weekly sets once; the move
// can run again and finds nothing left.
TEST_F(RequestsGeoTest, TheOldGeoIndexIsMigratedIntoWeeks) {
  Seed(1500, 30min);
  ASSERT_GE(Weeks(), 4u);
  // Put the data into the old layout: one GEO set, no weekly sets.
  std::set<std::string> weekly = {keys::GeoWeeks("bielefeld.de")};  // the list of weeks
  for (const auto& p : points_)
    weekly.insert(keys::GeoWeek("bielefeld.de", GeoWeekOf(p.requested_ms())));
  for (const auto& key : weekly) ASSERT_EQ(client().Command({"DEL", key})->integer(), 1) << key;
  for (const auto& p : points_) {
    ASSERT_TRUE(client()
                    .Command({"GEOADD", keys::OldGeo("bielefeld.de"), std::to_string(p.long_()),
                              std::to_string(p.lat()), p.id()})
                    .ok());
  }
  const v1::ListRequestsRequest near = AroundTheCentre(2500);
  const auto expected = Expected(InRadius(near));
  ASSERT_GT(expected.size(), 100u);
  EXPECT_TRUE(All(near).empty());

  auto moved = requests_->MigrateGeoIndex("bielefeld.de", 1200);  // in steps, as the service does
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(*moved, 1200);
  moved = requests_->MigrateGeoIndex("bielefeld.de", 1200);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(*moved, 300);
  EXPECT_EQ(All(near, 40), expected);
  EXPECT_EQ(client().Command({"EXISTS", keys::OldGeo("bielefeld.de")})->integer(), 0);
  moved = requests_->MigrateGeoIndex("bielefeld.de", 1200);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 0);

  // A replica of the earlier version, during a rolling update, still writes the old set; the
  // next run moves that too.
  clock_->Advance(1h);
  Add(52.015, 8.525);
  const StoredRequest late = points_.back();
  ASSERT_TRUE(client()
                  .Command({"ZREM", keys::GeoWeek("bielefeld.de", GeoWeekOf(late.requested_ms())),
                            late.id()})
                  .ok());
  ASSERT_TRUE(client()
                  .Command({"GEOADD", keys::OldGeo("bielefeld.de"), std::to_string(late.long_()),
                            std::to_string(late.lat()), late.id()})
                  .ok());
  EXPECT_EQ(All(near, 40), expected);
  moved = requests_->MigrateGeoIndex("bielefeld.de", 1200);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 1);
  EXPECT_EQ(All(near, 40), Expected(InRadius(near)));
  EXPECT_EQ(All(near, 40).front(), late.id());
}

// A replica whose clock runs ahead may file a request in next week's set; this server, still
// in this week, lists it first all the same, and pages on from it.
TEST_F(RequestsGeoTest, ARequestFiledInNextWeekByAClockAheadIsListedFirst) {
  Seed(300, 30min);
  const auto ahead = clock_->Now() + std::chrono::hours(24 * 7);
  ASSERT_GT(GeoWeekOf(infra::UnixMillis(ahead)), GeoWeekOf(infra::UnixMillis(clock_->Now())));
  Add(52.015, 8.525, 1, ahead);
  const v1::ListRequestsRequest near = AroundTheCentre(3000);
  const auto expected = Expected(InRadius(near));
  ASSERT_GT(expected.size(), 5u);
  ASSERT_EQ(expected.front(), points_.back().id());
  EXPECT_EQ(All(near, 3), expected);
}

// An area holding the whole city is listed whole, newest first (with the default cap of
// 5 000 and 1 000 requests a week, through the weekly sets; the small-cap suite below crosses
// into the walk of the time index).
TEST_F(RequestsGeoTest, AWholeCitySearchListsEveryRequestNewestFirst) {
  Seed(10000);
  const v1::ListRequestsRequest near = AroundTheCentre(15000);
  const std::vector<std::string> everything = Expected([](const StoredRequest&) { return true; });
  ASSERT_EQ(Expected(InRadius(near)), everything);
  EXPECT_EQ(All(near), everything);

  v1::ListRequestsRequest box;
  box.set_min_lat(51.94);
  box.set_min_long(8.42);
  box.set_max_lat(52.09);
  box.set_max_long(8.63);
  ASSERT_EQ(Expected(InBox(box)), everything);
  EXPECT_EQ(All(box, 37), everything);

  box.add_status(v1::RESOLVED);
  EXPECT_EQ(All(box), Expected([](const StoredRequest& p) { return p.status() == v1::RESOLVED; }));
}

// The same with a cap small enough to cross it in every way a list can be filtered.
class RequestsGeoSmallCapTest : public RequestsGeoTest {
 protected:
  static constexpr int kCap = 50;
  void SetUp() override {
    settings_.max_geo_candidates = kCap;
    RequestsGeoTest::SetUp();
  }
};

TEST_F(RequestsGeoSmallCapTest, ListsBeyondTheCandidateCapAreCompleteAndNewestFirst) {
  Seed(2000, 1h);
  ASSERT_GE(Weeks(), 11u);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> lat(51.97, 52.06), lon(8.46, 8.59), radius(300, 6000),
      side(0.005, 0.08);
  std::uniform_int_distribution<int> page_size(5, 60);
  const int64_t first_ms = points_.front().requested_ms();
  size_t over_cap = 0, under_cap = 0;
  for (int q = 0; q < 30; ++q) {
    SCOPED_TRACE(q);
    v1::ListRequestsRequest near;
    near.set_lat(lat(rng));
    near.set_long_(lon(rng));
    near.set_radius_m(radius(rng));
    const auto in_radius = InRadius(near);
    const auto expected_near = Expected(in_radius);
    (expected_near.size() > kCap ? over_cap : under_cap)++;
    EXPECT_EQ(All(near, page_size(rng)), expected_near) << "near, radius " << near.radius_m();

    v1::ListRequestsRequest box;
    box.set_min_lat(lat(rng));
    box.set_min_long(lon(rng));
    box.set_max_lat(box.min_lat() + side(rng));
    box.set_max_long(box.min_long() + side(rng));
    const auto expected_box = Expected(InBox(box));
    (expected_box.size() > kCap ? over_cap : under_cap)++;
    EXPECT_EQ(All(box, page_size(rng)), expected_box) << "box";

    // With a category, a status and a time window.
    near.add_service_code("pothole");
    near.add_status(v1::RESOLVED);
    const int64_t since = first_ms + 300 * 3'600'000LL, until = first_ms + 1700 * 3'600'000LL;
    *near.mutable_since() = TimeUtil::MillisecondsToTimestamp(since);
    *near.mutable_until() = TimeUtil::MillisecondsToTimestamp(until);
    EXPECT_EQ(All(near, page_size(rng)), Expected([&](const StoredRequest& p) {
                return p.service_code() == "pothole" && p.status() == v1::RESOLVED &&
                       p.requested_ms() >= since && p.requested_ms() < until && in_radius(p);
              }))
        << "filtered near, radius " << near.radius_m();
  }
  // Both sides of the cap were exercised.
  EXPECT_GE(over_cap, 20u);
  EXPECT_GE(under_cap, 5u);
}

// A page that the newest week only starts: the older weeks hold more than the cap, so the page
// goes on from the time index, after what the weekly sets gave, with nothing lost or doubled.
TEST_F(RequestsGeoSmallCapTest, APageStartedFromTheWeeksEndsFromTheTimeIndex) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> jitter(-0.002, 0.002);
  for (int i = 0; i < 3 * kCap; ++i) {  // last week: many around the point
    clock_->Advance(1min);
    Add(52.015 + jitter(rng), 8.525 + jitter(rng), i);
  }
  clock_->Advance(std::chrono::hours(24 * 8));
  for (int i = 0; i < 10; ++i) {  // this week: a few
    clock_->Advance(1min);
    Add(52.015 + jitter(rng), 8.525 + jitter(rng), i);
  }
  ASSERT_EQ(Weeks(), 2u);
  const v1::ListRequestsRequest near = AroundTheCentre(1000);
  const auto expected = Expected(InRadius(near));
  ASSERT_EQ(expected.size(), static_cast<size_t>(3 * kCap + 10));
  EXPECT_EQ(All(near, 30), expected);
  EXPECT_EQ(All(near, 7), expected);
}

}  // namespace
}  // namespace cityhub::requests
