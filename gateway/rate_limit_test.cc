#include "gateway/rate_limit.h"
#include "gateway/rate_limit_testing.h"

#include <gtest/gtest.h>

namespace cityhub::gateway {
namespace {

using namespace std::chrono_literals;

TEST(ParseBudget, ReadsRatesAndBursts) {
  auto b = ParseBudget("20/s,burst=100");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->count, 20);
  EXPECT_EQ(b->period, 1s);
  EXPECT_EQ(b->burst, 100);
  EXPECT_EQ(ParseBudget("5/min")->burst, 5);
  EXPECT_EQ(ParseBudget("30/h")->period, 1h);
  for (const char* bad : {"", "5", "x/s", "5/day", "0/s", "5/s,burst=0", "5/s,b=2"}) {
    EXPECT_FALSE(ParseBudget(bad).ok()) << bad;
  }
}

TEST(RateLimiter, WithoutRedisReadsPassAndWritesUseTheLocalFallback) {
  infra::redis::Options unreachable;
  unreachable.port = 1;  // nothing listens there
  unreachable.connect_timeout = 10ms;
  infra::redis::AsyncClient redis(unreachable, 1);
  infra::ManualClock clock;
  infra::MetricsRegistry metrics;
  RateLimits limits;
  limits.anonymous_read = {1, 1min, 1};
  limits.anonymous_create = {2, 1min, 2};
  RateLimiter limiter(redis, limits, clock, metrics);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(
        CheckNow(limiter, cityhub::api::RATE_CLASS_READ, "203.0.113.1", "").allowed);  // fail-open
  }
  EXPECT_TRUE(CheckNow(limiter, cityhub::api::RATE_CLASS_CREATE, "203.0.113.1", "").allowed);
  EXPECT_TRUE(CheckNow(limiter, cityhub::api::RATE_CLASS_CREATE, "203.0.113.1", "").allowed);
  const Decision third = CheckNow(limiter, cityhub::api::RATE_CLASS_CREATE, "203.0.113.1", "");
  EXPECT_FALSE(third.allowed);
  EXPECT_GT(third.retry_after.count(), 0);
  EXPECT_TRUE(CheckNow(limiter, cityhub::api::RATE_CLASS_CREATE, "198.51.100.2", "")
                  .allowed);  // other address
  clock.Advance(31s);
  EXPECT_TRUE(CheckNow(limiter, cityhub::api::RATE_CLASS_CREATE, "203.0.113.1", "").allowed);
}

}  // namespace
}  // namespace cityhub::gateway
