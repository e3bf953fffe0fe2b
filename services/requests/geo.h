#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace cityhub::requests {

// The earth radius Redis uses for GEO distances, so that our exact filters agree with it.
inline constexpr double kEarthRadiusM = 6372797.560856;

// Great-circle distance in metres (haversine).
double DistanceM(double lat1, double lon1, double lat2, double lon2);

struct Bounds {
  double min_lat = -85.05112878;
  double min_long = -180;
  double max_lat = 85.05112878;
  double max_long = 180;

  bool Contains(double lat, double lon) const {
    return lat >= min_lat && lat <= max_lat && lon >= min_long && lon <= max_long;
  }
};

// "min_lat,min_long,max_lat,max_long".
absl::StatusOr<Bounds> ParseBounds(const std::string& text);

// The latitudes Redis GEO can index (Web Mercator's limit).
inline constexpr double kMaxGeoLatitude = 85.05112878;

// INVALID_ARGUMENT naming `lat_field`/`long_field` for NaN, infinities or values outside the
// globe as Redis GEO maps it (|lat| ≤ kMaxGeoLatitude).
absl::Status CheckCoordinates(double lat, double lon, const std::string& lat_field,
                              const std::string& long_field);

}  // namespace cityhub::requests
