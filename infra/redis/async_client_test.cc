#include "infra/redis/async_client.h"

#include <atomic>
#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/harness/redis_server.h"

namespace cityhub::infra::redis {
namespace {

using cityhub::testing::RedisServer;
using cityhub::testing::RedisTest;
using cityhub::testing::WaitFor;
using namespace std::chrono_literals;

absl::StatusOr<std::vector<Reply>> Call(AsyncClient& client, std::vector<Args> commands) {
  std::promise<absl::StatusOr<std::vector<Reply>>> promise;
  auto future = promise.get_future();
  client.Pipeline(std::move(commands),
                  [&](absl::StatusOr<std::vector<Reply>> r) { promise.set_value(std::move(r)); });
  return future.get();
}

class AsyncClientTest : public RedisTest {};

TEST_F(AsyncClientTest, ManyThreadsGetTheirOwnRepliesInOrder) {
  AsyncClient async(redis().ClientOptions(), 2);
  constexpr int kThreads = 8, kCalls = 5000;
  std::atomic<int> wrong{0}, done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string key = "k" + std::to_string(t);
      std::atomic<int> outstanding{0};
      for (int i = 1; i <= kCalls; ++i) {
        ++outstanding;
        // INCR then GET in one pipeline: both replies must belong to this call.
        async.Pipeline({{"INCR", key}, {"GET", key}}, [&, i](absl::StatusOr<std::vector<Reply>> r) {
          if (!r.ok() || r->size() != 2 || r->at(0).integer() != i ||
              r->at(1).str() != std::to_string(i))
            ++wrong;
          ++done;
          --outstanding;
        });
        // Keep calls of one key in order: Redis keeps per-connection order, but a thread's
        // calls may go to both connections, so wait for each before the next.
        while (outstanding.load() > 0) std::this_thread::yield();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), kThreads * kCalls);
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(AsyncClientTest, ConcurrentCallsPipelineOnOneConnection) {
  AsyncClient async(redis().ClientOptions(), 1);
  std::atomic<int> done{0}, wrong{0};
  for (int i = 0; i < 2000; ++i) {
    async.Pipeline({{"SET", "p" + std::to_string(i), std::to_string(i)}}, [&](auto r) {
      if (!r.ok() || r->at(0).str() != "OK") ++wrong;
      ++done;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return done.load() == 2000; }, 10s));
  EXPECT_EQ(wrong.load(), 0);
  auto check = Call(async, {{"GET", "p1999"}, {"HGET", "p1", "x"}});
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->at(0).str(), "1999");
  EXPECT_TRUE(check->at(1).is_error());  // error replies stay in the result
}

TEST_F(AsyncClientTest, ASlowServerTimesOutAndTheClientCarriesOn) {
  Options options = redis().ClientOptions();
  options.command_timeout = 100ms;
  AsyncClient async(options, 1);
  // A script that keeps Redis busy for 400 ms.
  const std::string busy =
      "local t = redis.call('TIME') local start = t[1] * 1000000 + t[2] "
      "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start > 400000 return 1";
  auto slow = Call(async, {{"EVAL", busy, "0"}});
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded) << slow.status();
  EXPECT_TRUE(WaitFor([&] { return Call(async, {{"PING"}}).ok(); }, 5s));
}

TEST(AsyncClientRestart, SurvivesARedisRestart) {
  RedisServer server;
  Options options = server.ClientOptions();
  AsyncClient async(options, 2);
  ASSERT_TRUE(Call(async, {{"SET", "a", "1"}}).ok());
  server.Kill();
  const auto down = Call(async, {{"GET", "a"}});
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  server.Start();
  EXPECT_TRUE(
      WaitFor([&] { return Call(async, {{"PING"}}).ok() && Call(async, {{"PING"}}).ok(); }, 10s));
}

TEST(AsyncClientAuth, AuthenticatesBeforeUse) {
  RedisServer::Options o;
  o.password = "s3cret-pass";
  RedisServer server(o);
  AsyncClient good(server.ClientOptions(), 1);
  EXPECT_TRUE(Call(good, {{"SET", "x", "1"}}).ok());
  Options bad_options = server.ClientOptions();
  bad_options.password = "wrong";
  AsyncClient bad(bad_options, 1);
  const auto refused = Call(bad, {{"GET", "x"}});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(AsyncClientTest, DestroyingTheClientFailsCallsInFlight) {
  std::atomic<int> finished{0};
  {
    AsyncClient async(redis().ClientOptions(), 1);
    for (int i = 0; i < 100; ++i) {
      async.Pipeline({{"PING"}}, [&](auto) { ++finished; });
    }
  }
  EXPECT_EQ(finished.load(), 100);  // each call completed, one way or the other
}

}  // namespace
}  // namespace cityhub::infra::redis
