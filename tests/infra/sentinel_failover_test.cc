// Redis Sentinel failover under write load, with real processes on loopback: a primary, a
// replica and three sentinels (quorum 2). A writer on the real infra/redis client makes
// acknowledged writes of unique keys while the primary is killed with SIGKILL, 300 ms after the
// replica lost its link to it; the test measures how long writes fail and how many acknowledged
// writes the promoted replica lacks, without and with `WAIT 1 <ms>` before acknowledging.
// Figures go to stdout (FAILOVER ...): ctest -V --repeat until-fail:3 -R redis_sentinel_failover.
#include <algorithm>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "infra/config.h"
#include "infra/metrics.h"
#include "infra/redis/async_client.h"
#include "infra/redis/client.h"
#include "infra/redis/sentinel.h"
#include "infra/service_config.h"
#include "tests/harness/process.h"
#include "tests/harness/process_inl.h"
#include "tests/harness/redis_server.h"

namespace cityhub::infra::redis {
namespace {

using cityhub::testing::FreePort;
using cityhub::testing::MakeTempDir;
using cityhub::testing::Process;
using cityhub::testing::RedisServer;
using cityhub::testing::RemoveTree;
using cityhub::testing::WaitFor;
using namespace std::chrono_literals;
using std::chrono::steady_clock;

constexpr char kMaster[] = "cityhub";
constexpr int kBatch = 16;
constexpr auto kBlip = std::chrono::milliseconds(300);

// One redis-server in sentinel mode with its own (rewritable) config file.
class SentinelProcess {
 public:
  explicit SentinelProcess(int primary_port) : port_(FreePort()), dir_(MakeTempDir("sentinel")) {
    const std::string conf = dir_ + "/sentinel.conf";
    std::ofstream(conf) << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_
                        << "\nsentinel monitor " << kMaster << " 127.0.0.1 " << primary_port
                        << " 2\nsentinel down-after-milliseconds " << kMaster
                        << " 1000\nsentinel failover-timeout " << kMaster
                        << " 5000\nsentinel parallel-syncs " << kMaster << " 1\n";
    process_ = std::make_unique<Process>(
        Process::Options{{"/usr/bin/redis-server", conf, "--sentinel", "--loglevel", "notice"},
                         {},
                         dir_ + "/sentinel.log"});
  }
  ~SentinelProcess() {
    process_.reset();
    RemoveTree(dir_);
  }
  int port() const { return port_; }
  std::string Log() const { return process_->Log(); }

