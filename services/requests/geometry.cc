#include "services/requests/geometry.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "infra/strings.h"
#include "nlohmann/json.hpp"

namespace cityhub::requests {

namespace {

using nlohmann::json;

absl::Status Invalid(std::string_view field, const std::string& path, std::string_view problem) {
  return absl::InvalidArgumentError(infra::StrCat(field, path, ": ", problem));
}

double Cross(GeoPoint o, GeoPoint a, GeoPoint b) {
  return (a.lon - o.lon) * (b.lat - o.lat) - (a.lat - o.lat) * (b.lon - o.lon);
}

int Sign(double v) { return v > 0 ? 1 : (v < 0 ? -1 : 0); }

bool OnSegmentBox(GeoPoint p, GeoPoint a, GeoPoint b) {
  return std::min(a.lon, b.lon) <= p.lon && p.lon <= std::max(a.lon, b.lon) &&
         std::min(a.lat, b.lat) <= p.lat && p.lat <= std::max(a.lat, b.lat);
}

// Whether the segments p1–p2 and q1–q2 share a point (touching counts).
bool SegmentsMeet(GeoPoint p1, GeoPoint p2, GeoPoint q1, GeoPoint q2) {
  const int d1 = Sign(Cross(q1, q2, p1)), d2 = Sign(Cross(q1, q2, p2));
  const int d3 = Sign(Cross(p1, p2, q1)), d4 = Sign(Cross(p1, p2, q2));
  if (d1 != d2 && d3 != d4 && d1 != 0 && d2 != 0 && d3 != 0 && d4 != 0) return true;
  return (d1 == 0 && OnSegmentBox(p1, q1, q2)) || (d2 == 0 && OnSegmentBox(p2, q1, q2)) ||
         (d3 == 0 && OnSegmentBox(q1, p1, p2)) || (d4 == 0 && OnSegmentBox(q2, p1, p2));
}

// Finds two non-adjacent edges of a closed ring that meet. A grid of about one cell per edge
// over the ring's box; each edge goes into the cells its box covers; edges sharing a cell are
// compared. Work is bounded (a pathological ring is accepted unchecked beyond the budget).
// Returns the index of an offending edge, or -1.
long FindSelfIntersection(const Area::Ring& ring) {
  const size_t n = ring.size() - 1;  // edges
  if (n < 4) return -1;              // a triangle cannot cross itself
  double min_lon = ring[0].lon, max_lon = min_lon, min_lat = ring[0].lat, max_lat = min_lat;
  for (const auto& p : ring) {
    min_lon = std::min(min_lon, p.lon), max_lon = std::max(max_lon, p.lon);
    min_lat = std::min(min_lat, p.lat), max_lat = std::max(max_lat, p.lat);
  }
  const auto side = static_cast<size_t>(std::clamp(std::sqrt(static_cast<double>(n)), 1.0, 1024.0));
  const double w = std::max((max_lon - min_lon) / static_cast<double>(side), 1e-12);
  const double h = std::max((max_lat - min_lat) / static_cast<double>(side), 1e-12);
  auto cell_x = [&](double lon) {
    return std::min(side - 1, static_cast<size_t>(std::max(0.0, (lon - min_lon) / w)));
  };
  auto cell_y = [&](double lat) {
    return std::min(side - 1, static_cast<size_t>(std::max(0.0, (lat - min_lat) / h)));
  };
  std::vector<std::vector<uint32_t>> cells(side * side);
  size_t budget = 20'000'000;  // cell insertions plus comparisons
  for (size_t i = 0; i < n; ++i) {
    const GeoPoint a = ring[i], b = ring[i + 1];
    const size_t x0 = cell_x(std::min(a.lon, b.lon)), x1 = cell_x(std::max(a.lon, b.lon));
    const size_t y0 = cell_y(std::min(a.lat, b.lat)), y1 = cell_y(std::max(a.lat, b.lat));
    for (size_t y = y0; y <= y1; ++y) {
      for (size_t x = x0; x <= x1; ++x) {
        if (budget == 0) return -1;
        --budget;
        cells[y * side + x].push_back(static_cast<uint32_t>(i));
      }
    }
  }
  for (const auto& cell : cells) {
    for (size_t u = 0; u < cell.size(); ++u) {
      for (size_t v = u + 1; v < cell.size(); ++v) {
        if (budget == 0) return -1;
        --budget;
        const size_t i = cell[u], j = cell[v];
        const size_t gap = i > j ? i - j : j - i;
        if (gap <= 1 || gap == n - 1) continue;  // neighbours share a vertex by construction
        if (SegmentsMeet(ring[i], ring[i + 1], ring[j], ring[j + 1]))
          return static_cast<long>(std::min(i, j));
      }
    }
  }
  return -1;
}

absl::StatusOr<GeoPoint> ParsePosition(const json& p, std::string_view field,
                                       const std::string& path) {
  if (!p.is_array() || p.size() < 2 || p.size() > 3) {
    return Invalid(field, path, "a position is [longitude, latitude] in numbers");
  }
  for (const auto& v : p) {
    if (!v.is_number()) return Invalid(field, path, "a position holds numbers only");
  }
  const GeoPoint point{p[0].get<double>(), p[1].get<double>()};
  if (!std::isfinite(point.lon) || point.lon < -180 || point.lon > 180)
    return Invalid(field, path, "the longitude must lie in [-180, 180]");
  if (!std::isfinite(point.lat) || point.lat < -90 || point.lat > 90)
    return Invalid(field, path, "the latitude must lie in [-90, 90]");
  return point;
}

absl::StatusOr<Area::Ring> ParseRing(const json& r, std::string_view field, const std::string& path,
                                     size_t& vertices) {
  if (!r.is_array()) return Invalid(field, path, "a ring is an array of positions");
  if (r.size() < 4) return Invalid(field, path, "a ring needs at least 4 positions");
  vertices += r.size();
  if (vertices > kMaxAreaVertices) {
    return Invalid(field, "", infra::StrCat("more than ", kMaxAreaVertices, " positions in all"));
  }
  Area::Ring ring;
  ring.reserve(r.size());
  for (size_t i = 0; i < r.size(); ++i) {
    auto p = ParsePosition(r[i], field, infra::StrCat(path, "[", i, "]"));
    if (!p.ok()) return p.status();
    if (ring.empty() || !(ring.back() == *p)) ring.push_back(*p);  // drop repeats
  }
  const GeoPoint first{r[0][0].get<double>(), r[0][1].get<double>()};
  const GeoPoint last{r.back()[0].get<double>(), r.back()[1].get<double>()};
  if (!(first == last)) {
    return Invalid(field, path, "the ring is not closed (its last position must equal its first)");
  }
  if (ring.size() < 4) return Invalid(field, path, "a ring needs at least 3 distinct positions");
  if (const long edge = FindSelfIntersection(ring); edge >= 0) {
    return Invalid(field, path,
                   infra::StrCat("the ring crosses or touches itself (near position ", edge, ")"));
  }
  return ring;
}

absl::StatusOr<Area::Polygon> ParsePolygon(const json& p, std::string_view field,
                                           const std::string& path, size_t& vertices) {
  if (!p.is_array() || p.empty()) {
    return Invalid(field, path, "a polygon is a non-empty array of rings");
  }
  Area::Polygon polygon;
  for (size_t i = 0; i < p.size(); ++i) {
    auto ring = ParseRing(p[i], field, infra::StrCat(path, "[", i, "]"), vertices);
    if (!ring.ok()) return ring.status();
    polygon.push_back(*std::move(ring));
  }
  return polygon;
}

}  // namespace

// nlohmann's DOM is built iteratively, but a guard keeps hostile nesting cheap to refuse.
bool NestingWithin(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

bool NearSegment(GeoPoint p, GeoPoint a, GeoPoint b) {
  const double dx = b.lon - a.lon, dy = b.lat - a.lat;
  const double len2 = dx * dx + dy * dy;
  double t = len2 == 0 ? 0 : ((p.lon - a.lon) * dx + (p.lat - a.lat) * dy) / len2;
  t = std::clamp(t, 0.0, 1.0);
  const double ex = a.lon + t * dx - p.lon, ey = a.lat + t * dy - p.lat;
  return ex * ex + ey * ey <= kEdgeToleranceDegrees * kEdgeToleranceDegrees;
}

absl::StatusOr<Area> Area::FromJson(const json& geometry, std::string_view field) {
  if (!geometry.is_object()) return Invalid(field, "", "a GeoJSON geometry object is required");
  const auto type = geometry.find("type");
  if (type == geometry.end() || !type->is_string() ||
      (*type != "Polygon" && *type != "MultiPolygon")) {
    return Invalid(field, ".type", "must be \"Polygon\" or \"MultiPolygon\"");
  }
  for (const auto& [key, value] : geometry.items()) {
    if (key != "type" && key != "coordinates" && key != "bbox") {
      return Invalid(field, infra::StrCat(".", key), "unknown field");
    }
  }
  const auto coordinates = geometry.find("coordinates");
  if (coordinates == geometry.end() || !coordinates->is_array()) {
    return Invalid(field, ".coordinates", "required, an array");
  }
  Area area;
  area.multi_ = *type == "MultiPolygon";
  if (area.multi_) {
    if (coordinates->empty()) return Invalid(field, ".coordinates", "at least one polygon");
    for (size_t i = 0; i < coordinates->size(); ++i) {
      auto polygon = ParsePolygon((*coordinates)[i], field, infra::StrCat(".coordinates[", i, "]"),
                                  area.vertices_);
      if (!polygon.ok()) return polygon.status();
      area.parts_.push_back(*std::move(polygon));
    }
  } else {
    auto polygon = ParsePolygon(*coordinates, field, ".coordinates", area.vertices_);
    if (!polygon.ok()) return polygon.status();
    area.parts_.push_back(*std::move(polygon));
  }
  area.BuildIndex();
  return area;
}

absl::StatusOr<Area> Area::Parse(std::string_view text, std::string_view field) {
  if (!NestingWithin(text, 32)) return Invalid(field, "", "nested too deeply");
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Invalid(field, "", "not valid JSON");
  return FromJson(parsed, field);
}

void Area::BuildIndex() {
  std::vector<Edge> edges;
  min_lat_ = min_lon_ = 1e9;
  max_lat_ = max_lon_ = -1e9;
  for (uint32_t part = 0; part < parts_.size(); ++part) {
    for (const auto& ring : parts_[part]) {
      for (size_t i = 0; i + 1 < ring.size(); ++i) {
        edges.push_back({ring[i], ring[i + 1], part});
        min_lat_ = std::min(min_lat_, ring[i].lat), max_lat_ = std::max(max_lat_, ring[i].lat);
        min_lon_ = std::min(min_lon_, ring[i].lon), max_lon_ = std::max(max_lon_, ring[i].lon);
      }
    }
  }
  // As many strips as edges/2, fewer while tall edges would copy into too many of them: the
  // index holds at most 8 entries per edge.
  size_t strips = std::max<size_t>(1, edges.size() / 2);
  const double span = std::max(max_lat_ - min_lat_, 1e-9);
  auto range = [&](const Edge& e, size_t count) {
    const double h = span / static_cast<double>(count);
    auto strip = [&](double lat) {
      const double s = std::floor((lat - min_lat_) / h);
      return static_cast<size_t>(std::clamp(s, 0.0, static_cast<double>(count - 1)));
    };
    return std::pair{strip(std::min(e.a.lat, e.b.lat) - kEdgeToleranceDegrees),
                     strip(std::max(e.a.lat, e.b.lat) + kEdgeToleranceDegrees)};
  };
  while (strips > 1) {
    size_t total = 0;
    for (const auto& e : edges) {
      const auto [lo, hi] = range(e, strips);
      total += hi - lo + 1;
    }
    if (total <= 8 * edges.size()) break;
    strips /= 2;
  }
  strip_height_ = span / static_cast<double>(strips);
  std::vector<uint32_t> counts(strips + 1, 0);
  for (const auto& e : edges) {
    const auto [lo, hi] = range(e, strips);
    for (size_t s = lo; s <= hi; ++s) ++counts[s + 1];
  }
  for (size_t s = 0; s < strips; ++s) counts[s + 1] += counts[s];
  strip_begin_ = counts;
  strip_edges_.resize(counts[strips]);
  for (const auto& e : edges) {
    const auto [lo, hi] = range(e, strips);
    for (size_t s = lo; s <= hi; ++s) strip_edges_[counts[s]++] = e;
  }
}

bool Area::Contains(double lat, double lon) const {
  if (!(lat >= min_lat_ - kEdgeToleranceDegrees && lat <= max_lat_ + kEdgeToleranceDegrees &&
        lon >= min_lon_ - kEdgeToleranceDegrees && lon <= max_lon_ + kEdgeToleranceDegrees)) {
    return false;
  }
  const size_t strips = strip_begin_.size() - 1;
  const double s = std::floor((lat - min_lat_) / strip_height_);
  const auto strip = static_cast<size_t>(std::clamp(s, 0.0, static_cast<double>(strips - 1)));
  const GeoPoint p{lon, lat};
  // Crossings of the ray east of the point, per part (a part is its outline minus its holes:
  // odd crossings over all its rings = inside it).
  absl::InlinedVector<bool, 8> odd(parts_.size(), false);
  for (uint32_t i = strip_begin_[strip]; i < strip_begin_[strip + 1]; ++i) {
    const Edge& e = strip_edges_[i];
    if (NearSegment(p, e.a, e.b)) return true;
    if ((e.a.lat > lat) != (e.b.lat > lat)) {
      const double x = e.a.lon + (lat - e.a.lat) * (e.b.lon - e.a.lon) / (e.b.lat - e.a.lat);
      if (lon < x) odd[e.part] = !odd[e.part];
    }
  }
  return std::find(odd.begin(), odd.end(), true) != odd.end();
}

json Area::ToJson() const {
  auto polygon_json = [](const Polygon& polygon) {
    json rings = json::array();
    for (const auto& ring : polygon) {
      json positions = json::array();
      for (const auto& p : ring) positions.push_back(json::array({p.lon, p.lat}));
      rings.push_back(std::move(positions));
    }
    return rings;
  };
  json coordinates = json::array();
  if (multi_) {
    for (const auto& polygon : parts_) coordinates.push_back(polygon_json(polygon));
  } else if (!parts_.empty()) {
    coordinates = polygon_json(parts_[0]);
  }
  return json{{"type", multi_ ? "MultiPolygon" : "Polygon"}, {"coordinates", coordinates}};
}

std::string Area::ToJsonText() const { return ToJson().dump(); }

}  // namespace cityhub::requests
