// The gateway over real sockets in front of the real services.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "infra/ids.h"
#include "tests/harness/api.h"
#include "tests/harness/images.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;
using namespace std::chrono_literals;

// One stack for the suite: starting five processes per test would dominate the run time.
class GatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Stack::Options options;
    options.env = {
        {"CITYHUB_GATEWAY_HEADER_TIMEOUT", "1s"},
        {"CITYHUB_CORS_ORIGINS", "https://app.bielefeld.de"},
        {"CITYHUB_SSE_HEARTBEAT", "1s"},
        // All tests come from one address: generous budgets (limits have their own test).
        {"CITYHUB_RATE_LIMIT_SIGN_IN", "500/min"},
        {"CITYHUB_RATE_LIMIT_CREATE", "500/min"},
        {"CITYHUB_RATE_LIMIT_WRITE", "500/min"}};
    stack_ = new Stack(options);
    api_ = new Api(stack_->gateway_url());
    admin_ = api_->SignIn(stack_->admin_email(), stack_->admin_password());
    resident_ =
        api_->NewResident(stack_->smtp(), "resident@example.de", "de", nullptr, &resident_id_);
    operator_ = api_->NewOperator(stack_->smtp(), "clerk@bielefeld.de", {"roads"}, admin_);
  }
  static void TearDownTestSuite() {
    delete api_;
    delete stack_;
  }

  static json Pothole() {
    return {{"service_code", "pothole"},
            {"lat", 52.0211},
            {"long", 8.5325},
            {"attributes", {{"surface", "road"}}},
            {"description", "Tiefes Loch vor dem Rathaus."}};
  }

  static Stack* stack_;
  static Api* api_;
  static std::string admin_, resident_, resident_id_, operator_;
};

Stack* GatewayTest::stack_ = nullptr;
Api* GatewayTest::api_ = nullptr;
std::string GatewayTest::admin_, GatewayTest::resident_, GatewayTest::resident_id_,
    GatewayTest::operator_;

// #18 item 12: once a resident holds the bootstrap admin's address, accounts must not stop at
// every start (an outage for everyone); it logs the refusal and serves.
TEST_F(GatewayTest, ABootstrapAddressTakenByAResidentDoesNotStopAccounts) {
  stack_->StartReplica("accounts", "accounts-taken",
                       {{"CITYHUB_BOOTSTRAP_ADMIN_EMAIL", "resident@example.de"}});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (stack_->Log("accounts-taken").find("bootstrap_admin_refused") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);  // polling the log, not waiting for time to pass
  }
  EXPECT_THAT(stack_->Log("accounts-taken"), HasSubstr("bootstrap_admin_refused"));
  EXPECT_TRUE(stack_->process("accounts-taken").running());
  // Nobody was promoted.
  EXPECT_EQ(api_->Call("GET", "/v1/apiKeys", nullptr, resident_).status, 403);
  stack_->Stop("accounts-taken");
}

TEST_F(GatewayTest, MapsPathsBodiesAndQueriesOntoTheContracts) {
  const auto created = api_->Call("POST", "/v1/requests", Pothole(), resident_);
  ASSERT_EQ(created.status, 201) << created.raw.body;
  const std::string id = created.json["request_id"];
  EXPECT_EQ(created.json["service_name"], "Schlagloch");
  EXPECT_EQ(created.json["status"], "SUBMITTED");  // enums by name, proto field names
  const auto got = api_->Call("GET", "/v1/requests/" + id);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.json["request_id"], id);
  EXPECT_FALSE(got.json.contains("account_id") && got.json["account_id"] != "");  // public view
  const auto listed = api_->Call(
      "GET", "/v1/requests?service_code=pothole&service_code=tree&status=SUBMITTED&page_size=5");
  ASSERT_EQ(listed.status, 200) << listed.raw.body;
  EXPECT_GE(listed.json["requests"].size(), 1u);
  // lowerCamelCase input is accepted.
  const auto camel = api_->Call("POST", "/v1/requests",
                                {{"serviceCode", "graffiti"},
                                 {"lat", 52.02},
                                 {"long", 8.53},
                                 {"attributes", {{"offensive", "no"}}},
                                 {"mediaIds", json::array()}},
                                resident_);
  EXPECT_EQ(camel.status, 201) << camel.raw.body;
  // A body mapped to one field, with the path variable beside it.
  const auto patched = api_->Call("PATCH", "/v1/services/pothole", {{"sla_hours", 300}}, admin_);
  ASSERT_EQ(patched.status, 200) << patched.raw.body;
  EXPECT_EQ(patched.json["sla_hours"], 300);
  // Custom verbs.
  const auto follow =
      api_->Call("POST", "/v1/requests/" + id + ":follow", json::object(), resident_);
  EXPECT_EQ(follow.status, 200) << follow.raw.body;
  EXPECT_EQ(follow.json["following"], true);
}

