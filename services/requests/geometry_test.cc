#include "services/requests/geometry.h"

#include <cmath>
#include <numbers>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "infra/strings.h"
#include "nlohmann/json.hpp"

namespace cityhub::requests {
namespace {

using nlohmann::json;

// A star-shaped ring around (clon, clat): simple by construction (radii at increasing angles).
json StarRing(std::mt19937_64& rng, double clon, double clat, double r_min, double r_max, int n) {
  std::uniform_real_distribution<double> radius(r_min, r_max);
  json ring = json::array();
  for (int i = 0; i < n; ++i) {
    const double angle = 2 * std::numbers::pi * i / n;
    const double r = radius(rng);
    ring.push_back({clon + r * std::cos(angle), clat + r * std::sin(angle)});
  }
  ring.push_back(ring[0]);
  return ring;
}

// Ray casting over one ring, no index, no tricks.
bool InRing(const Area::Ring& ring, GeoPoint p) {
  bool inside = false;
  for (size_t i = 0, j = ring.size() - 2; i + 1 < ring.size(); j = i++) {
    const GeoPoint a = ring[i], b = ring[j];
    if ((a.lat > p.lat) != (b.lat > p.lat) &&
        p.lon < (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon) {
      inside = !inside;
    }
  }
  return inside;
}

// The reference: every edge of every ring for the boundary, then per polygon "in the outline
// and in none of its holes".
bool BruteForceContains(const Area& area, double lat, double lon) {
  const GeoPoint p{lon, lat};
  for (const auto& polygon : area.parts()) {
    for (const auto& ring : polygon) {
      for (size_t i = 0; i + 1 < ring.size(); ++i) {
        if (NearSegment(p, ring[i], ring[i + 1])) return true;
      }
    }
  }
  for (const auto& polygon : area.parts()) {
    if (!InRing(polygon[0], p)) continue;
    bool in_hole = false;
    for (size_t h = 1; h < polygon.size() && !in_hole; ++h) in_hole = InRing(polygon[h], p);
    if (!in_hole) return true;
  }
  return false;
}

// Three parts: a large one with two holes, an island inside one of those holes, and a
// separate part with a hole, all around Bielefeld.
json TestMultiPolygon(std::mt19937_64& rng) {
  json big = json::array({StarRing(rng, 8.53, 52.02, 0.10, 0.16, 300),
                          StarRing(rng, 8.50, 52.00, 0.015, 0.03, 40),
                          StarRing(rng, 8.58, 52.05, 0.01, 0.02, 25)});
  json island = json::array({StarRing(rng, 8.50, 52.00, 0.003, 0.008, 12)});
  json other = json::array(
      {StarRing(rng, 8.90, 52.10, 0.05, 0.08, 120), StarRing(rng, 8.90, 52.10, 0.01, 0.03, 30)});
  return {{"type", "MultiPolygon"}, {"coordinates", json::array({big, island, other})}};
}

TEST(Area, AgreesWithBruteForceOnRandomPoints) {
  std::mt19937_64 rng(20261206);
  auto area = Area::FromJson(TestMultiPolygon(rng), "boundary");
  ASSERT_TRUE(area.ok()) << area.status();
  ASSERT_EQ(area->part_count(), 3u);
  std::uniform_real_distribution<double> lon(8.30, 9.05), lat(51.80, 52.25);
  int inside = 0;
  for (int i = 0; i < 100'000; ++i) {
    const double y = lat(rng), x = lon(rng);
    const bool expected = BruteForceContains(*area, y, x);
    ASSERT_EQ(area->Contains(y, x), expected) << "lat " << y << " long " << x;
    inside += expected;
  }
  // Both answers occur often, so the comparison means something.
  EXPECT_GT(inside, 10'000);
  EXPECT_LT(inside, 80'000);
}

TEST(Area, PointsOnEdgesAndVerticesCountAsInside) {
  std::mt19937_64 rng(7);
  auto area = Area::FromJson(TestMultiPolygon(rng), "boundary");
  ASSERT_TRUE(area.ok()) << area.status();
  int checked = 0;
  for (const auto& polygon : area->parts()) {
    for (const auto& ring : polygon) {  // outlines and holes alike
      for (size_t i = 0; i + 1 < ring.size(); ++i) {
        const GeoPoint a = ring[i], b = ring[i + 1];
        EXPECT_TRUE(area->Contains(a.lat, a.lon)) << "vertex " << a.lat << "," << a.lon;
        for (double t : {0.5, 0.25, 0.9}) {
          const double y = a.lat + t * (b.lat - a.lat), x = a.lon + t * (b.lon - a.lon);
          EXPECT_TRUE(area->Contains(y, x)) << "edge point " << y << "," << x;
        }
        checked += 4;
      }
    }
  }
  EXPECT_GT(checked, 2000);
}

TEST(Area, AxisAlignedSquareWithHoleHasExactEdges) {
  auto area = Area::Parse(R"({"type":"Polygon","coordinates":[
      [[0,0],[10,0],[10,10],[0,10],[0,0]],
      [[4,4],[6,4],[6,6],[4,6],[4,4]]]})",
                          "boundary");
  ASSERT_TRUE(area.ok()) << area.status();
  EXPECT_TRUE(area->Contains(1, 1));
  EXPECT_TRUE(area->Contains(0, 5));    // on the outline (lat 0)
  EXPECT_TRUE(area->Contains(10, 10));  // a vertex
  EXPECT_TRUE(area->Contains(4, 5));    // on the hole's edge
  EXPECT_TRUE(area->Contains(6, 6));    // the hole's vertex
  EXPECT_FALSE(area->Contains(5, 5));   // in the hole
  EXPECT_FALSE(area->Contains(10.001, 5));
  EXPECT_FALSE(area->Contains(5, -0.001));
  EXPECT_FALSE(area->Contains(-50, 170));
}

TEST(Area, ALargeRingAgreesWithBruteForce) {
  std::mt19937_64 rng(99);
  json polygon = {{"type", "Polygon"},
                  {"coordinates", json::array({StarRing(rng, 8.5, 52.0, 0.05, 0.2, 99'999)})}};
  auto area = Area::FromJson(polygon, "boundary");
  ASSERT_TRUE(area.ok()) << area.status();
  EXPECT_EQ(area->vertex_count(), 100'000u);
  std::uniform_real_distribution<double> lon(8.25, 8.75), lat(51.75, 52.25);
  for (int i = 0; i < 2'000; ++i) {
    const double y = lat(rng), x = lon(rng);
    ASSERT_EQ(area->Contains(y, x), BruteForceContains(*area, y, x));
  }
}

TEST(Area, RoundTripsThroughJson) {
  const std::string text =
      R"({"coordinates":[[[8.1,52.0],[8.2,52.0],[8.2,52.1],[8.1,52.0]]],"type":"Polygon"})";
  auto area = Area::Parse(text, "boundary");
  ASSERT_TRUE(area.ok()) << area.status();
  EXPECT_EQ(area->ToJsonText(), text);
  auto again = Area::Parse(area->ToJsonText(), "boundary");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ToJsonText(), text);
}

void ExpectInvalid(const std::string& text, const std::string& message) {
  auto area = Area::Parse(text, "boundary");
  ASSERT_FALSE(area.ok()) << text;
  EXPECT_EQ(area.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(area.status().message(), message) << text;
}

TEST(Area, RefusesInvalidGeometryNamingTheProblem) {
  ExpectInvalid("{", "boundary: not valid JSON");
  ExpectInvalid("[1,2]", "boundary: a GeoJSON geometry object is required");
  ExpectInvalid(R"({"type":"Point","coordinates":[8,52]})",
                R"(boundary.type: must be "Polygon" or "MultiPolygon")");
  ExpectInvalid(R"({"type":"Polygon"})", "boundary.coordinates: required, an array");
  ExpectInvalid(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]],"x":1})",
                "boundary.x: unknown field");
  // An open ring.
  ExpectInvalid(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]})",
                "boundary.coordinates[0]: the ring is not closed (its last position must equal "
                "its first)");
  // Fewer than 4 positions.
  ExpectInvalid(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]})",
                "boundary.coordinates[0]: a ring needs at least 4 positions");
  ExpectInvalid(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,0],[0,0]]]})",
                "boundary.coordinates[0]: a ring needs at least 3 distinct positions");
  // Non-numbers.
  ExpectInvalid(R"({"type":"Polygon","coordinates":[[[0,0],[1,"0"],[1,1],[0,0]]]})",
                "boundary.coordinates[0][1]: a position holds numbers only");
  ExpectInvalid(R"({"type":"Polygon","coordinates":[[[0,0],[1,null],[1,1],[0,0]]]})",
                "boundary.coordinates[0][1]: a position holds numbers only");
  ExpectInvalid(R"({"type":"Polygon","coordinates":[[[0,0],[1],[1,1],[0,0]]]})",
                "boundary.coordinates[0][1]: a position is [longitude, latitude] in numbers");
  // Out of range.
  ExpectInvalid(R"({"type":"Polygon","coordinates":[[[0,0],[181,0],[1,1],[0,0]]]})",
                "boundary.coordinates[0][1]: the longitude must lie in [-180, 180]");
  ExpectInvalid(R"({"type":"Polygon","coordinates":[[[0,0],[1,91],[1,1],[0,0]]]})",
                "boundary.coordinates[0][1]: the latitude must lie in [-90, 90]");
  // A bow tie crosses itself.
  ExpectInvalid(R"({"type":"Polygon","coordinates":[[[0,0],[2,2],[2,0],[0,2],[0,0]]]})",
                "boundary.coordinates[0]: the ring crosses or touches itself (near position 0)");
  // A ring through the same point twice touches itself.
  ExpectInvalid(
      R"({"type":"MultiPolygon","coordinates":[[[[0,0],[4,0],[2,2],[4,4],[0,4],[2,2],[0,0]]]]})",
      "boundary.coordinates[0][0]: the ring crosses or touches itself (near position 1)");
  ExpectInvalid(R"({"type":"MultiPolygon","coordinates":[]})",
                "boundary.coordinates: at least one polygon");
  ExpectInvalid(R"({"type":"Polygon","coordinates":[]})",
                "boundary.coordinates: a polygon is a non-empty array of rings");
  ExpectInvalid(std::string(100, '[') + std::string(100, ']'), "boundary: nested too deeply");
}

TEST(Area, RefusesMoreThanTheVertexLimit) {
  std::mt19937_64 rng(5);
  json polygon = {
      {"type", "MultiPolygon"},
      {"coordinates", json::array({json::array({StarRing(rng, 8.5, 52.0, 0.05, 0.2, 60'000)}),
                                   json::array({StarRing(rng, 9.5, 52.0, 0.05, 0.2, 40'000)})})}};
  auto area = Area::FromJson(polygon, "boundary");
  ASSERT_FALSE(area.ok());
  EXPECT_EQ(area.status().message(), "boundary: more than 100000 positions in all");
}

}  // namespace
}  // namespace cityhub::requests
