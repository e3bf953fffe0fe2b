#include "services/requests/request_input.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "infra/ids.h"

namespace cityhub::requests {
namespace {

namespace v1 = cityhub::requests::v1;
using cityhub::storage::requests::StoredRequest;
using cityhub::storage::requests::StoredService;

// INVALID_ARGUMENT whose message names `field` first.
::testing::AssertionResult NamesField(const absl::Status& s, const std::string& field) {
  if (s.code() != absl::StatusCode::kInvalidArgument)
    return ::testing::AssertionFailure() << "not INVALID_ARGUMENT: " << s;
  if (!std::string(s.message()).starts_with(field + ":"))
    return ::testing::AssertionFailure() << "does not name " << field << ": " << s;
  return ::testing::AssertionSuccess();
}

const std::string kMedia(64, 'a');

StoredService Category() {
  StoredService s;
  s.set_code("streetlight");
  s.set_department("lighting");
  s.set_sla_hours(48);
  s.set_active(true);
  return s;
}

v1::CreateRequestRequest Valid() {
  v1::CreateRequestRequest req;
  req.set_service_code("streetlight");
  req.set_lat(52.02);
  req.set_long_(8.53);
  req.set_description("dark");
  return req;
}

class BuildRequestTest : public ::testing::Test {
 protected:
  absl::StatusOr<StoredRequest> Build(const v1::CreateRequestRequest& req) {
    return BuildRequest(req, {service_, jurisdiction_, area_, "01J0000000000000000000000A", 1000});
  }
  StoredService service_ = Category();
  std::string jurisdiction_ = "bielefeld.de";
  Bounds area_{51.90, 8.37, 52.12, 8.67};
};

TEST_F(BuildRequestTest, AValidRequestIsBuiltSubmittedWithItsCategorysDepartmentAndDeadline) {
  auto req = Valid();
  req.add_media_ids(kMedia);
  req.set_address("  Jahnplatz 1 ");
  auto r = Build(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id(), "01J0000000000000000000000A");
  EXPECT_EQ(r->jurisdiction_id(), "bielefeld.de");
  EXPECT_EQ(r->status(), v1::SUBMITTED);
  EXPECT_EQ(r->department(), "lighting");
  EXPECT_EQ(r->expected_ms(), 1000 + 48 * 3'600'000);
  EXPECT_EQ(r->address(), "Jahnplatz 1");
  EXPECT_TRUE(r->has_location());
  EXPECT_EQ(r->media_ids_size(), 1);
  EXPECT_TRUE(r->account_id().empty());
}

TEST_F(BuildRequestTest, ALocationOutsideTheAreaOrNoneAtAllIsRefusedNamingLat) {
  auto outside = Valid();
  outside.set_lat(48.1);
  EXPECT_TRUE(NamesField(Build(outside).status(), "lat"));
  auto nowhere = Valid();
  nowhere.clear_lat();
  nowhere.clear_long_();
  EXPECT_TRUE(NamesField(Build(nowhere).status(), "lat"));
  nowhere.set_address("Jahnplatz 1");
  EXPECT_TRUE(Build(nowhere).ok());
  auto nan = Valid();
  nan.set_lat(std::nan(""));
  EXPECT_TRUE(NamesField(Build(nan).status(), "lat"));
}

TEST_F(BuildRequestTest, EveryTextFieldHasItsLimit) {
  struct Limit {
    std::string field;
    size_t max;
    void (v1::CreateRequestRequest::*set)(const std::string&);
  };
  for (const Limit& l : {Limit{"address", 250, &v1::CreateRequestRequest::set_address},
                         Limit{"address_id", 100, &v1::CreateRequestRequest::set_address_id},
                         Limit{"zipcode", 10, &v1::CreateRequestRequest::set_zipcode},
                         Limit{"description", 4000, &v1::CreateRequestRequest::set_description}}) {
    auto req = Valid();
    (req.*l.set)(std::string(l.max, 'x'));
    EXPECT_TRUE(Build(req).ok()) << l.field;
    (req.*l.set)(std::string(l.max + 1, 'x'));
    EXPECT_TRUE(NamesField(Build(req).status(), l.field));
  }
  auto lines = Valid();
  lines.set_description("one\ntwo");
  EXPECT_TRUE(Build(lines).ok());
  lines.set_address("one\ntwo");
  EXPECT_TRUE(NamesField(Build(lines).status(), "address"));
}

TEST_F(BuildRequestTest, AtMostFiveDistinctWellFormedPhotos) {
  auto req = Valid();
  for (char c : std::string("abcde")) req.add_media_ids(std::string(64, c));
  EXPECT_TRUE(Build(req).ok());
  req.add_media_ids(std::string(64, 'f'));
  EXPECT_TRUE(NamesField(Build(req).status(), "media_ids"));
  auto twice = Valid();
  twice.add_media_ids(kMedia);
  twice.add_media_ids(kMedia);
  EXPECT_TRUE(NamesField(Build(twice).status(), "media_ids"));
  auto malformed = Valid();
  malformed.add_media_ids("ABC");
  EXPECT_TRUE(NamesField(Build(malformed).status(), "media_ids"));
}

TEST_F(BuildRequestTest, ContactDetailsAreCheckedFieldByField) {
  auto req = Valid();
  req.mutable_contact()->set_email("anna@example.org");
  req.mutable_contact()->set_phone("+49 521 / 51-0");
  auto r = Build(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->contact().email(), "anna@example.org");
  struct Bad {
    std::string field;
    std::function<void(v1::ContactDetails*)> set;
  };
  for (const Bad& b : std::vector<Bad>{
           {"contact.first_name", [](auto* c) { c->set_first_name(std::string(101, 'x')); }},
           {"contact.last_name", [](auto* c) { c->set_last_name(std::string(101, 'x')); }},
           {"contact.device_id", [](auto* c) { c->set_device_id(std::string(129, 'x')); }},
           {"contact.partner_account_id",
            [](auto* c) { c->set_partner_account_id(std::string(129, 'x')); }},
           {"contact.email", [](auto* c) { c->set_email(std::string(255, 'x')); }},
           {"contact.email", [](auto* c) { c->set_email("no-at-sign"); }},
           {"contact.email", [](auto* c) { c->set_email("a b@example.org"); }},
           {"contact.phone", [](auto* c) { c->set_phone(std::string(33, '1')); }},
           {"contact.phone", [](auto* c) { c->set_phone("call me"); }},
       }) {
    auto bad = Valid();
    b.set(bad.mutable_contact());
    EXPECT_TRUE(NamesField(Build(bad).status(), b.field));
  }
}

TEST(RequestInputTest, MediaUrlsMustBeAbsoluteHttpWithAHostAndPlainAscii) {
  EXPECT_TRUE(CheckMediaUrl("").ok());
  EXPECT_TRUE(CheckMediaUrl("https://img.example/a.jpg").ok());
  EXPECT_TRUE(CheckMediaUrl("http://img.example/a%20b.jpg").ok());
  EXPECT_TRUE(CheckMediaUrl("https://x/" + std::string(2038, 'a')).ok());
  for (const std::string& bad :
       {std::string("ftp://img.example/a.jpg"), std::string("https://"),
        std::string("https:///a.jpg"), std::string("https://img.example/a b.jpg"),
        std::string("https://img.example/\"a\""), "https://x/" + std::string(2039, 'a')}) {
    EXPECT_TRUE(NamesField(CheckMediaUrl(bad), "media_url")) << bad;
  }
}

TEST(RequestInputTest, IdempotencyKeysArePrintableAsciiUpTo128) {
  EXPECT_TRUE(CheckIdempotencyKey("").ok());
  EXPECT_TRUE(CheckIdempotencyKey(std::string(128, 'k')).ok());
  EXPECT_TRUE(NamesField(CheckIdempotencyKey(std::string(129, 'k')), "Idempotency-Key"));
  EXPECT_TRUE(NamesField(CheckIdempotencyKey("with space"), "Idempotency-Key"));
}

TEST(RequestInputTest, RequestIdsAreUlids) {
  EXPECT_TRUE(CheckRequestId("01J0000000000000000000000A").ok());
  EXPECT_TRUE(NamesField(CheckRequestId("42"), "request_id"));
}

TEST(RequestInputTest, HostOfDropsThePortOfGrpcPeers) {
  EXPECT_EQ(HostOf("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(HostOf("ipv4:203.0.113.7:51234"), "203.0.113.7");
  EXPECT_EQ(HostOf("ipv6:[::1]:51234"), "[::1]");
}

TEST(ListFilterTest, ARadiusNeedsAPointAndStaysWithin20Km) {
  v1::ListRequestsRequest req;
  req.set_lat(52.02);
  EXPECT_TRUE(NamesField(ParseListFilter(req).status(), "radius_m"));
  req.set_long_(8.53);
  req.set_radius_m(20'000);
  auto f = ParseListFilter(req);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->near);
  req.set_radius_m(20'001);
  EXPECT_TRUE(NamesField(ParseListFilter(req).status(), "radius_m"));
  req.set_radius_m(0);
  EXPECT_TRUE(NamesField(ParseListFilter(req).status(), "radius_m"));
}

TEST(ListFilterTest, ABoxIsWholeOrderedAtMost40KmAndNotWithARadius) {
  v1::ListRequestsRequest req;
  req.set_min_lat(52.0);
  EXPECT_TRUE(NamesField(ParseListFilter(req).status(), "min_lat"));
  req.set_min_long(8.5);
  req.set_max_lat(52.1);
  req.set_max_long(8.6);
  auto f = ParseListFilter(req);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->box);
  auto flipped = req;
  flipped.set_max_long(8.4);
  EXPECT_TRUE(NamesField(ParseListFilter(flipped).status(), "min_long"));
  auto huge = req;
  huge.set_max_lat(53.0);
  EXPECT_TRUE(NamesField(ParseListFilter(huge).status(), "max_lat"));
  auto both = req;
  both.set_lat(52.02);
  both.set_long_(8.53);
  both.set_radius_m(100);
  EXPECT_TRUE(NamesField(ParseListFilter(both).status(), "min_lat"));
}

TEST(ListFilterTest, CodesStatusesTimesAndIdsHaveTheirLimits) {
  v1::ListRequestsRequest codes;
  for (int i = 0; i < 21; ++i) codes.add_service_code("c" + std::to_string(i));
  EXPECT_TRUE(NamesField(ParseListFilter(codes).status(), "service_code"));
  v1::ListRequestsRequest status;
  status.add_status(v1::STATUS_UNSPECIFIED);
  EXPECT_TRUE(NamesField(ParseListFilter(status).status(), "status"));
  v1::ListRequestsRequest times;
  times.mutable_since()->set_seconds(200);
  times.mutable_until()->set_seconds(100);
  EXPECT_TRUE(NamesField(ParseListFilter(times).status(), "since"));
  v1::ListRequestsRequest token;
  token.set_page_token("not-a-ulid");
  EXPECT_FALSE(ParseListFilter(token).ok());
  v1::ListRequestsRequest ids;
  for (int i = 0; i < 101; ++i) ids.add_request_ids("01J0000000000000000000000A");
  EXPECT_TRUE(NamesField(ParseListFilter(ids).status(), "request_ids"));
  ids.clear_request_ids();
  ids.add_request_ids("x");
  EXPECT_TRUE(NamesField(ParseListFilter(ids).status(), "request_ids"));
}

TEST(ListFilterTest, MatchesByCategoryStatusTimeCursorAndPlace) {
  ListFilter f;
  f.service_codes = {"pothole"};
  f.near = true;
  f.lat = 52.02;
  f.lon = 8.53;
  f.radius_m = 100;
  StoredRequest r;
  r.set_id("01J0000000000000000000000A");
  r.set_service_code("pothole");
  r.set_has_location(true);
  r.set_lat(52.02);
  r.set_long_(8.53);
  r.set_requested_ms(1000);
  EXPECT_TRUE(f.Matches(r));
  r.set_lat(52.03);  // about 1.1 km north
  EXPECT_FALSE(f.Matches(r));
  r.set_lat(52.02);
  r.set_service_code("graffiti");
  EXPECT_FALSE(f.Matches(r));
  r.set_service_code("pothole");
  f.before_id = r.id();
  EXPECT_FALSE(f.Matches(r));
}

}  // namespace
}  // namespace cityhub::requests