 private:
  int port_;
  std::string dir_;
  std::unique_ptr<Process> process_;
};

// The number of entries of an array reply to `command` at `port`, or -1.
int64_t ArraySize(int port, const Args& command) {
  Options o;
  o.port = port;
  o.connect_timeout = 200ms;
  o.reconnect_backoff_min = 1ms;
  o.reconnect_backoff_max = 1ms;
  Client c(o);
  auto r = c.Command(command);
  return r.ok() && r->is_array() ? static_cast<int64_t>(r->elements().size()) : -1;
}

// True when a write on `primary` is confirmed by a replica within 50 ms (WAIT counts a replica
// only once it acknowledges the write's offset; a client without writes is confirmed at once).
bool ReplicaConfirms(Client& primary) {
  auto r = primary.Pipeline({{"SET", "ready", "1"}, {"WAIT", "1", "50"}});
  return r.ok() && (*r)[1].is_integer() && (*r)[1].integer() == 1;
}

struct Figures {
  int acknowledged = 0;
  int lost = 0;
  int failed = 0;       // writes that failed (never acknowledged)
  int unconfirmed = 0;  // taken by the primary, but no replica confirmed them (WAIT 0)
  // From the kill to the first write that succeeds / that is acknowledged.
  std::chrono::milliseconds unavailable{0};
  std::chrono::milliseconds unconfirmed_for{0};
  int new_primary_port = 0;
};

class SentinelFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RedisServer::Options options;
    options.appendonly = false;
    options.extra_args = {"--repl-diskless-sync-delay", "0"};  // the first sync at once
    primary_ = std::make_unique<RedisServer>(options);
    options.extra_args = {"--replicaof", "127.0.0.1", std::to_string(primary_->port()),
                          "--repl-diskless-sync-delay", "0"};
    replica_ = std::make_unique<RedisServer>(options);
    for (int i = 0; i < 3; ++i) {
      sentinels_.push_back(std::make_unique<SentinelProcess>(primary_->port()));
    }
    ASSERT_TRUE(WaitFor(
        [&] {
          Options o;
          o.port = replica_->port();
          auto info = AsString(Client(o).Command({"INFO", "replication"}));
          return info.ok() && info->find("master_link_status:up") != std::string::npos;
        },
        30s))
        << "the replica did not sync";
    Client plain(primary_->ClientOptions());
    ASSERT_TRUE(WaitFor([&] { return ReplicaConfirms(plain); }, 10s));
    // A failover needs each sentinel to know the replica and the other sentinels (learned
    // from INFO and the hello channel every ~2 s).
    ASSERT_TRUE(WaitFor(
        [&] {
          for (const auto& s : sentinels_) {
            if (ArraySize(s->port(), {"SENTINEL", "replicas", kMaster}) != 1 ||
                ArraySize(s->port(), {"SENTINEL", "sentinels", kMaster}) != 2) {
              return false;
            }
          }
          return true;
        },
        30s))
        << "the sentinels did not find each other and the replica";
    SentinelOptions so;
    for (const auto& s : sentinels_) so.sentinels.push_back({"127.0.0.1", s->port()});
    so.master_name = kMaster;
    so.timeout = 200ms;
    sentinel_ = std::make_shared<Sentinel>(so);
  }

  Options ClientOptions() const {
    Options o;
    o.host = "192.0.2.1";  // unused: the sentinels say where the primary is
    o.sentinel = sentinel_;
    o.pool_size = 4;
    o.connect_timeout = 200ms;
    o.command_timeout = 500ms;
    o.pool_wait_timeout = 500ms;
    o.reconnect_backoff_min = 10ms;
    o.reconnect_backoff_max = 100ms;
    return o;
  }

