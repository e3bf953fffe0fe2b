// The rate limiter against a real Redis: GCRA budgets shared by replicas, reads in leases.
#include <gtest/gtest.h>

#include <regex>

#include "gateway/rate_limit.h"
#include "tests/harness/redis_server.h"

namespace cityhub::gateway {
namespace {

using namespace std::chrono_literals;
constexpr auto kRead = cityhub::api::RATE_CLASS_READ;
constexpr auto kCreate = cityhub::api::RATE_CLASS_CREATE;

class RateLimiterTest : public cityhub::testing::RedisTest {
 protected:
  // Script calls Redis has run so far.
  int64_t ScriptCalls() {
    auto info = client().Command({"INFO", "commandstats"});
    std::smatch m;
    const std::string text = info->str();
    static const std::regex kCalls(R"(cmdstat_evalsha:calls=([0-9]+))");
    int64_t n = std::regex_search(text, m, kCalls) ? std::stoll(m[1]) : 0;
    static const std::regex kEval(R"(cmdstat_eval:calls=([0-9]+))");
    if (std::regex_search(text, m, kEval)) n += std::stoll(m[1]);
    return n;
  }

  infra::ManualClock clock_;
  infra::MetricsRegistry metrics_a_, metrics_b_;
};

TEST_F(RateLimiterTest, AReadBurstIsAllowedThenRefusedWithARetryAfter) {
  RateLimits limits;
  limits.read = {10, 1s, 10};
  limits.read_lease = 4;
  RateLimiter limiter(client(), limits, clock_, metrics_a_);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.Check(kRead, "203.0.113.7", "").allowed) << i;
  const Decision refused = limiter.Check(kRead, "203.0.113.7", "");
  EXPECT_FALSE(refused.allowed);
  EXPECT_GT(refused.retry_after.count(), 0);
  EXPECT_LE(refused.retry_after.count(), 100);
  EXPECT_TRUE(limiter.Check(kRead, "198.51.100.9", "").allowed);  // another address
  clock_.Advance(100ms);
  EXPECT_TRUE(limiter.Check(kRead, "203.0.113.7", "").allowed);
}

TEST_F(RateLimiterTest, TwoReplicasLeasingReadsNeverSpendMoreThanTheBudget) {
  RateLimits limits;
  limits.read = {40, 1min, 40};  // leases of up to min(4, 40 / 8) = 4 units
  limits.read_lease = 4;
  RateLimiter a(client(), limits, clock_, metrics_a_);
  RateLimiter b(client(), limits, clock_, metrics_b_);
  const int64_t before = ScriptCalls();
  int allowed = 0;
  for (int i = 0; i < 100; ++i) {
    RateLimiter& replica = i % 2 == 0 ? a : b;
    if (replica.Check(kRead, "203.0.113.7", "01JACCOUNT0000000000000000").allowed) ++allowed;
    // While the budget lasts, units come in leases: the first 20 reads took fewer calls.
    if (i == 19) {
      EXPECT_LT(ScriptCalls() - before, 14);
    }
  }
  EXPECT_EQ(allowed, 40);  // shared, and every leased unit was spent
}

TEST_F(RateLimiterTest, BusyReadersAskRedisOncePerLeaseAndWritesEveryTime) {
  RateLimits limits;
  limits.read = {50, 1s, 200};
  limits.read_lease = 16;
  limits.create = {100, 1h, 100};
  RateLimiter limiter(client(), limits, clock_, metrics_a_);
  const int64_t before = ScriptCalls();
  // Leases of 1, 2, 4, 8 and 16 units: 31 reads in 5 calls; then 16 reads per call.
  for (int i = 0; i < 31; ++i) ASSERT_TRUE(limiter.Check(kRead, "203.0.113.7", "").allowed);
  EXPECT_EQ(ScriptCalls() - before, 5);
  for (int i = 0; i < 32; ++i) ASSERT_TRUE(limiter.Check(kRead, "203.0.113.7", "").allowed);
  EXPECT_EQ(ScriptCalls() - before, 7);
  // A quiet reader asks for one unit at a time.
  ASSERT_TRUE(limiter.Check(kRead, "198.51.100.1", "").allowed);
  EXPECT_EQ(ScriptCalls() - before, 8);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(limiter.Check(kCreate, "203.0.113.7", "").allowed);
  EXPECT_EQ(ScriptCalls() - before, 13);
}

// Many residents behind one address (a carrier's NAT): their leases together hold back at
// most twice what they use from the shared address budget.
TEST_F(RateLimiterTest, LeasesOfManyAccountsBehindOneAddressLeaveItsBudgetToOthers) {
  RateLimits limits;
  limits.read = {50, 1min, 200};
  limits.read_lease = 32;
  RateLimiter limiter(client(), limits, clock_, metrics_a_);
  for (int a = 0; a < 50; ++a) {
    const std::string account = "01JACCOUNT00000000000000" + std::to_string(10 + a);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Check(kRead, "203.0.113.7", account).allowed);
  }
  // 150 used (1 + 2 units per account); the address has exactly 50 left for everyone else.
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += limiter.Check(kRead, "203.0.113.7", "").allowed ? 1 : 0;
  EXPECT_EQ(allowed, 50);
}

}  // namespace
}  // namespace cityhub::gateway