TEST_F(GatewayTest, UnknownFieldsParametersAndBrokenBodiesAre400NamingTheProblem) {
  auto r = api_->Call("GET", "/v1/requests?colour=red");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json["message"], "colour: unknown query parameter");
  EXPECT_EQ(r.json["code"], 3);
  EXPECT_TRUE(r.json["details"].is_array());
  r = api_->Call("GET", "/v1/requests?status=OPENED");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.json["message"].get<std::string>(), StartsWith("status:"));
  json body = Pothole();
  body["colour"] = "red";
  r = api_->Call("POST", "/v1/requests", body, resident_);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.json["message"].get<std::string>(), HasSubstr("colour"));
  r = api_->Raw("POST", "/v1/requests", "{\"service_code\": \"pothole\",",
                {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.json["message"].get<std::string>(), StartsWith("body:"));
  r = api_->Raw("POST", "/v1/accounts", "{\"email\":\"x@y.de\",\"display_name\":\"Bad \xff\"}",
                {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json["message"], "display_name: not valid UTF-8");
  // Service validation comes through as 400 with the field.
  body = Pothole();
  body["lat"] = 91;
  r = api_->Call("POST", "/v1/requests", body, resident_);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.json["message"].get<std::string>(), StartsWith("lat:"));
}

TEST_F(GatewayTest, InvalidUtf8InAPathVariableIs400NamingTheField) {
  auto r = api_->Call("GET", "/v1/services/%FF%FE");
  EXPECT_EQ(r.status, 400) << r.raw.body;
  EXPECT_EQ(r.json["code"], 3);
  EXPECT_EQ(r.json["message"], "service_code: not valid UTF-8");
  r = api_->Call("POST", "/v1/requests/01J%C3%28:follow", json::object(), resident_);
  EXPECT_EQ(r.status, 400) << r.raw.body;
  EXPECT_EQ(r.json["message"], "request_id: not valid UTF-8");
  // Well-formed UTF-8 gets past the gateway; the service judges the code.
  r = api_->Call("GET", "/v1/services/stra%C3%9Fe");
  EXPECT_LT(r.status, 500) << r.raw.body;
  EXPECT_THAT(r.json["message"].get<std::string>(), ::testing::Not(HasSubstr("UTF-8")));
}

TEST_F(GatewayTest, AServiceThrottleIs429WithTheServicesRetryAfter) {
  // The accounts service slows down failed sign-ins (its own backoff, not the gateway's budget).
  Api::Result r;
  for (int i = 0; i < 10 && r.status != 429; ++i) {
    r = api_->Call("POST", "/v1/sessions",
                   {{"email", "guessed@example.de"}, {"password", "wrong-password-123"}});
    ASSERT_TRUE(r.status == 401 || r.status == 429) << r.raw.body;
  }
  ASSERT_EQ(r.status, 429);
  EXPECT_EQ(r.json["code"], 8);
  const std::string message = r.json["message"];
  EXPECT_NE(message, "too many requests; slow down");  // the service's answer, not the gateway's
  ASSERT_FALSE(r.raw.header("retry-after").empty());
  const int retry_after = std::stoi(r.raw.header("retry-after"));
  EXPECT_GE(retry_after, 1);
  // The service's own wait ("… try again in N s"), passed on from its trailing metadata.
  EXPECT_THAT(message, HasSubstr(" " + std::to_string(retry_after) + " s"));
}

