#include "infra/events/consumer.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "infra/events/events.h"
#include "tests/harness/redis_server.h"

namespace cityhub::infra::events {
namespace {

using cityhub::testing::RedisTest;
using namespace std::chrono_literals;

class ConsumerTest : public RedisTest {
 protected:
  ConsumerOptions Options(const std::string& consumer, const std::string& group = "g") {
    ConsumerOptions o;
    o.stream = "s";
    o.group = group;
    o.dead_letter_stream = group + ":dead";
    o.consumer = consumer;
    o.block = 50ms;
    o.claim_idle = 0ms;
    o.claim_every = 0ms;
    o.trim_every = 1h;
    o.retention = 0ms;
    o.max_deliveries = 3;
    return o;
  }

  void Produce(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(
          client().Command({"XADD", "s", "*", "type", "T", "event", std::to_string(i)}).ok());
    }
  }

  int64_t Length(const std::string& stream) {
    return client().Command({"XLEN", stream})->integer();
  }

  int64_t Pending(const std::string& group) {
    return client().Command({"XPENDING", "s", group})->elements()[0].integer();
  }

  MetricsRegistry metrics_;
  SystemClock clock_;
};

TEST_F(ConsumerTest, HandlesEveryEntryInOrderAndAcknowledges) {
  Produce(250);
  std::vector<std::string> seen;
  Consumer consumer(
      client(), Options("a"),
      [&](const StreamEntry& e) {
        seen.push_back(e.payload);
        return absl::OkStatus();
      },
      metrics_, clock_);
  while (consumer.RunOnce() > 0 || seen.size() < 250) {
    if (seen.size() >= 250) break;
  }
  ASSERT_EQ(seen.size(), 250u);
  for (int i = 0; i < 250; ++i) EXPECT_EQ(seen[i], std::to_string(i));
  EXPECT_EQ(Pending("g"), 0);
  EXPECT_EQ(consumer.RunOnce(), 0);
}

TEST_F(ConsumerTest, AHandlerObservingLagRecordsEachEntrysTimeSinceItsArrival) {
  Produce(3);
  Histogram lag(LagBuckets());
  ManualClock later(std::chrono::system_clock::now() + 2min);
  int calls = 0;
  ConsumerOptions o = Options("a");
  o.claim_idle = 1h;  // the failed entry is not taken again within this test
  Consumer consumer(client(), o,
                    ObservingLag(
                        [&](const StreamEntry& e) {
                          ++calls;
                          return e.payload == "1" ? absl::UnavailableError("later")
                                                  : absl::OkStatus();
                        },
                        lag, later),
                    metrics_, clock_);
  consumer.RunOnce();
  EXPECT_EQ(calls, 3);
  // Handled or failed, each entry is observed once, about two minutes after it arrived.
  EXPECT_EQ(lag.Count(), 3u);
  EXPECT_GE(lag.Sum(), 3 * 119.0);
  EXPECT_LE(lag.Sum(), 3 * 125.0);
}

// Lanes: a batch is handled on several threads, but the entries of one key (here: i % 7) on
// one of them, in stream order.
TEST_F(ConsumerTest, LanesKeepTheOrderOfEachKeyAndShareTheBatch) {
  Produce(350);
  ConsumerOptions o = Options("a");
  o.lanes = 4;
  o.order_key = [](const StreamEntry& e) { return std::to_string(std::stoi(e.payload) % 7); };
  std::mutex mu;
  std::map<int, std::vector<int>> by_key;
  std::set<std::thread::id> threads;
  Consumer consumer(
      client(), o,
      [&](const StreamEntry& e) {
        std::lock_guard lock(mu);
        const int n = std::stoi(e.payload);
        by_key[n % 7].push_back(n);
        threads.insert(std::this_thread::get_id());
        return absl::OkStatus();
      },
      metrics_, clock_);
  for (int i = 0; i < 20; ++i) {
    consumer.RunOnce();
    std::lock_guard lock(mu);
    size_t total = 0;
    for (const auto& [k, v] : by_key) total += v.size();
    if (total == 350) break;
  }
  size_t total = 0;
  for (const auto& [k, v] : by_key) {
    total += v.size();
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end())) << "key " << k;
  }
  EXPECT_EQ(total, 350u);
  EXPECT_GT(threads.size(), 1u);
  EXPECT_EQ(Pending("g"), 0);
}

