// Fault: Redis unreachable for 10 s, with the production rate limits on. Reads and writes answer
// 503 with Retry-After (never 500, never a hang past the deadline), the gateway's readiness turns
// not-ready, and everything recovers by itself within 2 s of Redis returning, with no restart.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "infra/redis/client.h"
#include "tests/fault/checks.h"
#include "tests/harness/api.h"
#include "tests/harness/http.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int64_t MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

TEST(RedisOutage, AnswersServiceUnavailableAndRecoversWithoutARestart) {
  Stack::Options options;
  options.env = {{"CITYHUB_GATEWAY_DEADLINE", "3s"},
                 {"CITYHUB_RATE_LIMIT_CREATE", "5000/min,burst=1000"},
                 {"CITYHUB_RATE_LIMIT_WRITE", "5000/min,burst=1000"},
                 {"CITYHUB_RATE_LIMIT_SIGN_IN", "500/min,burst=100"}};
  Stack stack(options);
  Api api(stack.gateway_url());
  const std::string resident = api.NewResident(stack.smtp(), "melder@example.de");
  const auto created = api.Call("POST", "/v1/requests", PotholeReport(0), resident);
  ASSERT_EQ(created.status, 201) << created.raw.body;
  const std::string id = created.json["request_id"];
  const std::string ready_url = stack.gateway_url() + "/readyz";
  ASSERT_EQ(HttpRequest("GET", ready_url).status, 200);

  struct Probe {
    std::string name;
    std::function<Api::Result()> call;
  };
  int n = 1;
  const std::vector<Probe> probes = {
      {"get", [&] { return api.Call("GET", "/v1/requests/" + id); }},
      {"near", [&] { return api.Call("GET", "/v1/requests?lat=52.02&long=8.53&radius_m=500"); }},
      {"mine", [&] { return api.Call("GET", "/v1/me/requests", nullptr, resident); }},
      {"inbox", [&] { return api.Call("GET", "/v1/notifications", nullptr, resident); }},
      {"create", [&] { return api.Call("POST", "/v1/requests", PotholeReport(n++), resident); }},
      {"comment",
       [&] {
         return api.Call("POST", "/v1/requests/" + id + "/comments", {{"text", "Noch da"}},
                         resident);
       }},
  };

  stack.redis().Kill();
  const auto outage = Clock::now();
  std::map<std::string, std::map<int, int>> answers;
  int64_t slowest_ms = 0;
  int64_t not_ready_after_ms = -1;
  while (MillisSince(outage) < 10'000) {
    for (const auto& probe : probes) {
      const auto start = Clock::now();
      const auto r = probe.call();
      slowest_ms = std::max(slowest_ms, MillisSince(start));
      ++answers[probe.name][r.status];
      if (r.status == 503) {
        EXPECT_FALSE(r.raw.header("retry-after").empty()) << probe.name;
        EXPECT_EQ(r.json.value("code", 0), 14) << probe.name << ": " << r.raw.body;
      }
    }
    if (not_ready_after_ms < 0 && HttpRequest("GET", ready_url).status == 503)
      not_ready_after_ms = MillisSince(outage);
    std::this_thread::sleep_for(100ms);
  }
  for (const auto& [probe, statuses] : answers) {
    std::printf("outage, %s:", probe.c_str());
    for (const auto& [status, count] : statuses) {
      std::printf(" %d×%d", count, status);
      EXPECT_EQ(status, 503) << probe << " answered " << count << " times with " << status;
    }
    std::printf("\n");
  }
  std::printf("slowest answer during the outage: %lld ms; not ready after %lld ms\n",
              static_cast<long long>(slowest_ms), static_cast<long long>(not_ready_after_ms));
  EXPECT_LT(slowest_ms, 3'500);  // the deadline (3 s) holds
  EXPECT_GE(not_ready_after_ms, 0) << "/readyz stayed ready";
  EXPECT_LT(not_ready_after_ms, 3'000);

  stack.redis().Start();
  const auto back = Clock::now();
  std::map<std::string, int64_t> recovered_ms;
  while (recovered_ms.size() < probes.size() + 1 && MillisSince(back) < 10'000) {
    for (const auto& probe : probes) {
      if (!recovered_ms.contains(probe.name) && probe.call().status / 100 == 2)
        recovered_ms[probe.name] = MillisSince(back);
    }
    if (!recovered_ms.contains("readyz") && HttpRequest("GET", ready_url).status == 200)
      recovered_ms["readyz"] = MillisSince(back);
    std::this_thread::sleep_for(20ms);
  }
  for (const auto& [probe, ms] : recovered_ms)
    std::printf("recovered, %s: %lld ms\n", probe.c_str(), static_cast<long long>(ms));
  ASSERT_EQ(recovered_ms.size(), probes.size() + 1) << "not everything recovered in 10 s";
  for (const auto& [probe, ms] : recovered_ms) EXPECT_LE(ms, 2'000) << probe;
  // No process was restarted: each is the one started at the beginning.
  for (const char* name : {"accounts", "requests", "notifications", "gateway"})
    EXPECT_TRUE(stack.process(name).running()) << name;
  infra::redis::Client redis(stack.redis().ClientOptions());
  ExpectOutboxInvariant(redis, api, api.SignIn(stack.admin_email(), stack.admin_password()));
}

}  // namespace
}  // namespace cityhub::testing
