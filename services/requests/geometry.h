#pragma once

// GeoJSON (RFC 7946) Polygon and MultiPolygon areas: parsing with validation, and a fast
// point-in-area test. Pure code (no Redis, no clock); unit-tested in geometry_test.cc.
//
// Semantics:
// - A position is [longitude, latitude] (an altitude, when given, is ignored). Longitudes lie in
//   [-180, 180], latitudes in [-90, 90]. Edges are straight lines in longitude/latitude, as
//   RFC 7946 §3.1.1 says; the antimeridian is not supported: an area crossing it must be split
//   into parts on either side (a city never needs it).
// - A polygon is its first ring (the outline) minus its other rings (holes); a multipolygon is
//   the union of its polygons. Winding order is not checked (RFC 7946 asks for counterclockwise
//   outlines but tells parsers not to refuse others).
// - A point on an edge or a vertex — of an outline or of a hole — counts as inside: closer than
//   kEdgeToleranceDegrees (about 0.1 mm) to an edge. A report on the city's line belongs to it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace cityhub::requests {

// At most this many positions in all the rings of one area (closing positions included).
inline constexpr size_t kMaxAreaVertices = 100'000;
inline constexpr double kEdgeToleranceDegrees = 1e-9;

struct GeoPoint {
  double lon = 0;
  double lat = 0;
  bool operator==(const GeoPoint&) const = default;
};

class Area final {
 public:
  // Parses a GeoJSON geometry object of type Polygon or MultiPolygon. INVALID_ARGUMENT whose
  // message starts with `field` and the JSON path of the problem, e.g.
  // "boundary.coordinates[0][3]: a position is [longitude, latitude] in numbers": not an
  // object, another type, rings not closed or with fewer than 4 positions, non-numbers,
  // longitudes or latitudes out of range, more than kMaxAreaVertices positions, a ring that
  // crosses or touches itself (found by checking the edges that share a cell of a grid over the
  // ring; a very dense ring is checked up to a work budget, so only "where detected").
  static absl::StatusOr<Area> FromJson(const nlohmann::json& geometry, std::string_view field);
  // The same from text; INVALID_ARGUMENT naming `field` for text that is not JSON (or nested
  // deeper than any geometry is).
  static absl::StatusOr<Area> Parse(std::string_view text, std::string_view field);

  // Whether the point lies in the area (edges and vertices count as inside). Reads only the
  // edges of the point's horizontal strip, so a test costs about the edges crossing one strip.
  bool Contains(double lat, double lon) const;

  // The geometry as GeoJSON: {"type": ..., "coordinates": ...} (repeated consecutive positions
  // dropped).
  nlohmann::json ToJson() const;
  std::string ToJsonText() const;

  size_t vertex_count() const { return vertices_; }
  size_t part_count() const { return parts_.size(); }

  // A polygon: the outline first, then its holes; every ring closed (first == last).
  using Ring = std::vector<GeoPoint>;
  using Polygon = std::vector<Ring>;
  const std::vector<Polygon>& parts() const { return parts_; }

 private:
  struct Edge {
    GeoPoint a;
    GeoPoint b;
    uint32_t part = 0;
  };
  Area() = default;
  void BuildIndex();

  bool multi_ = false;
  std::vector<Polygon> parts_;
  size_t vertices_ = 0;
  double min_lat_ = 0, max_lat_ = 0, min_lon_ = 0, max_lon_ = 0;
  // Horizontal strips of equal height over [min_lat_, max_lat_]; each holds the edges whose
  // latitude range (widened by the tolerance) meets it.
  double strip_height_ = 1;
  std::vector<uint32_t> strip_begin_;  // strips + 1 offsets into strip_edges_
  std::vector<Edge> strip_edges_;
};

// Whether the bracket nesting of the JSON `text` (outside strings) stays within `limit`: a cheap
// refusal of hostile nesting before parsing (boundary, districts).
bool NestingWithin(std::string_view text, int limit);

// Whether `p` lies within kEdgeToleranceDegrees of the segment a–b (exposed for the tests'
// reference).
bool NearSegment(GeoPoint p, GeoPoint a, GeoPoint b);

}  // namespace cityhub::requests
