// The rate limiter against a real Redis: GCRA budgets shared by replicas, reads in leases.
#include <gtest/gtest.h>

#include <future>
#include <regex>

#include "gateway/rate_limit.h"
#include "gateway/rate_limit_testing.h"
#include "tests/harness/redis_server.h"

namespace cityhub::gateway {
namespace {

using namespace std::chrono_literals;
constexpr auto kRead = cityhub::api::RATE_CLASS_READ;
constexpr auto kCreate = cityhub::api::RATE_CLASS_CREATE;
constexpr auto kWrite = cityhub::api::RATE_CLASS_WRITE;

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
  limits.anonymous_read = {10, 1s, 10};
  limits.read_lease = 4;
  RateLimiter limiter(async_client(), limits, clock_, metrics_a_);
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(CheckNow(limiter, kRead, "203.0.113.7", "").allowed) << i;
  const Decision refused = CheckNow(limiter, kRead, "203.0.113.7", "");
  EXPECT_FALSE(refused.allowed);
  EXPECT_GT(refused.retry_after.count(), 0);
  EXPECT_LE(refused.retry_after.count(), 100);
  EXPECT_TRUE(CheckNow(limiter, kRead, "198.51.100.9", "").allowed);  // another address
  clock_.Advance(100ms);
  EXPECT_TRUE(CheckNow(limiter, kRead, "203.0.113.7", "").allowed);
}

TEST_F(RateLimiterTest, TwoReplicasLeasingReadsNeverSpendMoreThanTheBudget) {
  RateLimits limits;
  limits.read = {40, 1min, 40};  // leases of up to min(4, 40 / 8) = 4 units
  limits.read_lease = 4;
  RateLimiter a(async_client(), limits, clock_, metrics_a_);
  RateLimiter b(async_client(), limits, clock_, metrics_b_);
  const int64_t before = ScriptCalls();
  int allowed = 0;
  for (int i = 0; i < 100; ++i) {
    RateLimiter& replica = i % 2 == 0 ? a : b;
    if (CheckNow(replica, kRead, "203.0.113.7", "01JACCOUNT0000000000000000").allowed) ++allowed;
    // While the budget lasts, units come in leases: the first 20 reads took fewer calls.
    if (i == 19) {
      EXPECT_LT(ScriptCalls() - before, 14);
    }
  }
  EXPECT_EQ(allowed, 40);  // shared, and every leased unit was spent
}

TEST_F(RateLimiterTest, BusyReadersAskRedisOncePerLeaseAndWritesEveryTime) {
  RateLimits limits;
  limits.anonymous_read = {50, 1s, 200};
  limits.read_lease = 16;
  limits.anonymous_create = {100, 1h, 100};
  RateLimiter limiter(async_client(), limits, clock_, metrics_a_);
  const int64_t before = ScriptCalls();
  // Leases of 1, 2, 4, 8 and 16 units: 31 reads in 5 calls; then 16 reads per call.
  for (int i = 0; i < 31; ++i) ASSERT_TRUE(CheckNow(limiter, kRead, "203.0.113.7", "").allowed);
  EXPECT_EQ(ScriptCalls() - before, 5);
  for (int i = 0; i < 32; ++i) ASSERT_TRUE(CheckNow(limiter, kRead, "203.0.113.7", "").allowed);
  EXPECT_EQ(ScriptCalls() - before, 7);
  // A quiet reader asks for one unit at a time.
  ASSERT_TRUE(CheckNow(limiter, kRead, "198.51.100.1", "").allowed);
  EXPECT_EQ(ScriptCalls() - before, 8);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(CheckNow(limiter, kCreate, "203.0.113.7", "").allowed);
  EXPECT_EQ(ScriptCalls() - before, 13);
}

// Residents behind one address (a carrier's NAT) do not share a budget once signed in: each
// account has its own, and anonymous callers there have the address's, sized for many.
TEST_F(RateLimiterTest, SignedInCallersSpendTheirAccountsBudgetAndAnonymousOnesTheAddresss) {
  RateLimits limits;
  limits.create = {2, 1h, 2};
  limits.anonymous_create = {5, 1h, 5};
  RateLimiter limiter(async_client(), limits, clock_, metrics_a_);
  for (const char* account : {"01JACCOUNT0000000000000001", "01JACCOUNT0000000000000002"}) {
    std::vector<bool> allowed;
    for (int i = 0; i < 3; ++i)
      allowed.push_back(CheckNow(limiter, kCreate, "203.0.113.7", account).allowed);
    EXPECT_EQ(allowed, (std::vector<bool>{true, true, false})) << account;
  }
  int anonymous = 0;
  for (int i = 0; i < 8; ++i)
    anonymous += CheckNow(limiter, kCreate, "203.0.113.7", "").allowed ? 1 : 0;
  EXPECT_EQ(anonymous, 5);
  EXPECT_TRUE(CheckNow(limiter, kCreate, "198.51.100.9", "").allowed);  // another address
}

// Photos of anonymous reports (#14): their own budget per address, apart from the address's
// reports; signed in, the account's create budget.
TEST_F(RateLimiterTest, AnonymousUploadsSpendTheirOwnBudgetPerAddress) {
  constexpr auto kUpload = cityhub::api::RATE_CLASS_UPLOAD;
  RateLimits limits;
  limits.create = {2, 1h, 2};
  limits.anonymous_create = {3, 1h, 3};
  limits.anonymous_upload = {4, 1h, 4};
  RateLimiter limiter(async_client(), limits, clock_, metrics_a_);
  int uploads = 0;
  for (int i = 0; i < 6; ++i)
    uploads += CheckNow(limiter, kUpload, "203.0.113.7", "").allowed ? 1 : 0;
  EXPECT_EQ(uploads, 4);
  // The address's reports are untouched by its photos, and the reverse.
  int reports = 0;
  for (int i = 0; i < 5; ++i)
    reports += CheckNow(limiter, kCreate, "203.0.113.7", "").allowed ? 1 : 0;
  EXPECT_EQ(reports, 3);
  EXPECT_TRUE(CheckNow(limiter, kUpload, "198.51.100.9", "").allowed);  // another address
  int signed_in = 0;
  for (int i = 0; i < 4; ++i)
    signed_in +=
        CheckNow(limiter, kUpload, "203.0.113.7", "01JACCOUNT0000000000000001").allowed ? 1 : 0;
  EXPECT_EQ(signed_in, 2);
}

// A create refused as invalid gives its unit back and pays with a write unit instead; once the
// write budget is spent too, refused creates cost creates again (they are never free).
TEST_F(RateLimiterTest, ARefusedCreatesUnitMovesToTheWriteBudget) {
  RateLimits limits;
  limits.create = {2, 1h, 2};
  limits.write = {3, 1h, 3};
  RateLimiter limiter(async_client(), limits, clock_, metrics_a_);
  const std::string account = "01JACCOUNT0000000000000001";
  const auto refund = [&] {
    std::promise<void> done;
    limiter.RefundCreate("203.0.113.7", account, [&] { done.set_value(); });
    done.get_future().wait();
  };
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(CheckNow(limiter, kCreate, "203.0.113.7", account).allowed) << i;
    refund();
  }
  EXPECT_FALSE(CheckNow(limiter, kWrite, "203.0.113.7", account).allowed);  // paid with writes
  ASSERT_TRUE(CheckNow(limiter, kCreate, "203.0.113.7", account).allowed);
  refund();  // no write left: the unit stays spent
  EXPECT_TRUE(CheckNow(limiter, kCreate, "203.0.113.7", account).allowed);
  EXPECT_FALSE(CheckNow(limiter, kCreate, "203.0.113.7", account).allowed);
}

