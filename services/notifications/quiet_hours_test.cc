#include "services/notifications/quiet_hours.h"

#include <gtest/gtest.h>

namespace cityhub::notifications {
namespace {

// 2026-01-15 21:30 UTC (22:30 in Berlin, winter) and 2026-07-15 21:30 UTC (23:30, summer).
constexpr int64_t kWinter = 1768512600000;
constexpr int64_t kSummer = 1784151000000;

TEST(QuietHours, KnowsBerlinsOffsetsAcrossTheYear) {
  EXPECT_EQ(UtcOffsetMinutes("Europe/Berlin", kWinter), 60);
  EXPECT_EQ(UtcOffsetMinutes("Europe/Berlin", kSummer), 120);
  EXPECT_EQ(UtcOffsetMinutes("Europe/London", kSummer), 60);
  EXPECT_EQ(UtcOffsetMinutes("UTC", kSummer), 0);
  // Summer time begins on 2026-03-29 at 01:00 UTC.
  EXPECT_EQ(UtcOffsetMinutes("Europe/Berlin", 1774745999000), 60);
  EXPECT_EQ(UtcOffsetMinutes("Europe/Berlin", 1774746000000), 120);
}

TEST(QuietHours, DefersToTheEndOfAWindowSpanningMidnight) {
  // 22:00–07:00 Berlin; at 22:30 local the push waits until 07:00 local = 06:00 UTC next day.
  const int64_t until = NotBefore(kWinter, 22 * 60, 7 * 60, "Europe/Berlin");
  EXPECT_EQ(until, kWinter + (8 * 60 + 30) * 60'000);
  // Outside the window nothing waits.
  EXPECT_EQ(NotBefore(kWinter, 23 * 60, 6 * 60, "Europe/Berlin"), kWinter);
  // Same-day windows work too: 12:00-13:00 UTC at 21:30 UTC is not quiet.
  EXPECT_EQ(NotBefore(kWinter, 12 * 60, 13 * 60, "UTC"), kWinter);
  EXPECT_EQ(NotBefore(kSummer, 23 * 60, 23 * 60 + 45, "Europe/Berlin"), kSummer + 15 * 60'000);
}

TEST(QuietHours, ParsesAndFormatsClockTimes) {
  EXPECT_EQ(ParseClock("07:05"), 425);
  EXPECT_FALSE(ParseClock("24:00"));
  EXPECT_FALSE(ParseClock("7:05"));
  EXPECT_FALSE(ParseClock("07:60"));
  EXPECT_EQ(FormatClock(425), "07:05");
  EXPECT_TRUE(IsSupportedTimeZone("Europe/Berlin"));
  EXPECT_FALSE(IsSupportedTimeZone("Mars/Olympus"));
}

}  // namespace
}  // namespace cityhub::notifications