TEST_F(GatewayTest, TheRequestIdReachesTheServicesLog) {
  const std::string given = "trace-" + infra::RandomToken(8);
  auto r =
      api_->Raw("GET", "/v1/requests/01JZZZZZZZZZZZZZZZZZZZZZZ1", "", {"X-Request-Id: " + given});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.raw.header("x-request-id"), given);
  // Without one, the gateway makes one up, answers with it and passes it on.
  r = api_->Call("POST", "/v1/sessions",
                 {{"email", "nobody@example.de"}, {"password", "whatever-123"}});
  const std::string made = r.raw.header("x-request-id");
  ASSERT_FALSE(made.empty());
  EXPECT_TRUE(WaitFor(
      [&] {
        return stack_->Log("requests").find("\"request_id\":\"" + given + "\"") !=
               std::string::npos;
      },
      5s))
      << stack_->Log("requests").substr(0, 2000);
  EXPECT_TRUE(WaitFor(
      [&] {
        return stack_->Log("accounts").find("\"request_id\":\"" + made + "\"") != std::string::npos;
      },
      5s));
}

TEST_F(GatewayTest, TheAccessLogIsOneJsonLinePerRequestWithoutPersonalData) {
  const std::string marker = "access-" + infra::RandomToken(8);
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"GET", "/v1/me"},
      {"GET", "/v1/requests?description=resident@example.de"},
      {"GET", "/v1/nothing/resident@example.de"},
      {"POST", "/v1/sessions"},
  };
  for (size_t i = 0; i < calls.size(); ++i) {
    const std::string body = calls[i].first == "POST"
                                 ? R"({"email":"resident@example.de","password":"x-wrong-12"})"
                                 : "";
    api_->Raw(
        calls[i].first, calls[i].second, body,
        {"Authorization: Bearer " + resident_, "X-Request-Id: " + marker + "-" + std::to_string(i),
         "Content-Type: application/json"});
  }
  std::vector<json> lines;
  ASSERT_TRUE(WaitFor(
      [&] {
        lines.clear();
        std::istringstream log(stack_->Log("gateway"));
        for (std::string line; std::getline(log, line);) {
          if (line.find(marker) == std::string::npos) continue;
          const auto parsed = json::parse(line, nullptr, false);
          EXPECT_FALSE(parsed.is_discarded()) << line;
          EXPECT_EQ(line.find("resident@example.de"), std::string::npos) << line;
          EXPECT_EQ(line.find(resident_), std::string::npos) << line;
          EXPECT_EQ(line.find("127.0.0.1"), std::string::npos) << line;
          lines.push_back(parsed);
        }
        return lines.size() == calls.size();
      },
      5s))
      << lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    const json& l = lines[i];
    EXPECT_EQ(l["event"], "http");
    EXPECT_EQ(l["request_id"], marker + "-" + std::to_string(i));
    EXPECT_EQ(l["method"], calls[i].first);
    EXPECT_TRUE(l["status"].is_number_integer());
    EXPECT_TRUE(l["latency_ms"].is_number());
    EXPECT_TRUE(l["route"].is_string());
  }
  EXPECT_EQ(lines[0]["route"], "GET /v1/me");
  EXPECT_EQ(lines[1]["route"], "GET /v1/requests");  // the template, not the query
  EXPECT_EQ(lines[2]["route"], "unmatched");
  // Nowhere in the gateway's log: the token, an e-mail address.
  const std::string all = stack_->Log("gateway");
  EXPECT_EQ(all.find(resident_), std::string::npos);
  EXPECT_EQ(all.find("@example.de"), std::string::npos);
}