// 429s are the cheapest answer: once Redis refused a caller, its refusals come from memory until
// the Retry-After Redis gave has passed, for every class and for partners.
TEST_F(RateLimiterTest, AnOverBudgetCallerIsRefusedFromMemoryUntilItsRetryAfter) {
  RateLimits limits;
  limits.anonymous_create = {2, 1h, 2};
  limits.anonymous_read = {10, 1s, 10};
  limits.read_lease = 1;
  limits.partner = {1, 1h, 1};
  RateLimiter limiter(async_client(), limits, clock_, metrics_a_);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(CheckNow(limiter, kCreate, "203.0.113.7", "").allowed);
  const Decision first = CheckNow(limiter, kCreate, "203.0.113.7", "");
  ASSERT_FALSE(first.allowed);
  const int64_t before = ScriptCalls();
  for (int i = 0; i < 50; ++i) {
    const Decision again = CheckNow(limiter, kCreate, "203.0.113.7", "");
    ASSERT_FALSE(again.allowed);
    EXPECT_EQ(again.retry_after, first.retry_after);  // the clock has not moved
  }
  clock_.Advance(first.retry_after / 2);
  const Decision halfway = CheckNow(limiter, kCreate, "203.0.113.7", "");
  EXPECT_FALSE(halfway.allowed);
  EXPECT_EQ(halfway.retry_after, first.retry_after - first.retry_after / 2);
  EXPECT_EQ(ScriptCalls() - before, 0);
  // Other callers and other classes of the same caller still ask Redis.
  EXPECT_TRUE(CheckNow(limiter, kCreate, "198.51.100.9", "").allowed);
  EXPECT_TRUE(CheckNow(limiter, kRead, "203.0.113.7", "").allowed);
  EXPECT_EQ(ScriptCalls() - before, 2);
  // Reads: the same once refused.
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(CheckNow(limiter, kRead, "203.0.113.7", "").allowed);
  ASSERT_FALSE(CheckNow(limiter, kRead, "203.0.113.7", "").allowed);
  const int64_t reads = ScriptCalls();
  for (int i = 0; i < 20; ++i) ASSERT_FALSE(CheckNow(limiter, kRead, "203.0.113.7", "").allowed);
  EXPECT_EQ(ScriptCalls(), reads);
  // Partners too.
  ASSERT_TRUE(CheckPartnerNow(limiter, "01JAPIKEY00000000000000000").allowed);
  ASSERT_FALSE(CheckPartnerNow(limiter, "01JAPIKEY00000000000000000").allowed);
  const int64_t partner = ScriptCalls();
  ASSERT_FALSE(CheckPartnerNow(limiter, "01JAPIKEY00000000000000000").allowed);
  EXPECT_EQ(ScriptCalls(), partner);
  // Once the Retry-After has passed, Redis decides again (a unit has come back by then).
  clock_.Advance(first.retry_after);
  EXPECT_TRUE(CheckNow(limiter, kCreate, "203.0.113.7", "").allowed);
  EXPECT_GT(ScriptCalls(), partner);
  const std::string text = metrics_a_.Render();
  EXPECT_NE(text.find("gateway_rate_limit_refused_from_memory_total 72"), std::string::npos)
      << text;
}