  // Writes unique keys, cuts the replica's link `kBlip` before killing the primary after
  // `before`, and `restart` later
  // starts a fresh replica of the new primary, as the Kubernetes pod's start script does. Keeps
  // writing until writes have been acknowledged again for `after`, then counts the acknowledged
  // keys the new primary lacks. With `wait_ms`, a write is acknowledged only when `WAIT 1
  // <wait_ms>` says a replica has it; writes the primary took without a replica's confirmation
  // (while none was connected) are counted as `unconfirmed`.
  Figures Run(std::optional<int> wait_ms) {
    constexpr auto before = 1500ms, restart = 3000ms, after = 1000ms;
    Client client(ClientOptions());
    std::vector<std::string> acknowledged;
    Figures f;
    const auto start = steady_clock::now();
    std::optional<steady_clock::time_point> killed, restarted, resumed, confirmed;
    Client admin(primary_->ClientOptions());
    bool blipped = false;
    for (int i = 0;; ++i) {
      const auto now = steady_clock::now();
      if (!blipped && now - start > before - kBlip) {
        // The replica loses the primary shortly before the primary dies (a partition, a node
        // going bad), emulated by a password the replica does not have and the end of its
        // link: what the primary acknowledges meanwhile exists nowhere else. (Connections
        // already open, the writer's, stay authenticated.)
        EXPECT_TRUE(admin.Command({"CONFIG", "SET", "requirepass", "cut-off"}).ok());
        EXPECT_TRUE(admin.Command({"CLIENT", "KILL", "TYPE", "replica"}).ok());
        blipped = true;
      }
      if (!killed && now - start > before) {
        primary_->Kill();
        killed = steady_clock::now();
      }
      if (killed && !restarted && now - *killed > restart && Rejoin()) {
        restarted = steady_clock::now();
      }
      if (confirmed && now - *confirmed > after) break;
      if (killed && now - *killed > 30s) break;  // no failover: the assertions report it
      // A batch of writes in one round trip, as concurrent callers would send them.
      std::vector<Args> commands;
      for (int j = 0; j < kBatch; ++j)
        commands.push_back({"SET", "k:" + std::to_string(i * kBatch + j), "1"});
      if (wait_ms) commands.push_back({"WAIT", "1", std::to_string(*wait_ms)});
      auto replies = client.Pipeline(commands);
      if (!replies.ok() ||
          std::any_of(replies->begin(), replies->begin() + kBatch,
                      [](const Reply& r) { return r.type() != Reply::Type::kStatus; })) {
        f.failed += kBatch;
        std::this_thread::sleep_for(1ms);  // a fast failure: no busy loop
        continue;
      }
      if (killed && !resumed) resumed = steady_clock::now();
      if (wait_ms && !(replies->back().is_integer() && replies->back().integer() >= 1)) {
        f.unconfirmed += kBatch;
        continue;
      }
      for (int j = 0; j < kBatch; ++j) acknowledged.push_back(commands[j][1]);
      if (killed && !confirmed) confirmed = steady_clock::now();
    }
    f.acknowledged = static_cast<int>(acknowledged.size());
    auto since_kill = [&](const std::optional<steady_clock::time_point>& t) {
      return killed && t ? std::chrono::duration_cast<std::chrono::milliseconds>(*t - *killed)
                         : 999'999ms;
    };
    f.unavailable = since_kill(resumed);
    f.unconfirmed_for = since_kill(confirmed);
    auto primary = sentinel_->Primary(ClientOptions());
    if (primary.ok()) f.new_primary_port = primary->port;
    for (size_t at = 0; at < acknowledged.size(); at += 1000) {
      Args exists = {"EXISTS"};
      for (size_t j = at; j < std::min(acknowledged.size(), at + 1000); ++j) {
        exists.push_back(acknowledged[j]);
      }
      auto n = AsInteger(client.Command(exists));
      EXPECT_TRUE(n.ok()) << n.status();
      if (n.ok()) f.lost += static_cast<int>(exists.size() - 1 - *n);
    }
    std::printf(
        "FAILOVER wait=%s writes_unavailable_ms=%lld acknowledged_again_ms=%lld "
        "acknowledged=%d lost=%d unconfirmed=%d failed=%d\n",
        wait_ms ? std::to_string(*wait_ms).c_str() : "off",
        static_cast<long long>(f.unavailable.count()),
        static_cast<long long>(f.unconfirmed_for.count()), f.acknowledged, f.lost, f.unconfirmed,
        f.failed);
    return f;
  }

  // A replacement for the killed primary: empty, replicating from the primary the sentinels
  // name (k8s/overlays/production/redis-sentinel.yaml starts a pod the same way).
  bool Rejoin() {
    auto primary = sentinel_->Primary(ClientOptions());
    if (!primary.ok() || primary->port == primary_->port()) return false;  // not failed over yet
    RedisServer::Options options;
    options.appendonly = false;
    options.extra_args = {"--replicaof", primary->host, std::to_string(primary->port),
                          "--repl-diskless-sync-delay", "0"};
    rejoined_ = std::make_unique<RedisServer>(options);
    return true;
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const auto& s : sentinels_) std::printf("--- sentinel log\n%s\n", s->Log().c_str());
    }
  }

  std::unique_ptr<RedisServer> primary_;
  std::unique_ptr<RedisServer> replica_;
  std::unique_ptr<RedisServer> rejoined_;
  std::vector<std::unique_ptr<SentinelProcess>> sentinels_;
  std::shared_ptr<Sentinel> sentinel_;
};

