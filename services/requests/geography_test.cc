#include "services/requests/geography.h"

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/harness/process.h"

namespace cityhub::requests {
namespace {

std::string ReadSource(const std::string& path) {
  std::ifstream in(cityhub::testing::SourcePath(path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The seeds of the local stack hold the centre and every position the tests and the web
// app's tests file reports at, each in one of the ten districts.
TEST(GeographySeeds, HoldTheCentreAndTheTestPositions) {
  auto boundary =
      Area::Parse(ReadSource("services/requests/data/bielefeld-boundary.geojson"), "boundary");
  ASSERT_TRUE(boundary.ok()) << boundary.status();
  auto districts = ParseDistricts(ReadSource("services/requests/data/bielefeld-districts.geojson"));
  ASSERT_TRUE(districts.ok()) << districts.status();
  ASSERT_EQ(districts->size(), 10u);
  GeographySnapshot geo;
  geo.districts = *districts;
  EXPECT_EQ(geo.DistrictOf(52.0216, 8.5325), "mitte");
  // tests/, clients/web/test (uniqueSpot: 52.00-52.04 x 8.50-8.56), tests/fault (52.00-52.05 x
  // 8.50-8.55), the wrk stack script and schemathesis hooks (51.96-52.07 x 8.46-8.60).
  const std::pair<double, double> points[] = {
      {52.0211, 8.5325}, {52.02, 8.53},     {52.0233, 8.5344}, {52.0307, 8.5405}, {52.0306, 8.5403},
      {52.0199, 8.5311}, {52.0205, 8.5315}, {52.0302, 8.5311}, {52.03, 8.54},     {52.01, 8.51},
      {52.0216, 8.5347}, {52.0, 8.5},       {52.04, 8.56},     {52.0, 8.56},      {52.04, 8.5},
      {52.05, 8.55},     {52.0495, 8.548},  {51.96, 8.46},     {51.96, 8.60},     {52.07, 8.46},
      {52.07, 8.60}};
  for (const auto& [lat, lon] : points) {
    EXPECT_TRUE(boundary->Contains(lat, lon)) << lat << "," << lon;
    EXPECT_NE(geo.DistrictOf(lat, lon), "") << lat << "," << lon;
  }
  EXPECT_FALSE(boundary->Contains(52.52, 13.40));  // Berlin
  EXPECT_FALSE(boundary->Contains(51.90, 8.50));
}

TEST(RoutingRules, TheMostSpecificRuleDecides) {
  auto rules = ParseRoutingRules(R"([
      {"service_code": "pothole", "department": "roads-all"},
      {"district": "mitte", "department": "mitte-office"},
      {"service_code": "pothole", "district": "mitte", "department": "roads-mitte"}])");
  ASSERT_TRUE(rules.ok()) << rules.status();
  GeographySnapshot geo;
  geo.rules = *rules;
  EXPECT_EQ(geo.DepartmentFor("pothole", "mitte", "roads"), "roads-mitte");
  EXPECT_EQ(geo.DepartmentFor("graffiti", "mitte", "cleaning"), "mitte-office");
  EXPECT_EQ(geo.DepartmentFor("pothole", "senne", "roads"), "roads-all");
  EXPECT_EQ(geo.DepartmentFor("pothole", "", "roads"), "roads-all");
  EXPECT_EQ(geo.DepartmentFor("graffiti", "senne", "cleaning"), "cleaning");
  EXPECT_EQ(RoutingRulesToJson(*rules),
            R"([{"department":"roads-all","district":"","service_code":"pothole"},)"
            R"({"department":"mitte-office","district":"mitte","service_code":""},)"
            R"({"department":"roads-mitte","district":"mitte","service_code":"pothole"}])");
}

void ExpectRulesRefused(const std::string& text, const std::string& message) {
  auto rules = ParseRoutingRules(text);
  ASSERT_FALSE(rules.ok()) << text;
  EXPECT_EQ(rules.status().message(), message);
}

TEST(RoutingRules, RefusesBadRulesNamingTheRule) {
  ExpectRulesRefused("{}", "rules: a JSON array of rules is required");
  ExpectRulesRefused("[", "rules: not valid JSON");
  ExpectRulesRefused(R"([{"district":"a","department":"x"},{"district":"b"}])",
                     "rules[1].department: required");
  ExpectRulesRefused(R"([{"department":"x"}])",
                     "rules[0].service_code: a rule names a service_code, a district or both");
  ExpectRulesRefused(R"([{"district":"a","department":"X Y"}])",
                     "rules[0].department: 1-64 characters a-z, 0-9, _ or -");
  ExpectRulesRefused(R"([{"district":"a","department":"x","extra":1}])",
                     "rules[0].extra: unknown field");
  ExpectRulesRefused(R"([{"district":"a","department":"x"},{"district":"a","department":"y"}])",
                     "rules[1]: an earlier rule has the same service_code and district");
  std::string many = "[";
  for (int i = 0; i < 1001; ++i)
    many += std::string(i ? "," : "") + R"({"district":"d)" + std::to_string(i) +
            R"(","department":"x"})";
  ExpectRulesRefused(many + "]", "rules: at most 1000 rules");
}

TEST(Districts, RefuseBadFeaturesNamingTheField) {
  const std::string square = R"({"type":"Polygon","coordinates":[[[8,52],[9,52],[9,53],[8,52]]]})";
  auto feature = [&](const std::string& props) {
    return R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":)" + props +
           R"(,"geometry":)" + square + "}]}";
  };
  EXPECT_TRUE(ParseDistricts(feature(R"({"district_id":"a","name_de":"A","name_en":"A"})")).ok());
  EXPECT_EQ(ParseDistricts(feature(R"({"district_id":"A!","name_de":"A","name_en":"A"})"))
                .status()
                .message(),
            "features[0].properties.district_id: 1-64 characters a-z, 0-9, _ or -");
  EXPECT_EQ(ParseDistricts(feature(R"({"district_id":"a","name_en":"A"})")).status().message(),
            "features[0].properties.name_de: required, a text");
  // Hostile nesting is refused before parsing (a string's brackets do not count).
  EXPECT_EQ(ParseDistricts(std::string(40, '[') + std::string(40, ']')).status().message(),
            "districts: nested too deeply");
  EXPECT_EQ(ParseDistricts("[\"" + std::string(40, '[') + "\"]").status().message(),
            "type: a GeoJSON FeatureCollection is required");
  EXPECT_EQ(
      ParseDistricts(R"({"type":"FeatureCollection","features":[{"type":"Feature",)"
                     R"("properties":{"district_id":"a","name_de":"A","name_en":"A"},)"
                     R"("geometry":{"type":"Polygon","coordinates":[[[8,52],[9,52],[9,53]]]}}]})")
          .status()
          .message(),
      "features[0].geometry.coordinates[0]: a ring needs at least 4 positions");
  EXPECT_EQ(ParseDistricts(R"({"type":"Feature"})").status().message(),
            "type: a GeoJSON FeatureCollection is required");
}

}  // namespace
}  // namespace cityhub::requests
