#include "infra/redis/client.h"

#include <atomic>
#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "infra/metrics.h"
#include "infra/redis/async_client.h"
#include "infra/redis/transaction.h"
#include "tests/harness/redis_server.h"

namespace cityhub::infra::redis {
namespace {

using cityhub::testing::RedisServer;
using cityhub::testing::RedisTest;
using cityhub::testing::WaitFor;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// A number from INFO's text, e.g. InfoField(info, "total_reads_processed").
int64_t InfoField(const std::string& info, const std::string& name) {
  const size_t at = info.find(name + ":");
  if (at == std::string::npos) return -1;
  const size_t end = info.find('\r', at);
  int64_t value = -1;
  EXPECT_TRUE(
      absl::SimpleAtoi(info.substr(at + name.size() + 1, end - at - name.size() - 1), &value));
  return value;
}

class RedisClientTest : public RedisTest {};

TEST_F(RedisClientTest, SetAndGetAreBinarySafe) {
  const std::string value("a\0b\xff\r\n", 6);
  ASSERT_TRUE(client().Command({"SET", "k", value}).ok());
  auto got = AsString(client().Command({"GET", "k"}));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, value);
  EXPECT_EQ(AsString(client().Command({"GET", "missing"})).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RedisClientTest, EightThreadsShareThePoolWithCorrectReplies) {
  Options options = redis().ClientOptions();
  options.pool_size = 4;  // fewer connections than threads: callers wait their turn
  Client shared(options);
  constexpr int kThreads = 8;
  constexpr int kCommands = 10000;
  std::atomic<int> wrong{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string key = "counter:" + std::to_string(t);
      for (int i = 1; i <= kCommands; ++i) {
        auto reply = AsInteger(shared.Command({"INCR", key}));
        if (!reply.ok()) {
          ++failed;
        } else if (*reply != i) {
          ++wrong;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(shared.open_connections(), 4);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(AsString(client().Command({"GET", "counter:" + std::to_string(t)})).value(),
              std::to_string(kCommands));
  }
}

TEST_F(RedisClientTest, PipelineSendsAThousandCommandsInOneRoundTrip) {
  std::vector<Args> commands;
  for (int i = 0; i < 1000; ++i)
    commands.push_back({"SET", "p:" + std::to_string(i), std::to_string(i)});
  commands.push_back({"GET", "p:999"});
  commands.push_back({"HGET", "p:1", "field"});  // WRONGTYPE: stays in the results

  const auto before = AsString(client().Command({"INFO", "stats"}));
  ASSERT_TRUE(before.ok());
  auto replies = client().Pipeline(commands);
  const auto after = AsString(client().Command({"INFO", "stats"}));
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 1002u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ((*replies)[i].str(), "OK");
  EXPECT_EQ((*replies)[1000].str(), "999");
  EXPECT_TRUE((*replies)[1001].is_error());
  // Sent one command at a time, the server would need over a thousand socket reads; one
  // round trip arrives in a handful of reads (its 16 KiB read buffer fills a few times).
  const int64_t reads =
      InfoField(*after, "total_reads_processed") - InfoField(*before, "total_reads_processed");
  EXPECT_LT(reads, 20) << "server reads for the pipeline: " << reads;
}

TEST_F(RedisClientTest, TransactionsAreAtomic) {
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    Client reader_client(redis().ClientOptions());
    while (!stop.load()) {
      auto reply = reader_client.Command({"MGET", "a", "b"});
      if (reply.ok() && reply->elements()[0].str() != reply->elements()[1].str()) ++torn;
    }
  });
  for (int i = 0; i < 2000; ++i) {
    Transaction tx;
    tx.Then({"INCR", "a"}).Then({"INCR", "b"});
    auto replies = tx.Run(client());
    ASSERT_TRUE(replies.ok()) << replies.status();
    ASSERT_EQ(replies->size(), 2u);
    EXPECT_EQ((*replies)[0].integer(), (*replies)[1].integer());
  }
  stop.store(true);
  reader.join();
  EXPECT_EQ(torn.load(), 0);
}

TEST_F(RedisClientTest, ScriptsSurviveScriptFlush) {
  const Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  EXPECT_EQ(AsInteger(client().Eval(script, {"s"}, {"5"})).value(), 5);
  ASSERT_TRUE(client().Command({"SCRIPT", "FLUSH"}).ok());
  EXPECT_EQ(AsInteger(client().Eval(script, {"s"}, {"2"})).value(), 7);
  EXPECT_EQ(client().Command({"SCRIPT", "EXISTS", script.sha()})->elements()[0].integer(), 1);
}

TEST_F(RedisClientTest, ScriptErrorsMapToStatusCodes) {
  const Script script("return redis.error_reply('NOT_FOUND request 42 does not exist')");
  const auto reply = client().Eval(script, {}, {});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(reply.status().message(), "request 42 does not exist");

  ASSERT_TRUE(client().Command({"SET", "str", "x"}).ok());
  EXPECT_EQ(client().Command({"HGET", "str", "f"}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client().Command({"NOSUCHCOMMAND"}).status().code(), absl::StatusCode::kInternal);
}

TEST_F(RedisClientTest, ASlowCommandTimesOutAndTheClientCarriesOn) {
  Options options = redis().ClientOptions();
  options.command_timeout = 100ms;
  Client fast(options);
  const auto blocked = fast.Command({"BLPOP", "empty-list", "1"});
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kDeadlineExceeded) << blocked.status();
  const auto after = fast.Command({"PING"});
  EXPECT_TRUE(after.ok()) << after.status();
  // A blocking command may ask for a longer timeout.
  auto waited = fast.BlockingCommand({"BLPOP", "empty-list", "0.2"}, 1000ms);
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_TRUE(waited->is_nil());
}

TEST_F(RedisClientTest, APoolWithEveryConnectionBusyAnswersUnavailable) {
  Options options = redis().ClientOptions();
  options.pool_size = 1;
  options.pool_wait_timeout = 50ms;
  Client tiny(options);
  std::thread holder([&] { (void)tiny.BlockingCommand({"BLPOP", "nothing", "0.5"}, 2000ms); });
  ASSERT_TRUE(WaitFor([&] { return tiny.open_connections() == 1; }, 2000ms));
  std::this_thread::sleep_for(50ms);  // let the holder send its BLPOP
  const auto reply = tiny.Command({"PING"});
  holder.join();
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(reply.status().message()), HasSubstr("busy"));
}

TEST_F(RedisClientTest, PoolWaitsAreObservedPerClientName) {
  MetricsRegistry metrics;
  Options options = redis().ClientOptions();
  options.client_name = "tests";
  options.pool_size = 1;
  ExportPoolWait(metrics, options);
  Client named(options);
  ASSERT_TRUE(named.Command({"PING"}).ok());
  ASSERT_TRUE(named.Command({"PING"}).ok());
  EXPECT_EQ(options.pool_wait->Count(), 2u);
  EXPECT_THAT(metrics.Render(), HasSubstr("redis_pool_wait_seconds_count{client=\"tests\"} 2"));
}

TEST_F(RedisClientTest, BothClientsNameTheirConnections) {
  Options options = redis().ClientOptions();
  options.client_name = "named-sync";
  Client sync(options);
  ASSERT_TRUE(sync.Command({"PING"}).ok());
  options.client_name = "named-async";
  AsyncClient async(options, 1);
  std::promise<absl::StatusOr<std::vector<Reply>>> promise;
  async.Pipeline({{"PING"}}, [&](auto r) { promise.set_value(std::move(r)); });
  ASSERT_TRUE(promise.get_future().get().ok());
  const auto list = AsString(client().Command({"CLIENT", "LIST"}));
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(*list, HasSubstr("name=named-sync "));
  EXPECT_THAT(*list, HasSubstr("name=named-async "));
}

TEST(RedisClientRestart, TheSameClientWorksAgainAfterRedisIsKilledAndRestarted) {
  RedisServer server;
  Client client(server.ClientOptions());
  ASSERT_TRUE(client.Command({"SET", "before", "1"}).ok());
  // Several idle pooled connections, all of which go stale with the restart.
  std::vector<std::thread> warm;
  for (int i = 0; i < 4; ++i) warm.emplace_back([&] { (void)client.Command({"PING"}); });
  for (auto& t : warm) t.join();

  server.Kill();
  const auto down = client.Command({"PING"});
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();

  server.Start();
  EXPECT_TRUE(WaitFor([&] { return client.Command({"PING"}).ok(); }, 5000ms));
  // Once one command succeeds, the stale connections have been dropped: the next ones succeed.
  for (int i = 0; i < 20; ++i) {
    const auto reply = client.Command({"INCR", "after"});
    ASSERT_TRUE(reply.ok()) << reply.status();
  }
}

TEST(RedisClientAuth, AuthenticatesWithPasswordAndAclUser) {
  RedisServer::Options options;
  options.password = "correct horse";
  RedisServer server(options);

  Options no_password = server.ClientOptions();
  no_password.password.clear();
  const auto refused = Client(no_password).Command({"SET", "k", "v"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();

  Options wrong = server.ClientOptions();
  wrong.password = "battery staple";
  const auto wrong_reply = Client(wrong).Command({"PING"});
  EXPECT_EQ(wrong_reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(wrong_reply.status().message()), ::testing::Not(HasSubstr("battery")));

  Client admin(server.ClientOptions());
  ASSERT_TRUE(
      admin.Command({"ACL", "SETUSER", "app", "on", ">app-secret", "~app:*", "+@all"}).ok());
  Options acl = server.ClientOptions();
  acl.user = "app";
  acl.password = "app-secret";
  Client app(acl);
  EXPECT_TRUE(app.Command({"SET", "app:k", "v"}).ok());
  EXPECT_FALSE(app.Command({"SET", "other:k", "v"}).ok());  // outside its key pattern
}

TEST(RedisUrl, ParsesEveryPart) {
  auto o = ParseUrl("redis://app:pw@10.0.0.5:6380/3");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->user, "app");
  EXPECT_EQ(o->password, "pw");
  EXPECT_EQ(o->host, "10.0.0.5");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->db, 3);
  auto plain = ParseUrl("redis://localhost");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, 6379);
  auto v6 = ParseUrl("redis://[::1]:7000");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_FALSE(plain->tls);
  auto tls = ParseUrl("rediss://svc@redis:6380");
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->user, "svc");
  EXPECT_EQ(tls->host, "redis");
  EXPECT_EQ(tls->port, 6380);
  EXPECT_FALSE(ParseUrl("http://x").ok());
  EXPECT_FALSE(ParseUrl("redisx://x").ok());
  EXPECT_FALSE(ParseUrl("redis://x:port").ok());
  EXPECT_FALSE(ParseUrl("redis://x/99").ok());
}

}  // namespace
}  // namespace cityhub::infra::redis