TEST_F(SentinelFailoverTest, WritesResumeOnThePromotedReplicaWithoutWait) {
  const int old_port = primary_->port();
  Figures f = Run(std::nullopt);
  EXPECT_EQ(f.new_primary_port, replica_->port());
  EXPECT_NE(f.new_primary_port, old_port);
  EXPECT_LT(f.unavailable, 15s);
  EXPECT_GT(f.acknowledged, 100);
  // Asynchronous replication: a few acknowledged writes may be lost; the figure is printed.

  // The async client, made before nothing: its first connection asks the sentinels too.
  AsyncClient async(ClientOptions(), 1);
  std::promise<absl::StatusOr<std::vector<Reply>>> got;
  async.Pipeline({{"GET", "k:0"}}, [&](auto r) { got.set_value(std::move(r)); });
  auto r = got.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].str(), "1");
}

TEST_F(SentinelFailoverTest, WithWaitNoAcknowledgedWriteIsLost) {
  Figures f = Run(100);
  EXPECT_EQ(f.new_primary_port, replica_->port());
  EXPECT_LT(f.unavailable, 15s);
  // Acknowledged again once the restarted old primary has synced as the new replica.
  EXPECT_LT(f.unconfirmed_for, 15s);
  EXPECT_GT(f.acknowledged, 100);
  EXPECT_EQ(f.lost, 0);
}

// An async client connected before the failover reaches the new primary after it.
TEST_F(SentinelFailoverTest, AsyncClientFollowsTheFailover) {
  Client client(ClientOptions());
  ASSERT_TRUE(client.Command({"SET", "before", "1"}).ok());
  ASSERT_TRUE(client.Command({"WAIT", "1", "1000"}).ok());
  AsyncClient async(ClientOptions(), 1);
  auto get = [&](const std::string& key) {
    std::promise<absl::StatusOr<std::vector<Reply>>> p;
    async.Pipeline({{"GET", key}}, [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  ASSERT_TRUE(get("before").ok());
  primary_->Kill();
  const auto killed = steady_clock::now();
  // Written on the new primary only: the async client must read it from there.
  ASSERT_TRUE(WaitFor([&] { return client.Command({"SET", "after", "2"}).ok(); }, 15s));
  bool read = WaitFor(
      [&] {
        auto r = get("after");
        return r.ok() && (*r)[0].str() == "2";
      },
      5s);
  EXPECT_TRUE(read);
  std::printf("FAILOVER async_read_after_ms=%lld\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         steady_clock::now() - killed)
                                         .count()));
}

// Reads and writes marked idempotent are retried once when their pooled connection turns out
// dead (here closed by the server moments after its last use, so the pool hands it out
// unchecked); plain writes are not, since their effect may have happened.
TEST(RedisRetryTest, ReadsAndMarkedWritesRetryOnADeadConnection) {
  RedisServer server;
  Options o = server.ClientOptions();
  o.pool_size = 1;
  Client client(o);
  Client admin(server.ClientOptions());
  ASSERT_TRUE(client.Command({"SET", "x", "1"}).ok());
  auto kill_clients = [&] {
    // Every connection but admin's own: client's one pooled connection.
    ASSERT_TRUE(admin.Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}).ok());
  };
  kill_clients();
  EXPECT_TRUE(client.Command({"GET", "x"}).ok());
  kill_clients();
  EXPECT_TRUE(client.Pipeline({{"GET", "x"}, {"EXISTS", "x"}}).ok());
  kill_clients();
  EXPECT_TRUE(client.IdempotentCommand({"SET", "y", "1"}).ok());
  kill_clients();
  EXPECT_TRUE(absl::IsUnavailable(client.Command({"INCR", "n"}).status()));
  EXPECT_EQ(AsString(client.Command({"GET", "n"})).status().code(), absl::StatusCode::kNotFound);
}

