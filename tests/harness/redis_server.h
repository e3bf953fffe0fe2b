#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "infra/redis/async_client.h"
#include "infra/redis/client.h"
#include "tests/harness/process.h"

namespace cityhub::testing {

// A real redis-server on a free loopback port with its data in a fresh temporary directory,
// stopped and removed when this object goes away (and killed with the test process if that
// dies first).
class RedisServer final {
 public:
  struct Options {
    bool appendonly = true;
    std::string appendfsync = "everysec";
    // When set, `requirepass`.
    std::string password;
    // More redis-server arguments, e.g. {"--replicaof", "127.0.0.1", "6379"}.
    std::vector<std::string> extra_args;
  };

  RedisServer();
  explicit RedisServer(Options options);
  ~RedisServer();

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  infra::redis::Options ClientOptions() const;

  // SIGKILL, as a crash would.
  void Kill();
  // Starts again on the same port with the same data directory.
  void Start();
  bool running() const { return process_ != nullptr; }

 private:
  Options options_;
  int port_;
  std::string dir_;
  std::unique_ptr<Process> process_;
};

// A fixture with one Redis for the whole test suite, emptied before every test.
class RedisTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  static RedisServer& redis() { return *server_; }
  // A client for the suite's Redis.
  infra::redis::Client& client() { return *client_; }
  // An async client for the suite's Redis, made on first use.
  infra::redis::AsyncClient& async_client();
  // How often Redis ran each command since the last CONFIG RESETSTAT, from INFO commandstats
  // (lower-case names, e.g. "mget"): what a call cost in commands.
  std::map<std::string, int> CommandCalls();

 private:
  static RedisServer* server_;
  std::unique_ptr<infra::redis::Client> client_;
  std::unique_ptr<infra::redis::AsyncClient> async_client_;
};

}  // namespace cityhub::testing