TEST_F(GatewayTest, ErrorsMapToHttpStatuses) {
  auto r = api_->Call("GET", "/v1/me");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.raw.header("www-authenticate"), "Bearer");
  r = api_->Call("GET", "/v1/me", nullptr, "not.a.token");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.raw.header("www-authenticate"), HasSubstr("invalid_token"));
  r = api_->Call("GET", "/v1/services", nullptr,
                 "garbage");  // a bad token is refused even on public routes
  EXPECT_EQ(r.status, 401);
  r = api_->Call("POST", "/v1/apiKeys", {{"name", "x"}}, resident_);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.json["code"], 7);
  r = api_->Call("GET", "/v1/nothing-here");
  EXPECT_EQ(r.status, 404);
  r = api_->Call("GET", "/v1/requests/01JZZZZZZZZZZZZZZZZZZZZZZZ");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json["code"], 5);
  r = api_->Call("DELETE", "/v1/me", nullptr, resident_);
  EXPECT_EQ(r.status, 405);
  EXPECT_THAT(r.raw.header("allow"), HasSubstr("GET"));
  r = api_->Call(
      "POST", "/v1/accounts",
      {{"email", "resident@example.de"}, {"password", Api::kPassword}, {"display_name", "Twin"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.json["code"], 6);
  const auto created = api_->Call("POST", "/v1/requests", Pothole(), resident_);
  r = api_->Call("POST",
                 "/v1/requests/" + created.json["request_id"].get<std::string>() + ":transition",
                 {{"status", "CLOSED"}}, operator_);
  EXPECT_EQ(r.status, 400);  // FAILED_PRECONDITION
  EXPECT_EQ(r.json["code"], 9);
}

TEST_F(GatewayTest, AccessMatrix) {
  const std::string request =
      api_->Call("POST", "/v1/requests", Pothole(), resident_).json["request_id"];
  struct Route {
    std::string method, path;
    json body;
  };
  const std::vector<Route> routes = {
      {"GET", "/v1/services", nullptr},                                             // public
      {"GET", "/v1/me", nullptr},                                                   // citizen
      {"POST", "/v1/requests/" + request + ":transition", {{"status", "CLOSED"}}},  // operator
      {"GET", "/v1/apiKeys", nullptr},                                              // admin
  };
  // Expected statuses for anonymous, citizen, operator, admin.
  const std::vector<std::vector<int>> expected = {
      {200, 200, 200, 200}, {401, 200, 200, 200}, {401, 403, 400, 400}, {401, 403, 403, 200}};
  const std::vector<std::string> tokens = {"", resident_, operator_, admin_};
  for (size_t r = 0; r < routes.size(); ++r) {
    for (size_t c = 0; c < tokens.size(); ++c) {
      const auto got = api_->Call(routes[r].method, routes[r].path, routes[r].body, tokens[c]);
      EXPECT_EQ(got.status, expected[r][c]) << routes[r].method << " " << routes[r].path
                                            << " as caller " << c << ": " << got.raw.body;
    }
  }
}

TEST_F(GatewayTest, HeaderAndBodyLimits) {
  auto r = api_->Raw("GET", "/v1/services", "", {"X-Padding: " + std::string(20 * 1024, 'a')});
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.json["code"], 3);
  r = api_->Raw("POST", "/v1/accounts", std::string(1024 * 1024 + 1, ' '),
                {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 413);
  std::string photo = TestJpeg(640, 480);
  photo.resize(10 * 1024 * 1024 + 1, '\0');
  r = api_->Raw("POST", "/v1/media", photo,
                {"Content-Type: image/jpeg", "Authorization: Bearer " + resident_});
  EXPECT_EQ(r.status, 413);
  // The media route takes more than the default limit.
  std::string big = TestJpeg(640, 480);
  big.resize(2 * 1024 * 1024, '\0');
  r = api_->Raw("POST", "/v1/media", big,
                {"Content-Type: image/jpeg", "Authorization: Bearer " + resident_});
  EXPECT_EQ(r.status, 201) << r.raw.body;
}

TEST_F(GatewayTest, ASlowClientIsCutOff) {
  const int fd = ConnectLoopback(stack_->port("gateway"));
  ASSERT_GE(fd, 0);
  const std::string request =
      "GET /v1/services HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n";
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (char c : request) {
    if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) {
      closed = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) > 0) {
      char buf[1024];
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0 || std::string_view(buf, n).find("408") != std::string_view::npos) {
        closed = true;
        break;
      }
    }
  }
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);  // header timeout is 1 s here
}

