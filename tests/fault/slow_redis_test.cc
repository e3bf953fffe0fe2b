// Fault: Redis stops answering for 2.5 s (a Lua script that spins; Redis runs one command at a
// time, so every client waits). Calls that need Redis answer by their deadline (503/504, never
// 500, never a hang); calls that do not need it keep flowing at their normal speed: each
// service's health check, the gateway's /healthz and /openapi.json, and the category list the
// requests service keeps in memory. Afterwards everything answers again at once.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "infra/redis/client.h"
#include "tests/fault/checks.h"
#include "tests/harness/api.h"
#include "tests/harness/health.h"
#include "tests/harness/http.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int64_t MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

constexpr char kSpin[] = R"lua(
local start = redis.call('TIME')
local function now() local t = redis.call('TIME') return t[1] * 1000 + t[2] / 1000 end
local t0 = start[1] * 1000 + start[2] / 1000
while now() - t0 < tonumber(ARGV[1]) do end
return 1)lua";

TEST(SlowRedis, DeadlinesHoldAndCallsWithoutRedisKeepFlowing) {
  Stack::Options options;
  options.env = {{"CITYHUB_RATE_LIMITS", "false"}, {"CITYHUB_GATEWAY_DEADLINE", "1s"}};
  Stack stack(options);
  Api api(stack.gateway_url());
  const std::string admin = api.SignIn(stack.admin_email(), stack.admin_password());
  const std::string resident = api.NewResident(stack.smtp(), "langsam@example.de");
  const auto created = api.Call("POST", "/v1/requests", PotholeReport(1), resident);
  ASSERT_EQ(created.status, 201) << created.raw.body;
  const std::string id = created.json["request_id"];
  ASSERT_EQ(api.Call("GET", "/v1/services").status, 200);

  infra::redis::Client spinner(stack.redis().ClientOptions());
  std::atomic<bool> spinning = true;
  std::thread spin([&] {
    const auto r =
        spinner.BlockingCommand({"EVAL", kSpin, "0", "2500"}, std::chrono::milliseconds(6000));
    EXPECT_TRUE(r.ok()) << r.status();
    spinning = false;
  });
  std::this_thread::sleep_for(200ms);  // the script is running

  std::mutex mu;
  std::map<std::string, std::map<int, int>> answers;
  std::map<std::string, int64_t> slowest;
  auto record = [&](const std::string& what, int status, int64_t ms) {
    std::lock_guard lock(mu);
    ++answers[what][status];
    slowest[what] = std::max(slowest[what], ms);
  };
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {  // calls that need Redis, concurrently
    callers.emplace_back([&, i] {
      while (spinning) {
        const auto start = Clock::now();
        const auto r = i % 2 ? api.Call("GET", "/v1/requests/" + id)
                             : api.Call("GET", "/v1/me/requests", nullptr, resident);
        record(i % 2 ? "get" : "mine", r.status, MillisSince(start));
      }
    });
  }
  callers.emplace_back([&] {  // calls that do not
    while (spinning) {
      for (const char* service : {"accounts", "requests", "notifications"}) {
        const auto start = Clock::now();
        const bool serving = HealthStatus(stack.address(service)) == "SERVING";
        record(std::string("health ") + service, serving ? 200 : 503, MillisSince(start));
      }
      for (const char* path : {"/healthz", "/openapi.json", "/v1/services"}) {
        const auto start = Clock::now();
        const auto r = HttpRequest("GET", stack.gateway_url() + path);
        record(path, r.status, MillisSince(start));
      }
      std::this_thread::sleep_for(20ms);
    }
  });
  spin.join();
  for (auto& t : callers) t.join();

  for (const auto& [what, statuses] : answers) {
    std::printf("while Redis spun, %s:", what.c_str());
    for (const auto& [status, count] : statuses) std::printf(" %d×%d", count, status);
    std::printf("; slowest %lld ms\n", static_cast<long long>(slowest[what]));
  }
  for (const char* what : {"get", "mine"}) {
    for (const auto& [status, count] : answers[what])
      EXPECT_TRUE(status == 503 || status == 504 || status == 200) << what << " " << status;
    EXPECT_LT(slowest[what], 1'700) << what << ": the 1 s deadline did not hold";
  }
  for (const char* what : {"health accounts", "health requests", "health notifications", "/healthz",
                           "/openapi.json", "/v1/services"}) {
    ASSERT_TRUE(answers.contains(what)) << what;
    EXPECT_EQ(answers[what].size(), 1u) << what;
    EXPECT_EQ(answers[what].begin()->first, 200) << what;
    EXPECT_LT(slowest[what], 300) << what << " waited on Redis";
  }

  // Everything answers again at once.
  const auto back = Clock::now();
  EXPECT_TRUE(WaitFor([&] { return api.Call("GET", "/v1/requests/" + id).status == 200; }, 2s));
  EXPECT_TRUE(WaitFor(
      [&] { return api.Call("GET", "/v1/me/requests", nullptr, resident).status == 200; }, 2s));
  std::printf("recovered %lld ms after the script ended\n",
              static_cast<long long>(MillisSince(back)));
  infra::redis::Client redis(stack.redis().ClientOptions());
  ExpectOutboxInvariant(redis, api, admin);
}

}  // namespace
}  // namespace cityhub::testing
