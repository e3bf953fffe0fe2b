#include "services/requests/export_format.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cityhub::requests {
namespace {

using google::protobuf::util::TimeUtil;

std::string Field(std::string_view value) {
  std::string out;
  AppendCsvField(value, &out);
  return out;
}

TEST(ExportFormat, CsvFieldsAreQuotedOnlyWhenTheyHoldCommaQuoteOrLineBreak) {
  EXPECT_EQ(Field("plain text"), "plain text");
  EXPECT_EQ(Field(""), "");
  EXPECT_EQ(Field("a,b"), "\"a,b\"");
  EXPECT_EQ(Field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(Field("one\ntwo"), "\"one\ntwo\"");
  EXPECT_EQ(Field("one\r\ntwo"), "\"one\r\ntwo\"");
  EXPECT_EQ(Field("Straße – Ü"), "Straße – Ü");
}

TEST(ExportFormat, CsvRowsEndInCrLfWithTheLicenceLast) {
  v1::ServiceRequest r;
  r.set_request_id("01JABCDEFGHJKMNPQRSTVWXYZ0");
  r.set_service_code("pothole");
  r.set_status(v1::ACKNOWLEDGED);
  r.set_description("a \"b\", c");
  r.set_lat(52.5);
  r.set_long_(8.25);
  *r.mutable_requested_at() = TimeUtil::MillisecondsToTimestamp(1'700'000'000'000);
  std::string out;
  AppendExportRecord(ExportFormat::kCsv, r, {"", "dl-de/by-2-0", "", 0}, true, &out);
  EXPECT_EQ(out,
            "01JABCDEFGHJKMNPQRSTVWXYZ0,pothole,,ACKNOWLEDGED,,\"a \"\"b\"\", c\",52.5,8.25,,,,,"
            "2023-11-14T22:13:20Z,,,,,dl-de/by-2-0\r\n");
  const std::string head = ExportHead(ExportFormat::kCsv, ExportMeta{});
  EXPECT_EQ(head.substr(0, 11), "request_id,");
  EXPECT_EQ(head.substr(head.size() - 10), ",license\r\n");
}

TEST(ExportFormat, GeoJsonIsACollectionWithLongitudeFirstAndNullGeometryWithoutPosition) {
  v1::ServiceRequest located, unlocated;
  located.set_request_id("A");
  located.set_lat(52.0);
  located.set_long_(8.5);
  unlocated.set_request_id("B");
  unlocated.set_address("Niederwall 23");
  const ExportMeta meta{"bielefeld.de", "dl-de/by-2-0", "01JABCDEFGHJKMNPQRSTVWXYZ0", 0};
  std::string out = ExportHead(ExportFormat::kGeoJson, meta);
  AppendExportRecord(ExportFormat::kGeoJson, located, meta, true, &out);
  AppendExportRecord(ExportFormat::kGeoJson, unlocated, meta, false, &out);
  out += ExportTail(ExportFormat::kGeoJson);
  const auto doc = nlohmann::json::parse(out);
  EXPECT_EQ(doc["type"], "FeatureCollection");
  EXPECT_EQ(doc["license"], "dl-de/by-2-0");
  EXPECT_EQ(doc["next_page_token"], "01JABCDEFGHJKMNPQRSTVWXYZ0");
  ASSERT_EQ(doc["features"].size(), 2u);
  EXPECT_EQ(doc["features"][0]["geometry"]["coordinates"], nlohmann::json::array({8.5, 52.0}));
  EXPECT_TRUE(doc["features"][1]["geometry"].is_null());
  EXPECT_EQ(doc["features"][1]["properties"]["address"], "Niederwall 23");
}

TEST(ExportFormat, TheFileNameCarriesTheUtcDate) {
  EXPECT_EQ(ExportContentDisposition(ExportFormat::kCsv, 1'700'000'000'000),
            "attachment; filename=\"cityhub-requests-2023-11-14.csv\"");
  EXPECT_EQ(ExportContentDisposition(ExportFormat::kGeoJson, 0),
            "attachment; filename=\"cityhub-requests-1970-01-01.geojson\"");
}

}  // namespace
}  // namespace cityhub::requests