TEST_F(GatewayTest, MediaGoesInRawAndComesBackWithTypeAndCaching) {
  auto r = api_->Raw("POST", "/v1/media", TestPng(12, 12, true),
                     {"Content-Type: image/png", "Authorization: Bearer " + resident_});
  ASSERT_EQ(r.status, 201) << r.raw.body;
  const std::string url = r.json["url"];
  EXPECT_THAT(url, StartsWith(stack_->gateway_url() + "/v1/media/"));
  const auto image = HttpRequest("GET", url);
  EXPECT_EQ(image.status, 200);
  EXPECT_EQ(image.header("content-type"), "image/png");
  // Caches ask again before each use (a 304 by ETag): a photo staff hide must not stay in them.
  EXPECT_EQ(image.header("cache-control"), "no-cache");
  EXPECT_FALSE(image.header("etag").empty());
  EXPECT_EQ(image.body.substr(1, 3), "PNG");
  EXPECT_EQ(image.body.find(kGpsMarker), std::string::npos);
  r = api_->Raw("POST", "/v1/media", "just text",
                {"Content-Type: image/jpeg", "Authorization: Bearer " + resident_});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.json["message"].get<std::string>(), StartsWith("file:"));
}

TEST_F(GatewayTest, RequestIdsSecurityHeadersAndCaching) {
  auto r = api_->Raw("GET", "/v1/me", "",
                     {"Authorization: Bearer " + resident_, "X-Request-Id: trace-42"});
  EXPECT_EQ(r.raw.header("x-request-id"), "trace-42");
  EXPECT_EQ(r.raw.header("cache-control"), "no-store");
  EXPECT_EQ(r.raw.header("x-content-type-options"), "nosniff");
  r = api_->Call("GET", "/v1/services");
  EXPECT_EQ(r.raw.header("x-request-id").size(), 26u);
  EXPECT_EQ(r.raw.header("cache-control"), "public, max-age=60");
}

TEST_F(GatewayTest, CorsPreflightAndAllowedOrigins) {
  auto r = api_->Raw("OPTIONS", "/v1/requests", "",
                     {"Origin: https://app.bielefeld.de", "Access-Control-Request-Method: POST",
                      "Access-Control-Request-Headers: authorization, content-type"});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.raw.header("access-control-allow-origin"), "https://app.bielefeld.de");
  EXPECT_THAT(r.raw.header("access-control-allow-methods"), HasSubstr("POST"));
  EXPECT_THAT(r.raw.header("access-control-allow-headers"), HasSubstr("Authorization"));
  r = api_->Raw("GET", "/v1/services", "", {"Origin: https://evil.example"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.raw.header("access-control-allow-origin"), "");
}

TEST_F(GatewayTest, NotificationsStreamAsServerSentEventsAndResume) {
  std::string account;
  const std::string token =
      api_->NewResident(stack_->smtp(), "sse@example.de", "en", nullptr, &account);
  const std::string request =
      api_->Call("POST", "/v1/requests", Pothole(), token).json["request_id"];
  SseClient first(stack_->port("gateway"), "/v1/notifications:stream",
                  {"Authorization: Bearer " + token});
  ASSERT_EQ(first.status(), 200) << first.head();
  EXPECT_THAT(first.head(), HasSubstr("text/event-stream"));
  for (const char* status : {"ACKNOWLEDGED", "IN_PROGRESS"}) {
    ASSERT_EQ(api_->Call("POST", "/v1/requests/" + request + ":transition", {{"status", status}},
                         operator_)
                  .status,
              200);
  }
  const auto events = first.Read(2, 10s);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(json::parse(events[0].data)["title"], "Your report \"Pothole\" is acknowledged");
  EXPECT_FALSE(events[0].id.empty());
  first.Close();
  // While away, one more change; resuming after the first event brings the second and the new one.
  ASSERT_EQ(api_->Call("POST", "/v1/requests/" + request + ":transition",
                       {{"status", "RESOLVED"},
                        {"public_note", "Repariert."},
                        {"internal_note", "Kolonne 3"}},
                       operator_)
                .status,
            200);
  SseClient resumed(stack_->port("gateway"), "/v1/notifications:stream",
                    {"Authorization: Bearer " + token, "Last-Event-ID: " + events[0].id});
  const auto more = resumed.Read(2, 10s);
  ASSERT_EQ(more.size(), 2u);
  EXPECT_EQ(more[0].id, events[1].id);
  EXPECT_EQ(json::parse(more[1].data)["body"], "Repariert.");
  EXPECT_EQ(more[1].data.find("Kolonne"), std::string::npos);
  resumed.Read(1, 2500ms);
  EXPECT_GE(resumed.comments(), 1);  // heartbeats
  SseClient anonymous(stack_->port("gateway"), "/v1/notifications:stream", {});
  EXPECT_EQ(anonymous.status(), 401);
  // #18: a bad after_id is an ordinary 400 naming the field, not a stream with an error event;
  // a good one resumes like Last-Event-ID.
  const auto bogus = api_->Call("GET", "/v1/notifications:stream?after_id=bogus", nullptr, token);
  EXPECT_EQ(bogus.status, 400) << bogus.raw.body;
  EXPECT_THAT(bogus.raw.header("content-type"), HasSubstr("application/json"));
  EXPECT_THAT(bogus.json.value("message", ""), StartsWith("after_id:"));
  SseClient after(stack_->port("gateway"), "/v1/notifications:stream?after_id=" + events[0].id,
                  {"Authorization: Bearer " + token});
  ASSERT_EQ(after.status(), 200) << after.head();
  const auto resumed_by_query = after.Read(1, 10s);
  ASSERT_EQ(resumed_by_query.size(), 1u);
  EXPECT_EQ(resumed_by_query[0].id, events[1].id);
}

