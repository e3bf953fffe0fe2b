// rediss:// (infra/redis/tls_bridge.h): a real redis-server with only a TLS port that wants
// client certificates, the sync and async clients and the dedicated (Pub/Sub) connection.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "infra/config.h"
#include "infra/redis/async_client.h"
#include "infra/redis/client.h"
#include "infra/redis/transaction.h"
#include "infra/service_config.h"
#include "tests/harness/process.h"
#include "tests/tls/pki.h"

namespace cityhub::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using infra::redis::Reply;

class RedisTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new Pki(MakePki());
    port_ = FreePort();
    // Loopback's 127.0.0.2 too: a name the certificate does not carry.
    server_ = new Process({{"/usr/bin/redis-server",
                            "--port",
                            "0",
                            "--tls-port",
                            std::to_string(port_),
                            "--bind",
                            "127.0.0.1",
                            "127.0.0.2",
                            "--tls-cert-file",
                            pki_->Path("server.pem"),
                            "--tls-key-file",
                            pki_->Path("server.key"),
                            "--tls-ca-cert-file",
                            pki_->Path("ca.pem"),
                            "--tls-auth-clients",
                            "yes",
                            "--user",
                            "alice",
                            "on",
                            ">alice-secret",
                            "~alice:*",
                            "+@all",
                            "--save",
                            "",
                            "--appendonly",
                            "no",
                            "--dir",
                            pki_->dir,
                            "--loglevel",
                            "warning"},
                           {},
                           pki_->Path("redis.log")});
    const bool up =
        WaitFor([] { return infra::redis::Client(Options()).Command({"PING"}).ok(); }, 10s);
    if (!up) ADD_FAILURE() << "redis-server with TLS did not start: " << server_->Log();
  }
  static void TearDownTestSuite() {
    delete server_;
    RemoveTree(pki_->dir);
    delete pki_;
  }

  // rediss://127.0.0.1:port with the CA and the client certificate.
  static infra::redis::Options Options(const std::string& url_host = "127.0.0.1") {
    auto options = infra::redis::ParseUrl("rediss://" + url_host + ":" + std::to_string(port_));
    EXPECT_TRUE(options.ok());
    options->tls_files = {pki_->Read("ca.pem"), pki_->Read("client.pem"), pki_->Read("client.key")};
    options->connect_timeout = 2s;
    return *options;
  }

  static absl::StatusOr<std::vector<Reply>> Async(infra::redis::AsyncClient& client,
                                                  std::vector<infra::redis::Args> commands) {
    std::promise<absl::StatusOr<std::vector<Reply>>> done;
    client.Pipeline(std::move(commands), [&](auto result) { done.set_value(std::move(result)); });
    return done.get_future().get();
  }

  static Pki* pki_;
  static int port_;
  static Process* server_;
};

Pki* RedisTlsTest::pki_ = nullptr;
int RedisTlsTest::port_ = 0;
Process* RedisTlsTest::server_ = nullptr;

TEST_F(RedisTlsTest, SyncClientRunsCommandsOverTls) {
  infra::redis::Client client(Options());
  ASSERT_TRUE(client.Command({"SET", "tls:sync", "v"}).ok());
  EXPECT_EQ(*infra::redis::AsString(client.Command({"GET", "tls:sync"})), "v");
  infra::redis::Transaction tx;
  tx.Then({"INCR", "tls:n"}).Then({"INCR", "tls:n"});
  auto replies = tx.Run(client);
  ASSERT_TRUE(replies.ok()) << replies.status();
  EXPECT_EQ(replies->back().integer(), 2);
  // A reply larger than the relay's buffers.
  const std::string big(200'000, 'x');
  ASSERT_TRUE(client.Command({"SET", "tls:big", big}).ok());
  EXPECT_EQ(*infra::redis::AsString(client.Command({"GET", "tls:big"})), big);
}

TEST_F(RedisTlsTest, AsyncClientRunsCommandsOverTls) {
  infra::redis::AsyncClient client(Options(), 2);
  for (int i = 0; i < 4; ++i) {  // both connections
    auto replies = Async(client, {{"SET", "tls:async", "w"}, {"GET", "tls:async"}});
    ASSERT_TRUE(replies.ok()) << replies.status();
    EXPECT_EQ(replies->back().str(), "w");
  }
}

// Redis busy with a script reads nothing: the calls behind it, more than the relay and the
// sockets hold, still return to their callers at once, each is answered, and the client
// carries on afterwards.
TEST_F(RedisTlsTest, AsyncCallsReturnAtOnceWhileRedisReadsNothing) {
  infra::redis::Options options = Options();
  options.command_timeout = 1s;
  infra::redis::AsyncClient async(options, 1);
  ASSERT_TRUE(Async(async, {{"PING"}}).ok());
  const std::string busy =
      "local t = redis.call('TIME') local start = t[1] * 1000000 + t[2] "
      "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start > 1500000 return 1";
  constexpr int kCalls = 64;
  std::atomic<int> answered{0};
  async.Pipeline({{"EVAL", busy, "0"}}, [&](auto) { ++answered; });
  const std::string value(1 << 20, 'v');  // 64 MiB in all
  std::chrono::steady_clock::duration slowest{};
  for (int i = 0; i < kCalls; ++i) {
    const auto start = std::chrono::steady_clock::now();
    async.Pipeline({{"SET", "tls:big", value}}, [&](auto) { ++answered; });
    slowest = std::max(slowest, std::chrono::steady_clock::now() - start);
  }
  EXPECT_LT(slowest, 200ms);  // copying 1 MiB on a busy machine; waiting for the socket took 0.5 s+
  EXPECT_TRUE(WaitFor([&] { return answered.load() == kCalls + 1; }, 5s));
  EXPECT_TRUE(WaitFor([&] { return Async(async, {{"PING"}}).ok(); }, 5s));
}

TEST_F(RedisTlsTest, ClientsReconnectOverTlsAfterTheirConnectionsAreKilled) {
  infra::redis::Client client(Options());
  infra::redis::AsyncClient async(Options(), 1);
  ASSERT_TRUE(client.Command({"PING"}).ok());
  ASSERT_TRUE(Async(async, {{"PING"}}).ok());
  infra::redis::Client killer(Options());
  ASSERT_TRUE(killer.Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}).ok());
  EXPECT_TRUE(WaitFor([&] { return client.Command({"PING"}).ok(); }, 5s));
  EXPECT_TRUE(WaitFor([&] { return Async(async, {{"PING"}}).ok(); }, 5s));
}