// EvalDurable (request creation): WAIT for a replica after the script, on the same connection,
// so a confirmed write is on the replica when the caller acknowledges it; with the replica
// gone the write still succeeds and the shortfall is counted.
TEST(RedisWaitTest, EvalDurableWaitsForAReplicaAndCountsShortfalls) {
  RedisServer::Options po;
  po.appendonly = false;
  po.extra_args = {"--repl-diskless-sync-delay", "0"};
  RedisServer primary(po);
  RedisServer::Options ro;
  ro.appendonly = false;
  ro.extra_args = {"--replicaof", "127.0.0.1", std::to_string(primary.port())};
  RedisServer replica(ro);
  Client replica_client(replica.ClientOptions());
  ASSERT_TRUE(WaitFor(
      [&] {
        auto info = AsString(replica_client.Command({"INFO", "replication"}));
        return info.ok() && info->find("master_link_status:up") != std::string::npos;
      },
      30s));
  Client plain(primary.ClientOptions());
  // The primary counts the replica for WAIT once it is online on its side too.
  ASSERT_TRUE(WaitFor([&] { return ReplicaConfirms(plain); }, 10s));
  Counter shortfalls;
  Options o = primary.ClientOptions();
  o.wait_replicas = 1;
  o.wait_timeout = 200ms;
  o.wait_short = &shortfalls;
  Client client(o);
  const Script script("redis.call('SET', KEYS[1], ARGV[1]) return 7");
  for (int i = 0; i < 50; ++i) {
    const std::string key = "d:" + std::to_string(i);
    auto r = AsInteger(client.EvalDurable(script, {key}, {"v"}));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, 7);
    // Confirmed by WAIT: already on the replica.
    EXPECT_EQ(AsString(replica_client.Command({"GET", key})).value_or(""), "v");
  }
  EXPECT_EQ(shortfalls.Value(), 0);
  replica.Kill();
  auto r = AsInteger(client.EvalDurable(script, {"alone"}, {"v"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(shortfalls.Value(), 1);
}

// The settings: unset means no sentinels; a list needs a master name; bad entries are named.
TEST(SentinelConfigTest, ReadsTheSentinelSettings) {
  using Env = std::map<std::string, std::string>;
  {
    EnvReader env(Env{});
    EXPECT_EQ(LoadSentinel(env, 500ms), nullptr);
    EXPECT_TRUE(env.Finish().ok());
  }
  {
    EnvReader env(Env{{"CITYHUB_REDIS_SENTINELS", "s-0.sentinel:26379, [::1]:26380"},
                      {"CITYHUB_REDIS_MASTER_NAME", "cityhub"}});
    auto sentinel = LoadSentinel(env, 500ms);
    ASSERT_NE(sentinel, nullptr);
    EXPECT_TRUE(env.Finish().ok());
    ASSERT_EQ(sentinel->options().sentinels.size(), 2u);
    EXPECT_EQ(sentinel->options().sentinels[0], (Endpoint{"s-0.sentinel", 26379}));
    EXPECT_EQ(sentinel->options().sentinels[1], (Endpoint{"::1", 26380}));
    EXPECT_EQ(sentinel->options().master_name, "cityhub");
  }
  {
    EnvReader env(Env{{"CITYHUB_REDIS_SENTINELS", "s-0:26379"}});
    EXPECT_EQ(LoadSentinel(env, 500ms), nullptr);
    auto status = env.Finish();
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("CITYHUB_REDIS_MASTER_NAME"));
  }
  {
    EnvReader env(Env{{"CITYHUB_REDIS_SENTINELS", "s-0"}, {"CITYHUB_REDIS_MASTER_NAME", "m"}});
    EXPECT_EQ(LoadSentinel(env, 500ms), nullptr);
    auto status = env.Finish();
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("CITYHUB_REDIS_SENTINELS"));
  }
}

}  // namespace
}  // namespace cityhub::infra::redis