TEST_F(GatewayTest, HealthReadinessMetricsAndOpenApi) {
  EXPECT_EQ(api_->Call("GET", "/healthz").status, 200);
  auto ready = api_->Call("GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.raw.body;
  EXPECT_EQ(ready.json["backends"]["cityhub.requests.v1.RequestsService"], "SERVING");
  const auto metrics = api_->Call("GET", "/metrics");
  EXPECT_THAT(metrics.raw.body,
              HasSubstr("http_requests_total{route=\"GET /v1/services\",status=\"200\"}"));
  EXPECT_THAT(metrics.raw.body,
              HasSubstr("http_request_duration_seconds_bucket{route=\"POST /v1/requests\""));
  EXPECT_EQ(metrics.raw.body.find("@example.de"), std::string::npos);
  const auto openapi = api_->Call("GET", "/openapi.json");
  ASSERT_EQ(openapi.status, 200);
  EXPECT_EQ(openapi.json["openapi"], "3.0.3");
  EXPECT_TRUE(openapi.json["paths"].contains("/v1/requests/{request_id}:transition"));
  EXPECT_TRUE(openapi.json["paths"]["/v1/me"].contains("patch"));
}

// Kept last in the suite: it stops and starts parts of the stack.
TEST_F(GatewayTest, ZBackendDownIs503AndNoHang) {
  stack_->Stop("notifications");
  const auto start = std::chrono::steady_clock::now();
  const auto r = api_->Call("GET", "/v1/notifications", nullptr, resident_);
  EXPECT_EQ(r.status, 503) << r.raw.body;
  EXPECT_EQ(r.json["code"], 14);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  // Readiness is checked at most once a second.
  EXPECT_TRUE(WaitFor([&] { return api_->Call("GET", "/readyz").status == 503; }, 3s));
  stack_->Start("notifications");
  EXPECT_TRUE(WaitFor(
      [&] { return api_->Call("GET", "/v1/notifications", nullptr, resident_).status == 200; },
      10s));
}

// The per-account budget holds across addresses (behind a proxy that says who the client is).
TEST(GatewayRateLimits, AnAccountsBudgetIsSharedByAllItsAddresses) {
  Stack::Options options;  // with notifications: they send the verification mails
  options.env = {{"CITYHUB_RATE_LIMIT_READ", "3/min"},
                 {"CITYHUB_RATE_LIMIT_SIGN_IN", "100/min"},
                 {"CITYHUB_TRUST_FORWARDED_FOR", "true"}};
  Stack stack(options);
  Api api(stack.gateway_url());
  const std::string first = api.NewResident(stack.smtp(), "erste@example.de");
  const std::string second = api.NewResident(stack.smtp(), "zweite@example.de");
  auto me = [&](const std::string& token, const std::string& address) {
    return api.Call("GET", "/v1/me", nullptr, token, {"X-Forwarded-For: 192.0.2.7, " + address})
        .status;
  };
  // A new address for every call: only the account's budget can run out.
  std::vector<int> statuses;
  for (int i = 1; i <= 5; ++i) statuses.push_back(me(first, "198.51.100." + std::to_string(i)));
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200, 429, 429}));
  const auto limited =
      api.Call("GET", "/v1/me", nullptr, first, {"X-Forwarded-For: 198.51.100.99"});
  EXPECT_EQ(limited.status, 429);
  EXPECT_GE(std::stoi(limited.raw.header("retry-after")), 1);
  // Another account, and anonymous callers, from fresh addresses are not held back.
  EXPECT_EQ(me(second, "203.0.113.1"), 200);
  EXPECT_EQ(api.Call("GET", "/v1/services", nullptr, "", {"X-Forwarded-For: 203.0.113.2"}).status,
            200);
}

