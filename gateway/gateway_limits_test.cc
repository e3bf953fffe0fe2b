// The gateway's limits per client over real sockets, with its rate limiter on a real Redis: rate
// limits decided before the body, budgets per account and per address, refused creates that cost
// no create unit, and the cap on connections per client address.
#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gateway/rate_limit.h"
#include "gateway/server_test_harness.h"
#include "tests/harness/redis_server.h"

namespace cityhub::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;
using namespace harness;

class GatewayLimits : public cityhub::testing::RedisTest {
 protected:
  infra::SystemClock clock_;
  infra::MetricsRegistry metrics_;
};

constexpr char kPothole[] = R"({"service_code":"pothole","lat":52.02,"long":8.53})";

// One POST /v1/requests on a new connection (from `source`), with an optional access token.
RawResponse Create(int port, const std::string& token, const std::string& body = kPothole,
                   const char* source = "127.0.0.1") {
  const int fd = ConnectFrom(source, port);
  std::string request =
      "POST /v1/requests HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  SendAll(fd, request + "\r\n" + body);
  std::string buffer;
  RawResponse r = ReadResponse(fd, &buffer);
  ::close(fd);
  return r;
}

std::vector<int> Statuses(int n, const std::function<RawResponse()>& call) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(call().status());
  return out;
}

// #18 item 8: over its budget, an upload is refused from its headers, before its body: no
// `100 Continue`, a 429 with Retry-After, and the connection closes without the body read.
TEST_F(GatewayLimits, AnUploadOverBudgetIsRefusedBeforeItsBody) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  RateLimits limits;
  limits.anonymous_create = {1, std::chrono::hours(1), 1};
  RateLimiter limiter(async_client(), limits, clock_, metrics_);
  Door door(backend.address(), {}, FastGateway(), {}, &limiter);
  ASSERT_EQ(Create(door.port(), "").status(), 201);
  const int fd = Connect(door.port());
  ASSERT_TRUE(
      SendAll(fd,
              "POST /v1/requests HTTP/1.1\r\nHost: gateway\r\nContent-Type: "
              "application/json\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n"));
  std::string buffer;
  const RawResponse refused = ReadResponse(fd, &buffer);
  EXPECT_THAT(refused.head, StartsWith("HTTP/1.1 429 ")) << "no 100 Continue first";
  EXPECT_GE(std::atoi(refused.header("Retry-After").c_str()), 1);
  EXPECT_EQ(json::parse(refused.body, nullptr, false).value("code", 0), 8) << refused.body;
  std::string rest;
  EXPECT_TRUE(ClosedWithin(fd, 5s, &rest)) << "the connection stayed open for the body";
  ::close(fd);
  EXPECT_EQ(backend.Calls("/cityhub.requests.v1.RequestsService/CreateRequest"), 1);
}

// #17: the HTTP thread never waits for Redis. While Redis holds the rate limiter's decision on
// one request (CLIENT PAUSE), the only HTTP thread still answers other requests at once; the
// held one is answered once Redis is back.
TEST_F(GatewayLimits, ARateLimitDecisionHeldByRedisDoesNotHoldTheHttpThread) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  RateLimiter limiter(async_client(), RateLimits{}, clock_, metrics_);
  HttpServerOptions one_thread;
  one_thread.threads = 1;
  Door door(backend.address(), one_thread, FastGateway(), {}, &limiter);
  ASSERT_EQ(Create(door.port(), "").status(), 201);  // the limiter's connection is open
  ASSERT_TRUE(client().Command({"CLIENT", "PAUSE", "700", "ALL"}).ok());
  const auto paused = std::chrono::steady_clock::now();
  auto held = std::async(std::launch::async, [&] { return Create(door.port(), "").status(); });
  std::this_thread::sleep_for(100ms);  // the create waits for Redis now
  const auto asked = std::chrono::steady_clock::now();
  EXPECT_EQ(Get(door.port(), "/healthz").status(), 200);
  const auto answered = std::chrono::steady_clock::now();
  EXPECT_LT(answered - asked, 200ms) << "the HTTP thread waited for Redis";
  EXPECT_LT(answered - paused, 600ms) << "answered while Redis was still paused";
  EXPECT_EQ(held.get(), 201);
  EXPECT_GE(std::chrono::steady_clock::now() - paused, 600ms) << "the create waited for Redis";
  EXPECT_EQ(backend.Calls("/cityhub.requests.v1.RequestsService/CreateRequest"), 2);
}

