#include "infra/redis/async_client.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
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
using std::chrono::steady_clock;

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

// A TCP listener that never accepts: the kernel completes the handshake, nothing ever answers,
// so a Redis handshake (AUTH) against it waits the whole command timeout.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(address);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), len) != 0 || ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &len) != 0) {
      ADD_FAILURE() << "cannot listen";
    }
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  int port() const { return port_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A listener that accepts connections and plays `script` on each, on a thread of its own, one
// connection after the other; the connections stay open until it is destroyed.
class ScriptedServer {
 public:
  // `script` gets the connection and a flag that turns true when the server stops.
  using Script = std::function<void(int fd, const std::atomic<bool>& stop)>;
  explicit ScriptedServer(Script script) : script_(std::move(script)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stop_.store(true);
    thread_.join();
    for (int fd : accepted_) ::close(fd);
  }
  int port() const { return listener_.port(); }
  int accepted() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(accepted_.size());
  }

 private:
  void Serve() {
    while (!stop_.load()) {
      pollfd p{listener_.fd(), POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) continue;
      const int fd = ::accept(listener_.fd(), nullptr, nullptr);
      if (fd < 0) continue;
      {
        std::lock_guard lock(mu_);
        accepted_.push_back(fd);
      }
      script_(fd, stop_);
    }
  }

  SilentListener listener_;
  Script script_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<int> accepted_;
  std::thread thread_;  // last: starts after everything it uses
};

// Reads from `fd` until `text` has arrived (or the server stops).
void ReadUntil(int fd, const std::string& text, const std::atomic<bool>& stop) {
  std::string seen;
  char buffer[512];
  while (!stop.load() && seen.find(text) == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return;
    seen.append(buffer, static_cast<size_t>(n));
  }
}

// Calls Pipeline and returns how long the call itself took, not its callback.
template <typename Done>
steady_clock::duration TimedPipeline(AsyncClient& client, std::vector<Args> commands, Done done) {
  const auto start = steady_clock::now();
  client.Pipeline(std::move(commands), std::move(done));
  return steady_clock::now() - start;
}

TEST(AsyncClientConnect, ACallerNeverWaitsForAConnectToAServerThatDoesNotAnswer) {
  SilentListener silent;
  Options options;
  options.port = silent.port();
  options.password = "secret";  // the handshake waits for AUTH's answer
  options.connect_timeout = 1s;
  options.command_timeout = 1s;
  std::vector<std::promise<absl::StatusOr<std::vector<Reply>>>> results(5);
  AsyncClient async(options, 1);  // after what its callbacks use
  for (auto& result : results) {
    const auto took = TimedPipeline(async, {{"PING"}}, [&](auto r) { result.set_value(r); });
    EXPECT_LT(took, 50ms);
  }
  // Each call fails on its own, once its command timeout has passed.
  for (auto& result : results) {
    auto future = result.get_future();
    ASSERT_EQ(future.wait_for(3s), std::future_status::ready);
    EXPECT_EQ(future.get().status().code(), absl::StatusCode::kUnavailable);
  }
}