// Behind a proxy the gateway passes on who the client is: two anonymous residents who happen
// to send one Idempotency-Key get two requests, and a retry from the same address gets the first.
TEST(GatewayForwarding, TheClientAddressReachesTheServices) {
  Stack::Options options;
  options.notifications = false;
  options.env = {{"CITYHUB_TRUST_FORWARDED_FOR", "true"}};
  Stack stack(options);
  Api api(stack.gateway_url());
  const json pothole = {{"service_code", "pothole"},
                        {"lat", 52.0211},
                        {"long", 8.5325},
                        {"attributes", {{"surface", "road"}}},
                        {"description", "Loch am Jahnplatz"}};
  const auto file = [&](const std::string& address) {
    const auto r = api.Call("POST", "/v1/requests", pothole, "",
                            {"Idempotency-Key: same-key-0001", "X-Forwarded-For: " + address});
    EXPECT_EQ(r.status / 100, 2) << r.raw.body;
    return r.json.value("request_id", "");
  };
  const std::string first = file("198.51.100.10");
  const std::string second = file("203.0.113.20");
  EXPECT_FALSE(first.empty());
  EXPECT_NE(first, second);
  EXPECT_EQ(file("198.51.100.10"), first);
}

// Rate limits need their own small budgets.
TEST(GatewayRateLimits, AnswerTooManyRequestsAndFailOpenForReadsWithoutRedis) {
  Stack::Options options;
  options.notifications = false;
  options.env = {{"CITYHUB_RATE_LIMIT_ANONYMOUS_READ", "5/min"},
                 {"CITYHUB_RATE_LIMIT_ANONYMOUS_SIGN_IN", "3/min"},
                 {"CITYHUB_TRUST_FORWARDED_FOR", "true"}};  // another client: X-Forwarded-For
  Stack stack(options);
  Api api(stack.gateway_url());
  int ok = 0;
  Api::Result limited;
  for (int i = 0; i < 8; ++i) {
    const auto r = api.Call("GET", "/.well-known/jwks.json");
    if (r.status == 200) ++ok;
    if (r.status == 429) limited = r;
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(limited.status, 429);
  EXPECT_GE(std::stoi(limited.raw.header("retry-after")), 1);
  EXPECT_EQ(limited.json["code"], 8);
  // Without Redis, reads go on (fail open); a client already refused stays refused until its
  // Retry-After, from the gateway's memory; sign-in falls back to a per-gateway limit.
  stack.redis().Kill();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(
        api.Call("GET", "/.well-known/jwks.json", nullptr, "", {"X-Forwarded-For: 198.51.100.77"})
            .status,
        200);
  }
  EXPECT_EQ(api.Call("GET", "/.well-known/jwks.json").status, 429);
  std::vector<int> statuses;
  for (int i = 0; i < 5; ++i) {
    statuses.push_back(
        api.Call("POST", "/v1/sessions", {{"email", "a@b.de"}, {"password", "whatever-123"}})
            .status);
  }
  EXPECT_EQ(statuses.back(), 429);
  stack.redis().Start();
}

}  // namespace
}  // namespace cityhub::testing