// #18 item 18: residents behind one address (a carrier's NAT) each have their account's budget
// once signed in; anonymous callers share their address's, which is sized for many.
TEST_F(GatewayLimits, AccountsBehindOneAddressDoNotShareABudgetAndAnonymousCallersShareTheirs) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  RateLimits limits;
  limits.create = {2, std::chrono::hours(1), 2};
  limits.anonymous_create = {3, std::chrono::hours(1), 3};
  RateLimiter limiter(async_client(), limits, clock_, metrics_);
  Door door(backend.address(), {}, FastGateway(), {}, &limiter);
  for (const char* account : {"01JCITIZENA000000000000000", "01JCITIZENB000000000000000"}) {
    const std::string token = door.CitizenToken(account);
    EXPECT_EQ(Statuses(3, [&] { return Create(door.port(), token); }),
              (std::vector<int>{201, 201, 429}))
        << account;
  }
  EXPECT_EQ(Statuses(4, [&] { return Create(door.port(), ""); }),
            (std::vector<int>{201, 201, 201, 429}));
  EXPECT_EQ(Create(door.port(), "", kPothole, "127.0.0.2").status(), 201);  // another address
}

// #18 item 18: a create refused as invalid (by the gateway or by the service) costs no create
// unit; it is paid from the write budget instead.
TEST_F(GatewayLimits, ACreateRefusedAsInvalidCostsNoCreateUnit) {
  ScriptedBackend backend([](const std::string&, int call) {
    Answer a;
    if (call <= 3) {
      a.code = grpc::StatusCode::INVALID_ARGUMENT;
      a.message = "description: longer than 4000 characters";
    }
    return a;
  });
  RateLimits limits;
  limits.create = {2, std::chrono::hours(1), 2};
  RateLimiter limiter(async_client(), limits, clock_, metrics_);
  Door door(backend.address(), {}, FastGateway(), {}, &limiter);
  const std::string token = door.CitizenToken();
  EXPECT_EQ(Statuses(3, [&] { return Create(door.port(), token); }),
            (std::vector<int>{400, 400, 400}));
  EXPECT_EQ(Create(door.port(), token, R"({"colour":"red"})").status(), 400);
  EXPECT_EQ(Statuses(3, [&] { return Create(door.port(), token); }),
            (std::vector<int>{201, 201, 429}));
}

// #18 item 2: one client address holds at most its share of the connections; beyond it a
// connection is answered 429 and closed, other addresses are served, and a freed place is reused.
TEST_F(GatewayLimits, ConnectionsBeyondTheCapPerAddressAreRefused) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  HttpServerOptions http;
  http.max_connections_per_address = 3;
  Door door(backend.address(), http);
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) held.push_back(Connect(door.port()));
  ASSERT_TRUE(WaitUntil([&] { return door.server().open_connections() == 3; }, 5s));
  const int refused = Connect(door.port());
  std::string buffer;
  const RawResponse answer = ReadResponse(refused, &buffer);
  EXPECT_EQ(answer.status(), 429) << answer.head;
  EXPECT_EQ(answer.header("Connection"), "close");
  EXPECT_EQ(json::parse(answer.body, nullptr, false).value("code", 0), 8) << answer.body;
  std::string rest;
  EXPECT_TRUE(ClosedWithin(refused, 5s, &rest));
  ::close(refused);
  // Another address is served meanwhile.
  const int other = ConnectFrom("127.0.0.2", door.port());
  ASSERT_TRUE(SendAll(other, "GET /metrics HTTP/1.1\r\nHost: gateway\r\n\r\n"));
  const RawResponse metrics = ReadResponse(other, &buffer);
  EXPECT_EQ(metrics.status(), 200);
  EXPECT_THAT(metrics.body, HasSubstr(R"(http_connections_refused_total{reason="per_address"} 1)"));
  EXPECT_EQ(metrics.body.find("127.0.0."), std::string::npos);  // no address in the labels
  ::close(other);
  // A place frees up: the next connection from the first address is served.
  ::close(held.back());
  held.pop_back();
  ASSERT_TRUE(WaitUntil([&] { return door.server().open_connections() == 2; }, 5s));
  EXPECT_EQ(Get(door.port(), "/healthz").status(), 200);
  for (int fd : held) ::close(fd);
}

}  // namespace
}  // namespace cityhub::gateway