TEST_F(RedisTlsTest, ServerSignedByAnotherCaIsRefused) {
  infra::redis::Options options = Options();
  options.tls_files.ca_pem = pki_->Read("other-ca.pem");
  auto reply = infra::redis::Client(options).Command({"PING"});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(reply.status().message(), HasSubstr("certificate verify failed"));
  infra::redis::AsyncClient async(options, 1);
  EXPECT_EQ(Async(async, {{"PING"}}).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(RedisTlsTest, CertificateMustNameTheHost) {
  EXPECT_TRUE(infra::redis::Client(Options("localhost")).Command({"PING"}).ok());
  auto reply = infra::redis::Client(Options("127.0.0.2")).Command({"PING"});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(reply.status().message(), HasSubstr("certificate verify failed"));
}

TEST_F(RedisTlsTest, ClientWithoutCertificateIsRefusedWhenRedisWantsOne) {
  infra::redis::Options options = Options();
  options.tls_files.cert_pem.clear();
  options.tls_files.key_pem.clear();
  EXPECT_FALSE(infra::redis::Client(options).Command({"PING"}).ok());
}

TEST_F(RedisTlsTest, PlaintextToTheTlsPortFails) {
  infra::redis::Options options = Options();
  options.tls = false;
  EXPECT_FALSE(infra::redis::Client(options).Command({"PING"}).ok());
  infra::redis::AsyncClient async(options, 1);
  EXPECT_FALSE(Async(async, {{"PING"}}).ok());
}

// A server that takes the TCP connection and never answers the TLS handshake: destroying the
// client does not wait out the connect timeout of its connections.
TEST_F(RedisTlsTest, DestroyingTheAsyncClientCutsAHangingTlsConnectShort) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(address);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), len), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &len), 0);
  infra::redis::Options options = Options();
  options.port = ntohs(address.sin_port);
  options.connect_timeout = 5s;
  auto async = std::make_unique<infra::redis::AsyncClient>(options, 2);
  std::vector<int> accepted;
  EXPECT_TRUE(WaitFor(
      [&] {
        if (const int fd = ::accept(listener, nullptr, nullptr); fd >= 0) accepted.push_back(fd);
        return accepted.size() == 2;
      },
      5s));  // both connections wait in their TLS handshake
  const auto start = std::chrono::steady_clock::now();
  async.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms);
  for (int fd : accepted) ::close(fd);
  ::close(listener);
}

TEST_F(RedisTlsTest, AclUserFromTheSettingsIsUsed) {
  const std::string password_file = pki_->Path("alice-password");
  ASSERT_EQ(std::system(("printf alice-secret > " + password_file).c_str()), 0);
  infra::EnvReader env(std::map<std::string, std::string>{
      {"CITYHUB_REDIS_URL", "rediss://127.0.0.1:" + std::to_string(port_)},
      {"CITYHUB_REDIS_USER", "alice"},
      {"CITYHUB_REDIS_PASSWORD_FILE", password_file},
      {"CITYHUB_REDIS_TLS_CA", pki_->Path("ca.pem")},
      {"CITYHUB_REDIS_TLS_CERT", pki_->Path("client.pem")},
      {"CITYHUB_REDIS_TLS_KEY", pki_->Path("client.key")}});
  infra::redis::Options options = infra::LoadRedisOptions(env, "CITYHUB_X_REDIS_URL");
  ASSERT_TRUE(env.Finish().ok()) << env.Finish();
  infra::redis::Client client(options);
  EXPECT_EQ(*infra::redis::AsString(client.Command({"ACL", "WHOAMI"})), "alice");
  EXPECT_TRUE(client.Command({"SET", "alice:k", "1"}).ok());
  EXPECT_THAT(client.Command({"SET", "bob:k", "1"}).status().message(), HasSubstr("NOPERM"));
  options.password = "wrong";
  EXPECT_THAT(infra::redis::Client(options).Command({"PING"}).status().message(),
              HasSubstr("WRONGPASS"));
}

TEST_F(RedisTlsTest, DedicatedConnectionSubscribesOverTls) {
  infra::redis::DedicatedConnection subscriber(Options());
  ASSERT_TRUE(subscriber.Connect().ok());
  auto* r = static_cast<redisReply*>(redisCommand(subscriber.context(), "SUBSCRIBE tls:live"));
  ASSERT_NE(r, nullptr);
  freeReplyObject(r);
  infra::redis::Client publisher(Options());
  ASSERT_TRUE(publisher.Command({"PUBLISH", "tls:live", "hello"}).ok());
  void* raw = nullptr;
  ASSERT_EQ(redisGetReply(subscriber.context(), &raw), REDIS_OK);
  auto* message = static_cast<redisReply*>(raw);
  ASSERT_EQ(message->elements, 3u);
  EXPECT_EQ(std::string(message->element[2]->str, message->element[2]->len), "hello");
  freeReplyObject(raw);
}

}  // namespace
}  // namespace cityhub::testing