TEST_F(ConsumerTest, FailuresAreRetriedThenDeadLetteredWithTheReason) {
  Produce(2);
  std::map<std::string, int> attempts;
  Consumer consumer(
      client(), Options("a"),
      [&](const StreamEntry& e) {
        ++attempts[e.payload];
        if (e.payload == "1") return absl::UnavailableError("receiver down");
        return absl::OkStatus();
      },
      metrics_, clock_);
  for (int i = 0; i < 10; ++i) consumer.RunOnce();
  EXPECT_EQ(attempts["0"], 1);
  EXPECT_EQ(attempts["1"], 3);
  EXPECT_EQ(Pending("g"), 0);
  auto dead = client().Command({"XRANGE", "g:dead", "-", "+"});
  ASSERT_EQ(dead->elements().size(), 1u);
  const auto& fields = dead->elements()[0].elements()[1].elements();
  std::map<std::string, std::string> f;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) f[fields[i].str()] = fields[i + 1].str();
  EXPECT_EQ(f["event"], "1");
  EXPECT_EQ(f["reason"], "receiver down");
  EXPECT_EQ(f["stream"], "s");
}

TEST_F(ConsumerTest, TwoReplicasShareTheWorkWithoutDoubling) {
  Produce(500);
  std::mutex mu;
  std::multiset<std::string> seen;
  auto handler = [&](const StreamEntry& e) {
    std::lock_guard lock(mu);
    seen.insert(e.payload);
    return absl::OkStatus();
  };
  ConsumerOptions oa = Options("a"), ob = Options("b");
  oa.batch = ob.batch = 20;
  oa.claim_idle = ob.claim_idle = 1h;
  Consumer a(client(), oa, handler, metrics_, clock_);
  Consumer b(client(), ob, handler, metrics_, clock_);
  a.Start();
  b.Start();
  ASSERT_TRUE(cityhub::testing::WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return seen.size() >= 500;
      },
      10s));
  a.Stop();
  b.Stop();
  EXPECT_EQ(seen.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(seen.count(std::to_string(i)), 1u) << i;
  auto consumers = client().Command({"XINFO", "CONSUMERS", "s", "g"});
  EXPECT_EQ(consumers->elements().size(), 2u);
}

TEST_F(ConsumerTest, EntriesOfADeadReplicaAreClaimed) {
  Produce(3);
  ASSERT_TRUE(client().Command({"XGROUP", "CREATE", "s", "g", "0"}).ok());
  // Replica "dead" reads everything and dies before acknowledging.
  ASSERT_TRUE(client()
                  .Command({"XREADGROUP", "GROUP", "g", "dead", "COUNT", "10", "STREAMS", "s", ">"})
                  .ok());
  std::vector<std::string> seen;
  Consumer survivor(
      client(), Options("alive"),
      [&](const StreamEntry& e) {
        seen.push_back(e.payload);
        return absl::OkStatus();
      },
      metrics_, clock_);
  survivor.RunOnce();
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(Pending("g"), 0);
}

TEST_F(ConsumerTest, ARestartedReplicaDrainsItsOwnPendingEntriesFirst) {
  Produce(3);
  ASSERT_TRUE(client().Command({"XGROUP", "CREATE", "s", "g", "0"}).ok());
  ASSERT_TRUE(
      client().Command({"XREADGROUP", "GROUP", "g", "me", "COUNT", "2", "STREAMS", "s", ">"}).ok());
  std::vector<std::string> seen;
  ConsumerOptions o = Options("me");
  o.claim_every = 1h;
  Consumer restarted(
      client(), o,
      [&](const StreamEntry& e) {
        seen.push_back(e.payload);
        return absl::OkStatus();
      },
      metrics_, clock_);
  restarted.RunOnce();
  EXPECT_EQ(seen, (std::vector<std::string>{"0", "1"}));
  restarted.RunOnce();
  EXPECT_EQ(seen, (std::vector<std::string>{"0", "1", "2"}));
}

