#include "tests/harness/redis_server.h"

#include <hiredis/hiredis.h>

#include <sstream>
#include <stdexcept>

namespace cityhub::testing {
namespace {

bool Pings(int port, const std::string& password) {
  timeval tv{0, 200'000};
  redisContext* ctx = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (ctx == nullptr) return false;
  bool ok = false;
  if (ctx->err == 0) {
    if (!password.empty()) {
      freeReplyObject(redisCommand(ctx, "AUTH %s", password.c_str()));
    }
    auto* reply = static_cast<redisReply*>(redisCommand(ctx, "PING"));
    ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
    if (reply != nullptr) freeReplyObject(reply);
  }
  redisFree(ctx);
  return ok;
}

}  // namespace

RedisServer::RedisServer() : RedisServer(Options{}) {}

RedisServer::RedisServer(Options options)
    : options_(std::move(options)), port_(FreePort()), dir_(MakeTempDir("cityhub-redis")) {
  Start();
}

RedisServer::~RedisServer() {
  process_.reset();
  RemoveTree(dir_);
}

infra::redis::Options RedisServer::ClientOptions() const {
  infra::redis::Options o;
  o.host = "127.0.0.1";
  o.port = port_;
  o.password = options_.password;
  return o;
}

void RedisServer::Start() {
  if (process_) return;
  std::vector<std::string> argv = {"/usr/bin/redis-server",
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--dir",
                                   dir_,
                                   "--save",
                                   "",
                                   "--appendonly",
                                   options_.appendonly ? "yes" : "no",
                                   "--appendfsync",
                                   options_.appendfsync,
                                   "--daemonize",
                                   "no",
                                   "--protected-mode",
                                   "yes",
                                   "--loglevel",
                                   "warning"};
  if (!options_.password.empty()) {
    argv.push_back("--requirepass");
    argv.push_back(options_.password);
  }
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  process_ = std::make_unique<Process>(Process::Options{argv, {}, dir_ + "/redis.log"});
  if (!WaitFor([&] { return Pings(port_, options_.password); }, std::chrono::seconds(10))) {
    process_.reset();
    throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
  }
}

void RedisServer::Kill() {
  if (!process_) return;
  process_->Signal(SIGKILL);
  process_->Wait(std::chrono::seconds(5));
  process_.reset();
}

RedisServer* RedisTest::server_ = nullptr;

void RedisTest::SetUpTestSuite() {
  if (server_ == nullptr) server_ = new RedisServer();
}

void RedisTest::TearDownTestSuite() {
  delete server_;
  server_ = nullptr;
}

void RedisTest::SetUp() {
  if (!server_->running()) server_->Start();
  client_ = std::make_unique<infra::redis::Client>(server_->ClientOptions());
  auto flushed = client_->Command({"FLUSHALL"});
  ASSERT_TRUE(flushed.ok()) << flushed.status();
}

std::map<std::string, int> RedisTest::CommandCalls() {
  std::map<std::string, int> calls;
  auto info = client_->Command({"INFO", "commandstats"});
  EXPECT_TRUE(info.ok()) << info.status();
  if (!info.ok()) return calls;
  // Lines like "cmdstat_mget:calls=1,usec=12,...".
  std::istringstream lines(info->str());
  for (std::string line; std::getline(lines, line);) {
    constexpr std::string_view kHead = "cmdstat_";
    const auto colon = line.find(":calls=");
    if (!line.starts_with(kHead) || colon == std::string::npos) continue;
    calls[line.substr(kHead.size(), colon - kHead.size())] =
        std::atoi(line.c_str() + colon + std::string_view(":calls=").size());
  }
  return calls;
}

infra::redis::AsyncClient& RedisTest::async_client() {
  if (!async_client_) {
    async_client_ = std::make_unique<infra::redis::AsyncClient>(server_->ClientOptions(), 1);
  }
  return *async_client_;
}

}  // namespace cityhub::testing
