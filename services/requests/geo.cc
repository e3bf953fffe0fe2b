#include "services/requests/geo.h"

#include <cmath>
#include <sstream>

#include "infra/status.h"

namespace cityhub::requests {

double DistanceM(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRad = M_PI / 180.0;
  const double dlat = (lat2 - lat1) * kRad;
  const double dlon = (lon2 - lon1) * kRad;
  const double a =
      std::sin(dlat / 2) * std::sin(dlat / 2) +
      std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2.0 * kEarthRadiusM * std::asin(std::sqrt(a));
}

absl::StatusOr<Bounds> ParseBounds(const std::string& text) {
  std::istringstream in(text);
  Bounds b;
  char c1 = 0, c2 = 0, c3 = 0;
  if (!(in >> b.min_lat >> c1 >> b.min_long >> c2 >> b.max_lat >> c3 >> b.max_long) || c1 != ',' ||
      c2 != ',' || c3 != ',' || !in.eof()) {
    return absl::InvalidArgumentError("bounds must be min_lat,min_long,max_lat,max_long");
  }
  if (!(b.min_lat < b.max_lat && b.min_long < b.max_long && b.min_lat >= -85.06 &&
        b.max_lat <= 85.06 && b.min_long >= -180 && b.max_long <= 180)) {
    return absl::InvalidArgumentError("bounds are empty or outside the globe");
  }
  return b;
}

absl::Status CheckCoordinates(double lat, double lon, const std::string& lat_field,
                              const std::string& long_field) {
  // Redis GEO (Web Mercator) takes latitudes up to ±85.05112878; beyond them it errs, which was
  // a 500 for a near-me query at the pole. No city lies there.
  if (!std::isfinite(lat) || lat < -kMaxGeoLatitude || lat > kMaxGeoLatitude) {
    return infra::InvalidField(lat_field, "must be a number from -85.05112878 to 85.05112878");
  }
  if (!std::isfinite(lon) || lon < -180 || lon > 180) {
    return infra::InvalidField(long_field, "must be a number from -180 to 180");
  }
  return absl::OkStatus();
}

}  // namespace cityhub::requests