TEST_F(ConsumerTest, TrimmingNeverDropsWhatAGroupHasNotAcknowledged) {
  Produce(10);
  // Well after the entries, so that the retention bound (now, with no retention) lies above all
  // of them: with the real clock a trim in the entries' own millisecond would keep some.
  ManualClock later(std::chrono::system_clock::now() + 1h);
  int slow_calls = 0;
  ConsumerOptions slow_options = Options("s", "slow");
  slow_options.claim_every = 1h;
  Consumer slow(
      client(), slow_options,
      [&](const StreamEntry&) {
        return ++slow_calls <= 4 ? absl::OkStatus() : absl::UnavailableError("busy");
      },
      metrics_, later);
  Consumer fast(
      client(), Options("f", "fast"), [](const StreamEntry&) { return absl::OkStatus(); }, metrics_,
      later);
  slow.RunOnce();  // handles 4 entries; 4..9 stay pending in "slow"
  fast.RunOnce();  // handles all 10
  ASSERT_TRUE(fast.Trim().ok());
  EXPECT_EQ(Length("s"), 6);  // entries 4..9 remain: 4 is the oldest pending in "slow"
  // Once "slow" is through too, everything but the last delivered entry can go.
  Consumer slow_fixed(
      client(), Options("s2", "slow"), [](const StreamEntry&) { return absl::OkStatus(); },
      metrics_, later);
  slow_fixed.Claim();
  ASSERT_TRUE(fast.Trim().ok());
  EXPECT_EQ(Length("s"), 1);
}

TEST_F(ConsumerTest, TrimmingKeepsTheRetentionWindow) {
  Produce(5);
  ConsumerOptions o = Options("a");
  o.retention = 1h;
  Consumer consumer(
      client(), o, [](const StreamEntry&) { return absl::OkStatus(); }, metrics_, clock_);
  consumer.RunOnce();
  consumer.RunOnce();
  ASSERT_TRUE(consumer.Trim().ok());
  EXPECT_EQ(Length("s"), 5);
}

// A replica that restarts with the same address is the same consumer, so it finds its own
// pending entries first (ARestartedReplicaDrainsItsOwnPendingEntriesFirst); two replicas on
// one host are told apart by their addresses.
TEST_F(ConsumerTest, AnEventAppendedInATransactionIsConsumedWithItsType) {
  cityhub::events::v1::Event event;
  event.mutable_request_created()->set_request_id("r1");
  redis::Transaction tx;
  tx.Then({"SET", "request:r1", "data"});
  Append(tx, "s", event);
  ASSERT_TRUE(tx.Run(client()).ok());
  std::vector<StreamEntry> seen;
  Consumer consumer(
      client(), Options("c1"),
      [&](const StreamEntry& e) {
        seen.push_back(e);
        return absl::OkStatus();
      },
      metrics_, clock_);
  for (int i = 0; i < 10 && seen.empty(); ++i) consumer.RunOnce();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].type, "RequestCreated");
  cityhub::events::v1::Event parsed;
  ASSERT_TRUE(parsed.ParseFromString(seen[0].payload));
  EXPECT_EQ(OrderKey(parsed), "r1");
}

TEST(DefaultConsumerName, IsStableAcrossRestartsAndUniquePerAddress) {
  EXPECT_EQ(DefaultConsumerName("0.0.0.0:7003"), DefaultConsumerName("0.0.0.0:7003"));
  EXPECT_NE(DefaultConsumerName("127.0.0.1:7003"), DefaultConsumerName("127.0.0.1:17003"));
  EXPECT_THAT(DefaultConsumerName("127.0.0.1:7003"), ::testing::EndsWith("-127.0.0.1:7003"));
}

}  // namespace
}  // namespace cityhub::infra::events
