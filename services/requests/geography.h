#pragma once

// The city's geography (#15): its boundary, its districts and the routing rules that give a
// request a department by category and district. Parsing and the decisions are pure
// (unit-tested in geography_test.cc); Geography keeps the parsed form of each jurisdiction's
// documents in memory and notices changes made by other replicas through a version key.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/requests/geography_store.h"
#include "services/requests/geometry.h"

namespace cityhub::requests {

inline constexpr size_t kMaxDistricts = 200;
inline constexpr size_t kMaxRoutingRules = 1000;
// All the districts' positions together.
inline constexpr size_t kMaxDistrictVertices = 1'000'000;

struct District {
  std::string id;
  std::string name_de;
  std::string name_en;
  Area area;
};

struct RoutingRule {
  std::string service_code;  // empty: any category
  std::string district;      // empty: anywhere
  std::string department;
};

// A GeoJSON FeatureCollection of districts (docs/api.md): INVALID_ARGUMENT naming the field,
// e.g. "features[2].properties.district_id: 1-64 characters a-z, 0-9, _ or -".
absl::StatusOr<std::vector<District>> ParseDistricts(std::string_view text);
std::string DistrictsToJson(const std::vector<District>& districts);
// A JSON array of routing rules: INVALID_ARGUMENT naming the rule, "rules[3].department: required".
absl::StatusOr<std::vector<RoutingRule>> ParseRoutingRules(std::string_view text);
std::string RoutingRulesToJson(const std::vector<RoutingRule>& rules);

// One jurisdiction's geography as last read.
struct GeographySnapshot {
  int64_t version = 0;
  std::optional<Area> boundary;
  std::string boundary_json;  // empty: none set
  std::vector<District> districts;
  std::string districts_json;
  std::vector<RoutingRule> rules;
  std::string rules_json;

  // The district the position lies in ("" for none): the first in the document's order, when
  // districts overlap or share an edge.
  std::string DistrictOf(double lat, double lon) const;
  // The department of a request of `service_code` in `district`: the most specific rule
  // (category and district > district only > category only), else `category_department`.
  std::string DepartmentFor(std::string_view service_code, std::string_view district,
                            const std::string& category_department) const;
};

// Builds a snapshot from stored documents (DATA_LOSS when one no longer parses).
absl::StatusOr<std::shared_ptr<const GeographySnapshot>> SnapshotOf(const StoredGeography& stored);

class Geography final {
 public:
  // Changes made by other replicas are noticed within `recheck` (one GET of the version key).
  Geography(GeographyStore& store, std::chrono::milliseconds recheck)
      : store_(store), recheck_(recheck) {}

  // The current geography of `jurisdiction`. Blocks (Redis) at most once per `recheck` and
  // jurisdiction: executor only. UNAVAILABLE when Redis is.
  absl::StatusOr<std::shared_ptr<const GeographySnapshot>> Current(const std::string& jurisdiction);
  GeographyStore& store() { return store_; }
  // Reads the geography again at once (after a write of this replica).
  absl::StatusOr<std::shared_ptr<const GeographySnapshot>> Reload(const std::string& jurisdiction);

 private:
  struct Entry {
    std::shared_ptr<const GeographySnapshot> snapshot;
    std::chrono::steady_clock::time_point checked;
  };
  GeographyStore& store_;
  std::chrono::milliseconds recheck_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace cityhub::requests
