#include "services/requests/geo.h"

#include <cmath>

#include <gtest/gtest.h>

namespace cityhub::requests {
namespace {

TEST(Distance, MatchesKnownDistances) {
  // Bielefeld Jahnplatz to the Sparrenburg: about 1.2 km.
  const double d = DistanceM(52.0223, 8.5325, 52.0133, 8.5270);
  EXPECT_NEAR(d, 1070, 30);
  EXPECT_DOUBLE_EQ(DistanceM(52, 8, 52, 8), 0);
  // One degree of latitude is about 111 km.
  EXPECT_NEAR(DistanceM(51, 8, 52, 8), 111'226, 100);
}

TEST(Bounds, ParseAndContain) {
  auto b = ParseBounds("51.90,8.37,52.12,8.67");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->Contains(52.02, 8.53));
  EXPECT_FALSE(b->Contains(52.52, 13.40));  // Berlin
  EXPECT_FALSE(ParseBounds("52,8,51,9").ok());
  EXPECT_FALSE(ParseBounds("a,b,c,d").ok());
  EXPECT_FALSE(ParseBounds("1,2,3").ok());
}

TEST(CheckCoordinates, RefusesNanInfinitiesAndOffTheGlobe) {
  EXPECT_TRUE(CheckCoordinates(52, 8, "lat", "long").ok());
  EXPECT_EQ(CheckCoordinates(91, 8, "lat", "long").message(),
            "lat: must be a number from -85.05112878 to 85.05112878");
  // Redis GEO refuses the poles: they are refused here, never a 500 from Redis.
  EXPECT_FALSE(CheckCoordinates(-90, 8.5, "lat", "long").ok());
  EXPECT_FALSE(CheckCoordinates(85.06, 8.5, "lat", "long").ok());
  EXPECT_TRUE(CheckCoordinates(-85.05112878, 8.5, "lat", "long").ok());
  EXPECT_FALSE(CheckCoordinates(NAN, 8, "lat", "long").ok());
  EXPECT_EQ(CheckCoordinates(52, INFINITY, "lat", "long").message(),
            "long: must be a number from -180 to 180");
}

}  // namespace
}  // namespace cityhub::requests