// A server that accepts and closes at once (Redis at maxclients, a proxy without a backend):
// the client's reconnects are paced by the backoff, not a loop without a pause.
TEST(AsyncClientConnect, AServerThatClosesAtOnceIsRetriedWithBackoff) {
  SilentListener listener;
  std::atomic<bool> stop{false};
  std::atomic<int> accepted{0};
  std::thread closer([&] {
    while (!stop.load()) {
      pollfd p{listener.fd(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept(listener.fd(), nullptr, nullptr);
      if (fd >= 0) {
        ++accepted;
        ::close(fd);
      }
    }
  });
  {
    Options options;
    options.port = listener.port();
    AsyncClient async(options, 1);
    std::this_thread::sleep_for(1s);
  }
  stop.store(true);
  closer.join();
  // 25 ms doubling: a handful of attempts in a second; without the backoff, thousands.
  EXPECT_GE(accepted.load(), 1);
  EXPECT_LE(accepted.load(), 12);
}

TEST(AsyncClientRestart, CallsReturnAtOnceWhileRedisIsDownAndSucceedWhenItIsBack) {
  RedisServer server;
  std::atomic<int> failed{0}, succeeded{0};
  AsyncClient async(server.ClientOptions(), 2);  // after what its callbacks use
  ASSERT_TRUE(Call(async, {{"SET", "a", "1"}}).ok());
  server.Kill();
  // Calls keep returning to their callers at once while the client reconnects in the back.
  const auto down = steady_clock::now();
  while (steady_clock::now() - down < 1500ms) {
    const auto took = TimedPipeline(async, {{"GET", "a"}}, [&](auto r) {
      ++(r.ok() ? succeeded : failed);
      EXPECT_TRUE(r.ok() || r.status().code() == absl::StatusCode::kUnavailable) << r.status();
    });
    EXPECT_LT(took, 50ms);
    std::this_thread::sleep_for(5ms);  // a steady trickle of calls, not a wait for something
  }
  EXPECT_GT(failed.load(), 0);
  EXPECT_EQ(succeeded.load(), 0);
  server.Start();
  const auto back = steady_clock::now();
  EXPECT_TRUE(WaitFor(
      [&] {
        return Call(async, {{"GET", "a"}}).ok() && Call(async, {{"GET", "a"}}).ok();
      },
      5s));
  // The backoff stays at most reconnect_backoff_max (1 s) apart from a connect.
  EXPECT_LT(steady_clock::now() - back, 2s);
}

// Redis that does not read (busy, or its socket buffer full): callers still return at once,
// their commands wait in the client, and every call is answered once command_timeout passed.
TEST(AsyncClientWrite, ACallerNeverWaitsForASocketThatRedisDoesNotRead) {
  SilentListener silent;  // the kernel accepts; nothing ever reads (no handshake without AUTH)
  Options options;
  options.port = silent.port();
  options.command_timeout = 500ms;
  constexpr int kCalls = 96;
  const std::string value(1 << 20, 'v');  // 96 MiB in all: more than any socket buffer takes
  std::atomic<int> answered{0}, wrong{0};
  AsyncClient async(options, 1);  // after what its callbacks use
  ASSERT_TRUE(WaitFor(
      [&] {
        return Call(async, {{"PING"}}).status().code() == absl::StatusCode::kDeadlineExceeded;
      },
      5s));  // connected: the call was written and timed out
  steady_clock::duration slowest{};
  for (int i = 0; i < kCalls; ++i) {
    const auto took = TimedPipeline(async, {{"SET", "big", value}}, [&](auto r) {
      const auto code = r.status().code();
      if (code != absl::StatusCode::kDeadlineExceeded && code != absl::StatusCode::kUnavailable)
        ++wrong;
      ++answered;
    });
    slowest = std::max(slowest, took);
  }
  EXPECT_LT(slowest, 200ms);  // copying 1 MiB on a busy machine; waiting for the socket took 0.5 s+
  // Each call is answered at most command_timeout after it was made, the last one too.
  const auto last_sent = steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return answered.load() == kCalls; }, 5s));
  EXPECT_LT(steady_clock::now() - last_sent, 1000ms);
  EXPECT_EQ(wrong.load(), 0);
}

// The queued call's time counts from the call, not from when the connection opened.
TEST(AsyncClientConnect, ACallWaitingForAConnectIsAnsweredWithinTheCommandTimeout) {
  // Answers AUTH after 700 ms, then nothing.
  ScriptedServer server([](int fd, const std::atomic<bool>& stop) {
    ReadUntil(fd, "secret\r\n", stop);
    std::this_thread::sleep_for(700ms);  // the slow handshake under test, not a wait
    ::send(fd, "+OK\r\n", 5, MSG_NOSIGNAL);
  });
  Options options;
  options.port = server.port();
  options.password = "secret";
  options.connect_timeout = 1s;
  options.command_timeout = 1s;
  std::promise<absl::StatusCode> answered;
  AsyncClient async(options, 1);  // after what its callbacks use
  const auto start = steady_clock::now();
  async.Pipeline({{"GET", "x"}}, [&](auto r) { answered.set_value(r.status().code()); });
  auto future = answered.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  const auto took = steady_clock::now() - start;
  EXPECT_EQ(future.get(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(took, 950ms);
  EXPECT_LT(took, 1200ms);  // not 700 ms of connect plus a full command_timeout after it
}

TEST(AsyncClientShutdown, DestroyingTheClientCutsAHangingConnectShort) {
  ScriptedServer server([](int, const std::atomic<bool>&) {});  // never answers AUTH
  Options options;
  options.port = server.port();
  options.password = "secret";
  options.connect_timeout = 5s;
  options.command_timeout = 5s;
  auto async = std::make_unique<AsyncClient>(options, 2);
  ASSERT_TRUE(WaitFor([&] { return server.accepted() == 2; }, 5s));  // both in their handshake
  const auto start = steady_clock::now();
  async.reset();
  EXPECT_LT(steady_clock::now() - start, 100ms);
}

TEST_F(AsyncClientTest, TheClientMayBeDestroyedInsideItsOwnCallback) {
  constexpr int kCalls = 100;
  std::atomic<int> answered{0};
  std::atomic<bool> destroyed{false};
  std::promise<void> all_sent;
  const std::shared_future<void> gate = all_sent.get_future().share();
  auto async = std::make_unique<AsyncClient>(redis().ClientOptions(), 2);
  for (int i = 0; i < kCalls; ++i) {
    async->Pipeline({{"PING"}}, [&](auto) {
      gate.wait();  // every call is sent before the first callback goes on
      if (!destroyed.exchange(true)) async.reset();  // on one connection's own I/O thread
      ++answered;
    });
  }
  all_sent.set_value();
  // Every call is answered once, one way or the other, and nothing crashes.
  ASSERT_TRUE(WaitFor([&] { return answered.load() == kCalls; }, 5s));
  EXPECT_EQ(async, nullptr);
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