// A deep Open311 page charges several units at once (ChargeMore): all of them or none, and a
// refusal says when that many fit, in Redis and in the local fallback alike.
TEST_F(RateLimiterTest, SeveralUnitsAreChargedAllOrNone) {
  RateLimits limits;
  limits.anonymous_read = {10, 1s, 10};  // one unit every 100 ms, ten at once
  RateLimiter limiter(async_client(), limits, clock_, metrics_a_);
  ASSERT_TRUE(CheckNow(limiter, kRead, "203.0.113.7", "", 8).allowed);
  const Decision five = CheckNow(limiter, kRead, "203.0.113.7", "", 5);
  EXPECT_FALSE(five.allowed) << "two left, five asked";
  EXPECT_GE(five.retry_after.count(), 200);  // three more units take 300 ms
  EXPECT_LE(five.retry_after.count(), 300);
  clock_.Advance(five.retry_after);  // remembered until then; now five fit exactly
  EXPECT_TRUE(CheckNow(limiter, kRead, "203.0.113.7", "", 5).allowed) << "the refusal spent none";
  EXPECT_FALSE(CheckNow(limiter, kRead, "203.0.113.7", "", 1).allowed);
}

TEST(RateLimiterLocal, SeveralUnitsAreChargedAllOrNoneWithoutRedis) {
  infra::redis::Options unreachable;
  unreachable.port = 1;  // nothing listens there
  unreachable.connect_timeout = 10ms;
  infra::redis::AsyncClient redis(unreachable, 1);
  infra::ManualClock clock;
  infra::MetricsRegistry metrics;
  RateLimits limits;
  limits.anonymous_write = {10, 1s, 10};
  RateLimiter limiter(redis, limits, clock, metrics);
  ASSERT_TRUE(CheckNow(limiter, kWrite, "203.0.113.7", "", 8).allowed);
  const Decision five = CheckNow(limiter, kWrite, "203.0.113.7", "", 5);
  EXPECT_FALSE(five.allowed);
  EXPECT_GE(five.retry_after.count(), 200);
  clock.Advance(five.retry_after);
  EXPECT_TRUE(CheckNow(limiter, kWrite, "203.0.113.7", "", 5).allowed);
}

}  // namespace
}  // namespace cityhub::gateway
