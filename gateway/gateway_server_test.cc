// The gateway and its HTTP server in this process, over real sockets, in front of a real gRPC
// server on port 0 whose answers each test scripts: the error table end to end, deadlines, the
// retry of safe calls, HEAD, the connection cap, the timeouts and TLS.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cityhub/accounts/v1/accounts.pb.h"
#include "cityhub/notifications/v1/notifications.pb.h"
#include "cityhub/requests/v1/requests.pb.h"
#include "gateway/backends.h"
#include "gateway/gateway.h"
#include "gateway/http_server.h"
#include "gateway/routes.h"
#include "gateway/server_test_harness.h"
#include "gateway/static_files.h"
#include "infra/auth/jwt.h"
#include "infra/clock.h"
#include "infra/metrics.h"
#include "tests/harness/http.h"
#include "tests/harness/process.h"
#include "tests/harness/tls.h"

namespace cityhub::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;
using namespace std::chrono_literals;
using cityhub::testing::TlsAnswer;
using cityhub::testing::TlsExchange;
using cityhub::testing::WriteSelfSignedCertificate;

using namespace harness;

// --- errors ------------------------------------------------------------------------------------

TEST(GatewayServer, ServiceErrorsReachTheCallerAsTheTableSays) {
  ScriptedBackend backend([](const std::string& method, int) {
    Answer a;
    if (method.ends_with("/GetService")) {
      a.code = grpc::StatusCode::INTERNAL;
      a.message = "redis at 10.0.0.7:6379 said WRONGTYPE";
    } else if (method.ends_with("/GetRequest")) {
      a.code = grpc::StatusCode::ABORTED;
      a.message = "the request changed meanwhile";
    } else if (method.ends_with("/SignIn")) {
      a.code = grpc::StatusCode::RESOURCE_EXHAUSTED;
      a.message = "too many failed sign-ins; try again in 17 s";
      a.trailers = {{"retry-after", "17"}};
    } else if (method.ends_with("/ListRequests")) {
      a.code = grpc::StatusCode::DEADLINE_EXCEEDED;
      a.message = "redis was too slow";
    }
    return a;
  });
  Door door(backend.address());

  auto r = Get(door.port(), "/v1/services/pothole");
  EXPECT_EQ(r.status(), 500);
  auto body = json::parse(r.body);
  EXPECT_EQ(body["code"], 13);
  EXPECT_EQ(body["message"], "internal error");  // the detail stays inside
  EXPECT_THAT(r.body, ::testing::Not(HasSubstr("10.0.0.7")));

  r = Get(door.port(), "/v1/requests/01JABCDEFGHJKMNPQRSTVWXYZ0");
  EXPECT_EQ(r.status(), 409);
  body = json::parse(r.body);
  EXPECT_EQ(body["code"], 10);
  EXPECT_EQ(body["message"], "the request changed meanwhile");

  r = Post(door.port(), "/v1/sessions", R"({"email":"a@b.de","password":"wrong-password-1"})");
  EXPECT_EQ(r.status(), 429);
  EXPECT_EQ(r.header("Retry-After"), "17");  // the service's, not a default
  EXPECT_EQ(json::parse(r.body)["code"], 8);

  r = Get(door.port(), "/v1/requests?service_code=pothole");
  EXPECT_EQ(r.status(), 504);
  EXPECT_EQ(json::parse(r.body)["code"], 4);
}

TEST(GatewayServer, ABackendThatDoesNotAnswerIs504WhenTheDeadlinePasses) {
  ScriptedBackend backend([](const std::string&, int) {
    Answer a;
    a.hang = true;
    return a;
  });
  GatewayOptions options = FastGateway();
  options.default_deadline = 300ms;
  Door door(backend.address(), {}, options);
  const auto start = std::chrono::steady_clock::now();
  const auto r = Get(door.port(), "/v1/services/pothole");
  EXPECT_EQ(r.status(), 504) << r.head << r.body;
  EXPECT_EQ(json::parse(r.body)["code"], 4);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(backend.Calls("/cityhub.requests.v1.RequestsService/GetService"), 1);  // not retried
}

TEST(GatewayServer, ARouteWithItsOwnDeadlineGivesTheServiceThatLong) {
  ScriptedBackend backend([](const std::string&, int) {
    Answer a;
    a.body = cityhub::accounts::v1::PersonalDataExport().SerializeAsString();
    return a;
  });
  GatewayOptions options = FastGateway();
  options.default_deadline = 2s;
  Door door(backend.address(), {}, options);
  // GET /v1/me:export has deadline_ms 15000 in its policy; other routes get the default.
  auto r = Get(door.port(), "/v1/me:export", {"Authorization: Bearer " + door.CitizenToken()});
  ASSERT_EQ(r.status(), 200) << r.head << r.body;
  const auto export_deadline =
      backend.DeadlineOf("/cityhub.accounts.v1.AccountsService/ExportMyData");
  // gRPC sends the timeout rounded up, hence the margins.
  EXPECT_GT(export_deadline, 13s);
  EXPECT_LT(export_deadline, 16s);
  r = Get(door.port(), "/.well-known/jwks.json");
  const auto default_deadline = backend.DeadlineOf("/cityhub.accounts.v1.AccountsService/GetJwks");
  EXPECT_GT(default_deadline, 1s);
  EXPECT_LT(default_deadline, 3s);
}

TEST(GatewayServer, SafeCallsAreRetriedTwiceAtMostWhenTheBackendIsUnavailableOrCutTheCall) {
  ScriptedBackend backend([](const std::string& method, int call) {
    Answer a;
    if (method.ends_with("/GetService") && call == 1) {
      a.code = grpc::StatusCode::UNAVAILABLE;
      a.message = "restarting";
    } else if (method.ends_with("/GetService")) {
      a.body = Pothole();
    } else {
      a.code = grpc::StatusCode::UNAVAILABLE;
      a.message = "down";
    }
    return a;
  });
  Door door(backend.address());
  auto r = Get(door.port(), "/v1/services/pothole");
  EXPECT_EQ(r.status(), 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["service_code"], "pothole");
  EXPECT_EQ(backend.Calls("/cityhub.requests.v1.RequestsService/GetService"), 2);
  // Twice at most: a GET whose backend stays down is tried three times, then 503.
  r = Get(door.port(), "/v1/requests/01JABCDEFGHJKMNPQRSTVWXYZ0");
  EXPECT_EQ(r.status(), 503);
  EXPECT_EQ(json::parse(r.body)["code"], 14);
  EXPECT_EQ(backend.Calls("/cityhub.requests.v1.RequestsService/GetRequest"), 3);
  // Writes are never repeated by the gateway.
  r = Post(door.port(), "/v1/requests", R"({"service_code":"pothole","lat":52.02,"long":8.53})");
  EXPECT_EQ(r.status(), 503);
  EXPECT_EQ(backend.Calls("/cityhub.requests.v1.RequestsService/CreateRequest"), 1);
}

TEST(GatewayServer, AGetCutByTheBackendsShutdownIsRetried) {
  ScriptedBackend backend([](const std::string& method, int call) {
    Answer a;
    if (method.ends_with("/GetService") && call == 1) {
      a.code = grpc::StatusCode::CANCELLED;
      a.message = "server shutting down";
    } else {
      a.body = Pothole();
    }
    return a;
  });
  Door door(backend.address());
  const auto r = Get(door.port(), "/v1/services/pothole");
  EXPECT_EQ(r.status(), 200) << r.body;
  EXPECT_EQ(backend.Calls("/cityhub.requests.v1.RequestsService/GetService"), 2);
}

TEST(GatewayServer, AValidTokenBeforeTheSigningKeysAreLoadedIs503NotSignedOut) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  Door door(backend.address());
  const std::string token = door.CitizenToken();
  door.ForgetSigningKeys();
  const auto r = Get(door.port(), "/v1/me:export", {"Authorization: Bearer " + token});
  EXPECT_EQ(r.status(), 503) << r.body;
  EXPECT_EQ(r.header("Retry-After"), "1");
  EXPECT_EQ(json::parse(r.body)["code"], 14);
  EXPECT_THAT(json::parse(r.body)["message"].get<std::string>(),
              ::testing::HasSubstr("signing keys"));
  EXPECT_EQ(backend.Calls("/cityhub.accounts.v1.AccountsService/ExportMyData"), 0);
}

// --- the server --------------------------------------------------------------------------------

TEST(GatewayServer, HeadAnswersWithTheGetLengthAndNoBodyOnAKeptAliveConnection) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  Door door(backend.address());
  const int fd = Connect(door.port());
  std::string buffer;
  ASSERT_TRUE(SendAll(fd, "HEAD /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"));
  const RawResponse head = ReadResponse(fd, &buffer, false);
  EXPECT_EQ(head.status(), 200) << head.head;
  EXPECT_EQ(head.header("Content-Length"),
            std::to_string(std::string(R"({"status":"ok"})").size()));
  ASSERT_TRUE(SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"));
  const RawResponse get = ReadResponse(fd, &buffer);
  // Had the HEAD answer carried a body, it would sit before this status line.
  EXPECT_THAT(get.head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(get.body, R"({"status":"ok"})");
  EXPECT_TRUE(buffer.empty()) << buffer;
  ::close(fd);
}

TEST(GatewayServer, HeadOnAnApiRouteIsItsGetWithoutTheBody) {
  cityhub::requests::v1::ServiceRequest found;
  found.set_request_id("01JCITYHUB0000000000000000");
  found.set_description("Laterne dunkel");
  ScriptedBackend backend([&](const std::string&, int) {
    Answer a;
    a.body = found.SerializeAsString();
    return a;
  });
  Door door(backend.address());
  const int fd = Connect(door.port());
  std::string buffer;
  ASSERT_TRUE(
      SendAll(fd, "GET /v1/requests/01JCITYHUB0000000000000000 HTTP/1.1\r\nHost: gateway\r\n\r\n"));
  const RawResponse get = ReadResponse(fd, &buffer);
  ASSERT_EQ(get.status(), 200) << get.head;
  ASSERT_TRUE(SendAll(
      fd, "HEAD /v1/requests/01JCITYHUB0000000000000000 HTTP/1.1\r\nHost: gateway\r\n\r\n"));
  const RawResponse head = ReadResponse(fd, &buffer, false);
  EXPECT_EQ(head.status(), 200) << head.head;
  EXPECT_EQ(head.header("Content-Length"), std::to_string(get.body.size()));
  EXPECT_EQ(head.header("Content-Type"), "application/json");
  ASSERT_TRUE(SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"));
  EXPECT_THAT(ReadResponse(fd, &buffer).head,
              StartsWith("HTTP/1.1 200 OK\r\n"));  // no body came between
  ::close(fd);
  // Not for event streams.
  const RawResponse stream = Exchange(door.port(),
                                      "HEAD /v1/notifications:stream HTTP/1.1\r\nHost: gateway\r\n"
                                      "Connection: close\r\n\r\n");
  EXPECT_EQ(stream.status(), 405);
}

// The operations endpoints answer other methods as every route does: 405 with Allow.
TEST(GatewayServer, OperationsEndpointsAnswerOtherMethodsWith405AndAllow) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  Door door(backend.address());
  for (const std::string path : {"/healthz", "/readyz", "/metrics", "/openapi.json"}) {
    for (const std::string method : {"POST", "TRACE", "DELETE"}) {
      const RawResponse r =
          Exchange(door.port(), method + " " + path +
                                    " HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
                                    "Content-Length: 0\r\n\r\n");
      EXPECT_EQ(r.status(), 405) << method << " " << path << "\n" << r.head;
      EXPECT_EQ(r.header("Allow"), "GET, HEAD") << method << " " << path;
    }
  }
}

// An event stream carries the security headers of every other answer.
TEST(GatewayServer, AnEventStreamCarriesTheSecurityHeaders) {
  ScriptedBackend backend([](const std::string&, int) {
    Answer a;
    a.stay_open = true;
    return a;
  });
  Door door(backend.address());
  const int fd = Connect(door.port());
  ASSERT_TRUE(SendAll(
      fd, "GET /v1/notifications:stream HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer " +
              door.CitizenToken() + "\r\n\r\n"));
  std::string buffer;
  const RawResponse head = ReadResponse(fd, &buffer, false);
  EXPECT_EQ(head.status(), 200) << head.head;
  EXPECT_EQ(head.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(head.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(head.header("Referrer-Policy"), "no-referrer");
  EXPECT_FALSE(head.header("X-Request-Id").empty());
  ::close(fd);
}

// The web app on the API's origin: app paths get index.html with the strict policy and the usual
// security headers, while the API keeps its own answers and its JSON 404s.
TEST(GatewayServer, TheWebAppIsServedBesideTheApiWithoutTakingItsPaths) {
  ScriptedBackend backend([](const std::string&, int) {
    Answer a;
    a.body = Pothole();
    return a;
  });
  Door door(backend.address());
  const std::string dir = ::testing::TempDir() + "cityhub-web-door-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir + "/assets");
  std::ofstream(dir + "/index.html")
      << R"(<!doctype html><meta name="cityhub-config" content="{}"><main></main>)";
  std::ofstream(dir + "/assets/app-00ff.js") << "run()";
  StaticFilesOptions options;
  options.dir = dir;
  options.config_json = R"({"jurisdiction_id":"bielefeld.de"})";
  auto files = StaticFiles::Load(options);
  ASSERT_TRUE(files.ok()) << files.status();
  door.gateway().SetStaticFiles(files->get());

  for (const char* path :
       {"/", "/requests/01JCITYHUB0000000000000000", "/verify-email?token=abc"}) {
    const RawResponse page = Get(door.port(), path);
    EXPECT_EQ(page.status(), 200) << path;
    EXPECT_THAT(page.body, HasSubstr("<main></main>")) << path;
    EXPECT_THAT(page.body, HasSubstr("&quot;jurisdiction_id&quot;")) << path;
    EXPECT_EQ(page.header("Cache-Control"), "no-cache") << path;
    EXPECT_THAT(page.header("Content-Security-Policy"), HasSubstr("default-src 'self'")) << path;
    EXPECT_FALSE(page.header("X-Request-Id").empty()) << path;
    EXPECT_EQ(page.header("X-Frame-Options"), "DENY") << path;
  }
  const RawResponse asset = Get(door.port(), "/assets/app-00ff.js");
  EXPECT_EQ(asset.status(), 200);
  EXPECT_EQ(asset.body, "run()");
  EXPECT_EQ(asset.header("Cache-Control"), "public, max-age=31536000, immutable");

  const RawResponse api = Get(door.port(), "/v1/services/pothole");
  EXPECT_EQ(api.status(), 200);
  EXPECT_EQ(json::parse(api.body)["service_code"], "pothole");
  for (const char* path : {"/v1/no/such/route", "/open311/v2/nothing.json", "/assets/missing.js"}) {
    const RawResponse missing = Get(door.port(), path);
    EXPECT_EQ(missing.status(), 404) << path;
    EXPECT_EQ(missing.header("Content-Type"), "application/json") << path;
  }
  EXPECT_THAT(Get(door.port(), "/openapi.json").body, HasSubstr("\"openapi\""));
  EXPECT_EQ(Post(door.port(), "/", "{}").status(), 404);
  std::filesystem::remove_all(dir);
}

// Behind a trusted proxy the client is the right-most X-Forwarded-For entry, however many header
// lines carry the list: a client's own first line must not decide its identity.
TEST(GatewayServer, ForwardedForOverSeveralHeaderLinesTakesTheRightMostEntry) {
  ScriptedBackend backend([](const std::string&, int) {
    Answer a;
    a.body = Pothole();
    return a;
  });
  GatewayOptions options = FastGateway();
  options.trust_forwarded_for = true;
  Door door(backend.address(), {}, options);
  const std::string method = std::string("/") + kRequests + "/GetService";
  ASSERT_EQ(Get(door.port(), "/v1/services/pothole",
                {"X-Forwarded-For: 203.0.113.66", "X-Forwarded-For: 198.51.100.7, 192.0.2.10"})
                .status(),
            200);
  EXPECT_EQ(backend.ClientAddressOf(method), "192.0.2.10");
  ASSERT_EQ(Get(door.port(), "/v1/services/pothole",
                {"X-Forwarded-For: 203.0.113.66", "X-Forwarded-For: 192.0.2.11, "})
                .status(),
            200);
  EXPECT_EQ(backend.ClientAddressOf(method), "192.0.2.11");
  ASSERT_EQ(Get(door.port(), "/v1/services/pothole").status(), 200);
  EXPECT_EQ(backend.ClientAddressOf(method), "127.0.0.1");
  // An IPv6 client is counted by its /64: one subscriber has all of it.
  ASSERT_EQ(Get(door.port(), "/v1/services/pothole",
                {"X-Forwarded-For: 2001:db8:1:2:aaaa:bbbb:cccc:dddd"})
                .status(),
            200);
  EXPECT_EQ(backend.ClientAddressOf(method), "2001:db8:1:2::/64");
}

TEST(ClientIdentity, CountsIpv6ClientsByTheirSlash64) {
  EXPECT_EQ(ClientIdentity("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(ClientIdentity("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientIdentity("2001:db8:1:2::1"), ClientIdentity("2001:db8:1:2:ffff::9"));
  EXPECT_NE(ClientIdentity("2001:db8:1:2::1"), ClientIdentity("2001:db8:1:3::1"));
  EXPECT_EQ(ClientIdentity("[2001:db8::5]"), "2001:db8::/64");
  EXPECT_EQ(ClientIdentity("::ffff:198.51.100.4"), "198.51.100.4");
  EXPECT_EQ(ClientIdentity("::1"), "::/64");
  EXPECT_EQ(ClientIdentity("not-an-address"), "not-an-address");
  EXPECT_EQ(ClientIdentity("zz::zz"), "zz::zz");
}

// A body framed by a transfer coding other than a final `chunked` cannot be read safely: the
// gateway would take it for no body and read its bytes as the next request (request smuggling).
TEST(GatewayServer, TransferCodingsOtherThanChunkedAreRefusedAndTheConnectionCloses) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  Door door(backend.address());
  for (const char* coding : {"gzip", "chunked, gzip", "gzip, chunked", "identity"}) {
    const int fd = Connect(door.port());
    ASSERT_TRUE(SendAll(
        fd, std::string("POST /v1/requests HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: ") +
                coding +
                "\r\nContent-Type: application/json\r\n\r\n"
                "GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"));
    std::string buffer;
    const RawResponse r = ReadResponse(fd, &buffer);
    EXPECT_TRUE(r.status() == 400 || r.status() == 501) << coding << ": " << r.head;
    std::string rest;
    EXPECT_TRUE(ClosedWithin(fd, 3s, &rest)) << coding;
    EXPECT_EQ((buffer + rest).find("HTTP/1.1 200"), std::string::npos)
        << coding << ": a smuggled request was answered";
    ::close(fd);
  }
  EXPECT_EQ(backend.Calls(std::string("/") + kRequests + "/CreateRequest"), 0);
  // A plain chunked body still works.
  const RawResponse chunked =
      Exchange(door.port(),
               "POST /v1/services HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
               "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
               "2\r\n{}\r\n0\r\n\r\n");
  EXPECT_NE(chunked.status(), 400) << chunked.head << chunked.body;
}

// An image is the same bytes whoever asks: its caching headers hold for signed-in callers too,
// while JSON answers to them (which may hold private fields) are not to be stored.
TEST(GatewayServer, ImagesKeepTheirCachingForSignedInCallers) {
  ScriptedBackend backend([](const std::string& method, int) {
    Answer a;
    if (method.ends_with("/GetMedia")) {
      cityhub::api::HttpBody image;
      image.set_content_type("image/png");
      image.set_data("\x89PNG\r\n\x1a\n");
      image.set_content_length(8);
      a.body = image.SerializeAsString();
    }
    return a;
  });
  Door door(backend.address());
  const std::string auth = "Authorization: Bearer " + door.CitizenToken();
  const std::string media = "/v1/media/" + std::string(64, 'a');
  const RawResponse image = Get(door.port(), media, {auth});
  ASSERT_EQ(image.status(), 200) << image.head << image.body;
  EXPECT_EQ(image.header("Content-Type"), "image/png");
  // Revalidated before each use: staff may hide a photo (moderation, #14).
  EXPECT_EQ(image.header("Cache-Control"), "no-cache");
  const RawResponse json = Get(door.port(), "/v1/requests/01JCITYHUB0000000000000000", {auth});
  EXPECT_EQ(json.header("Cache-Control"), "no-store");
}

// The write timeout applies to each write of a stream, not to the stream: a quiet stream with
// heartbeats stays open far longer than it.
TEST(GatewayServer, AQuietStreamOutlivesTheWriteTimeout) {
  ScriptedBackend backend([](const std::string&, int) {
    Answer a;
    a.stay_open = true;
    return a;
  });
  HttpServerOptions http;
  http.write_timeout = 300ms;
  GatewayOptions options = FastGateway();
  options.sse_heartbeat = 1s;
  Door door(backend.address(), http, options);
  const int fd = Connect(door.port());
  ASSERT_TRUE(SendAll(
      fd, "GET /v1/notifications:stream HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer " +
              door.CitizenToken() + "\r\n\r\n"));
  std::string received;
  const auto opened = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - opened < 2500ms) {
    if (!ReadMore(fd, &received, 1500ms)) break;
  }
  EXPECT_THAT(received, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_GE(std::chrono::steady_clock::now() - opened, 2500ms) << "closed early:\n" << received;
  EXPECT_THAT(received, HasSubstr(": heartbeat"));
  EXPECT_EQ(door.server().open_connections(), 1);
  ::close(fd);
}

// One account cannot hold every connection with event streams: past its cap, its oldest stream
// closes (a phone that lost its network leaves streams behind), and other accounts are untouched.
TEST(GatewayServer, AnAccountsOldestStreamClosesWhenItOpensMoreThanItsCap) {
  ScriptedBackend backend([](const std::string&, int) {
    Answer a;
    a.stay_open = true;
    return a;
  });
  GatewayOptions options = FastGateway();
  options.max_streams_per_account = 3;
  Door door(backend.address(), {}, options);
  const auto open = [&](const std::string& token) {
    const int fd = Connect(door.port());
    EXPECT_TRUE(SendAll(
        fd, "GET /v1/notifications:stream HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer " +
                token + "\r\n\r\n"));
    std::string head;
    EXPECT_TRUE(ReadMore(fd, &head, 5s));
    EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK\r\n"));
    return fd;
  };
  const std::string token = door.CitizenToken();
  const int other = open(door.CitizenToken("01JOTHERCITIZEN00000000000"));
  std::vector<int> mine;
  for (int i = 0; i < 3; ++i) mine.push_back(open(token));
  std::string rest;
  EXPECT_FALSE(ClosedWithin(mine.front(), 300ms, &rest)) << "closed while within the cap";
  mine.push_back(open(token));  // the fourth: the first closes
  EXPECT_TRUE(ClosedWithin(mine.front(), 5s, &rest)) << "the oldest stream stayed open";
  for (size_t i = 1; i < mine.size(); ++i)
    EXPECT_FALSE(ClosedWithin(mine[i], 200ms, &rest)) << "stream " << i;
  EXPECT_FALSE(ClosedWithin(other, 200ms, &rest)) << "another account's stream was closed";
  for (int fd : mine) ::close(fd);
  ::close(other);
}

// A stream whose client stops reading holds back at most the backlog cap, then is closed, long
// before the write timeout would end it.
TEST(GatewayServer, AStreamWhoseClientStopsReadingIsClosedAtTheBacklogCap) {
  cityhub::notifications::v1::Notification event;
  event.set_notification_id("01JCITYHUB0000000000000000");
  event.set_body(std::string(1024, 'x'));
  const std::string body = event.SerializeAsString();
  ScriptedBackend backend([&](const std::string&, int) {
    Answer a;
    a.body = body;
    a.stream_messages = 20'000;  // about 20 MiB of events: far more than the sockets hold
    return a;
  });
  HttpServerOptions http;
  http.write_timeout = 60s;
  http.max_stream_backlog_bytes = 64 * 1024;
  Door door(backend.address(), http);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int small = 4096;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(door.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_TRUE(SendAll(
      fd, "GET /v1/notifications:stream HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer " +
              door.CitizenToken() + "\r\n\r\n"));
  // The connection may open and be closed at the cap within milliseconds, too fast to see it
  // open: what proves the cap is that the server ends the answer far short of its 20 MiB.
  EXPECT_TRUE(WaitUntil([&] { return door.server().open_connections() == 0; }, 10s));
  std::string head;
  size_t received = 0;
  bool ended = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  char buffer[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n == 0) {
      ended = true;
      break;
    }
    if (n < 0) break;
    if (head.size() < 64) head.append(buffer, std::min<size_t>(static_cast<size_t>(n), 64));
    received += static_cast<size_t>(n);
  }
  EXPECT_TRUE(ended) << "the server did not close the stream";
  EXPECT_THAT(head, ::testing::StartsWith("HTTP/1.1 200"));
  EXPECT_LT(received, 4u * 1024 * 1024) << "far more than the backlog cap reached the client";
  ::close(fd);
}

// A backend that streams without the open marker (one from before it) still gets its stream:
// its first message opens it. (Refusals, which have no marker either, end with their status.)
TEST(GatewayServer, AStreamWithoutTheOpenMarkerOpensWithItsFirstEvent) {
  cityhub::notifications::v1::Notification event;
  event.set_notification_id("01JCITYHUB0000000000000000");
  const std::string body = event.SerializeAsString();
  ScriptedBackend backend([&](const std::string&, int) {
    Answer a;
    a.body = body;
    a.stream_messages = 1;
    a.stream_marker = false;
    return a;
  });
  Door door(backend.address());
  const int fd = Connect(door.port());
  ASSERT_TRUE(SendAll(
      fd, "GET /v1/notifications:stream HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer " +
              door.CitizenToken() + "\r\n\r\n"));
  std::string received;
  while (received.find("id: 01JCITYHUB0000000000000000") == std::string::npos &&
         ReadMore(fd, &received, 5s)) {
  }
  EXPECT_THAT(received, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(received, HasSubstr("id: 01JCITYHUB0000000000000000"));
  ::close(fd);
}

// A stream the backend refuses is counted once, by its error, not also as an opened stream.
TEST(GatewayServer, ARefusedStreamIsCountedByItsErrorOnly) {
  ScriptedBackend backend([](const std::string&, int) {
    Answer a;
    a.code = grpc::StatusCode::PERMISSION_DENIED;
    a.message = "not yours";
    return a;
  });
  Door door(backend.address());
  const RawResponse refused = Get(door.port(), "/v1/notifications:stream",
                                  {"Authorization: Bearer " + door.CitizenToken()});
  EXPECT_EQ(refused.status(), 403) << refused.head << refused.body;
  const std::string metrics = Get(door.port(), "/metrics").body;
  EXPECT_THAT(
      metrics,
      HasSubstr(R"(http_requests_total{route="GET /v1/notifications:stream",status="403"} 1)"));
  EXPECT_THAT(metrics,
              ::testing::Not(HasSubstr(R"(route="GET /v1/notifications:stream",status="200")")));
}

// A service no real route has: nested {a.b} path variables, a :verb, nested query parameters
// and a body of one nested field. Built at run time over the generated pool, so that its
// messages are the generated ones; the gateway routes it from its options like any other.
const google::protobuf::ServiceDescriptor* NestedService() {
  static const google::protobuf::ServiceDescriptor* service = [] {
    auto* pool =
        new google::protobuf::DescriptorPool(google::protobuf::DescriptorPool::generated_pool());
    google::protobuf::FileDescriptorProto file;
    file.set_name("cityhub/testing/nested.proto");
    file.set_package("cityhub.testing");
    file.set_syntax("proto3");
    file.add_dependency("cityhub/api/annotations.proto");
    file.add_dependency("cityhub/notifications/v1/notifications.proto");
    auto* nested = file.add_service();
    nested->set_name("Nested");
    const auto add = [&](const std::string& name, const std::string& get, const std::string& post,
                         const std::string& body) {
      auto* m = nested->add_method();
      m->set_name(name);
      m->set_input_type(".cityhub.notifications.v1.UpdatePreferencesRequest");
      m->set_output_type(".cityhub.notifications.v1.NotificationPreferences");
      auto* rule = m->mutable_options()->MutableExtension(cityhub::api::http);
      if (!get.empty()) rule->set_get(get);
      if (!post.empty()) rule->set_post(post);
      rule->set_body(body);
      m->mutable_options()
          ->MutableExtension(cityhub::api::policy)
          ->set_access(cityhub::api::ACCESS_PUBLIC);
    };
    add("Check", "/v1/testing/{preferences.push_quiet_hours.time_zone}:check", "", "");
    add("Put", "", "/v1/testing/{preferences.push_quiet_hours.time_zone}", "preferences");
    const auto* built = pool->BuildFile(file);
    EXPECT_NE(built, nullptr);
    return built == nullptr ? nullptr : built->FindServiceByName("Nested");
  }();
  return service;
}

TEST(GatewayServer, NestedPathVariablesQueryParametersAndBodyFieldsReachTheBackend) {
  ASSERT_NE(NestedService(), nullptr);
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  Door door(backend.address(), {}, FastGateway(), {NestedService()});
  namespace nv1 = cityhub::notifications::v1;

  // A nested path variable (percent-decoded), a :verb, nested query parameters of two types.
  const RawResponse checked =
      Get(door.port(),
          "/v1/testing/Europe%2FBerlin:check?preferences.push_quiet_hours.start=22:00"
          "&preferences.push_quiet_hours.enabled=true&preferences.push.own_requests=true");
  ASSERT_EQ(checked.status(), 200) << checked.head << checked.body;
  nv1::UpdatePreferencesRequest got;
  ASSERT_TRUE(got.ParseFromString(backend.LastRequest("/cityhub.testing.Nested/Check")));
  EXPECT_EQ(got.preferences().push_quiet_hours().time_zone(), "Europe/Berlin");
  EXPECT_EQ(got.preferences().push_quiet_hours().start(), "22:00");
  EXPECT_TRUE(got.preferences().push_quiet_hours().enabled());
  EXPECT_TRUE(got.preferences().push().own_requests());
  // Unknown nested names, and a query that would change the path's field, are named.
  const RawResponse unknown =
      Get(door.port(), "/v1/testing/UTC:check?preferences.push_quiet_hours.colour=red");
  EXPECT_EQ(unknown.status(), 400);
  EXPECT_THAT(unknown.body, HasSubstr("preferences.push_quiet_hours.colour"));
  const RawResponse overridden =
      Get(door.port(), "/v1/testing/UTC:check?preferences.push_quiet_hours.time_zone=Asia/Tokyo");
  EXPECT_EQ(overridden.status(), 400);
  EXPECT_THAT(overridden.body, HasSubstr("given by the path"));
  EXPECT_EQ(Get(door.port(), "/v1/testing/UTC").status(), 405);  // the verb is part of the route

  // The body fills one nested field; the path variable inside it wins over the body.
  const RawResponse put = Post(
      door.port(), "/v1/testing/UTC",
      R"({"push_quiet_hours":{"start":"21:30","time_zone":"Asia/Tokyo"},"email":{"own_requests":true}})");
  ASSERT_EQ(put.status(), 200) << put.head << put.body;
  ASSERT_TRUE(got.ParseFromString(backend.LastRequest("/cityhub.testing.Nested/Put")));
  EXPECT_EQ(got.preferences().push_quiet_hours().start(), "21:30");
  EXPECT_EQ(got.preferences().push_quiet_hours().time_zone(), "UTC");
  EXPECT_TRUE(got.preferences().email().own_requests());
  const RawResponse outside = Post(door.port(), "/v1/testing/UTC", R"({"preferences":{}})");
  EXPECT_EQ(outside.status(), 400);  // the body is the preferences field itself
}

TEST(GatewayServer, ConnectionsBeyondTheCapGetA503) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  HttpServerOptions http;
  http.max_connections = 2;
  Door door(backend.address(), http);
  const int a = Connect(door.port());
  const int b = Connect(door.port());
  ASSERT_TRUE(WaitUntil([&] { return door.server().open_connections() == 2; }, 5s));
  const int c = Connect(door.port());
  std::string buffer;
  const RawResponse full = ReadResponse(c, &buffer);
  EXPECT_EQ(full.status(), 503) << full.head;
  EXPECT_EQ(full.header("Retry-After"), "1");
  EXPECT_EQ(full.header("Connection"), "close");
  // Exactly the announced length: a client waiting for more would hang or see a truncation.
  EXPECT_EQ(std::to_string(full.body.size()), full.header("Content-Length"));
  const auto body = json::parse(full.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << full.body;
  EXPECT_EQ(body["code"], 14);
  EXPECT_EQ(body["message"], "too many connections");
  std::string rest;
  EXPECT_TRUE(ClosedWithin(c, 5s, &rest));
  EXPECT_EQ(rest, "");  // nothing beyond the announced length
  ::close(c);
  // A client that sends its request at once still reads the answer (no reset overtakes it).
  for (int i = 0; i < 20; ++i) {
    const int eager = Connect(door.port());
    ASSERT_TRUE(SendAll(
        eager, "POST /v1/requests HTTP/1.1\r\nHost: gateway\r\nContent-Length: 2000\r\n\r\n" +
                   std::string(2000, 'x')));
    std::string eager_buffer;
    EXPECT_EQ(ReadResponse(eager, &eager_buffer).status(), 503) << "attempt " << i;
    ::close(eager);
  }
  // A place frees up: the next one is served.
  ::close(a);
  ASSERT_TRUE(WaitUntil([&] { return door.server().open_connections() == 1; }, 5s));
  EXPECT_EQ(Get(door.port(), "/healthz").status(), 200);
  ::close(b);
}

TEST(GatewayServer, AnIdleKeptAliveConnectionIsClosedAfterTheIdleTimeout) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  HttpServerOptions http;
  http.header_timeout = 30s;
  http.idle_timeout = 300ms;
  Door door(backend.address(), http);
  const int fd = Connect(door.port());
  std::string buffer;
  ASSERT_TRUE(SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"));
  const RawResponse r = ReadResponse(fd, &buffer);
  ASSERT_EQ(r.status(), 200);
  EXPECT_EQ(r.header("Connection"), "");  // kept alive
  const auto answered = std::chrono::steady_clock::now();
  std::string rest;
  EXPECT_TRUE(ClosedWithin(fd, 5s, &rest));
  EXPECT_GE(std::chrono::steady_clock::now() - answered, 250ms);
  EXPECT_EQ(rest, "");
  ::close(fd);
  EXPECT_TRUE(WaitUntil([&] { return door.server().open_connections() == 0; }, 5s));
}

TEST(GatewayServer, ABodyThatDoesNotArriveInTimeIsAnswered408AndTheConnectionCloses) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  HttpServerOptions http;
  http.header_timeout = 30s;
  http.idle_timeout = 30s;
  http.body_timeout = 300ms;
  Door door(backend.address(), http);
  const int fd = Connect(door.port());
  ASSERT_TRUE(
      SendAll(fd,
              "POST /v1/requests HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
              "Content-Length: 100\r\n\r\n{\"service_code\":"));
  std::string rest;
  EXPECT_TRUE(ClosedWithin(fd, 5s, &rest));
  std::string buffer = rest;
  const RawResponse r = ReadResponse(fd, &buffer);
  EXPECT_EQ(r.status(), 408) << rest;
  EXPECT_EQ(r.header("Connection"), "close");
  const auto body = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << rest;
  EXPECT_EQ(body["code"], 4);
  ::close(fd);
  EXPECT_EQ(backend.Calls("/cityhub.requests.v1.RequestsService/CreateRequest"), 0);
}

TEST(GatewayServer, AClientThatStopsReadingIsDisconnectedAfterTheWriteTimeout) {
  cityhub::requests::v1::ServiceRequest big;
  big.set_request_id("01JCITYHUB0000000000000000");
  big.set_description(std::string(3 << 20, 'x'));  // far more than the sockets' buffers hold
  const std::string body = big.SerializeAsString();
  ScriptedBackend backend([&](const std::string&, int) {
    Answer a;
    a.body = body;
    return a;
  });
  HttpServerOptions http;
  http.header_timeout = 30s;
  http.idle_timeout = 30s;
  http.write_timeout = 300ms;
  Door door(backend.address(), http);
  // A client with a small receive buffer that sends its request and then never reads.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int small = 4096;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(door.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_TRUE(
      SendAll(fd, "GET /v1/requests/01JCITYHUB0000000000000000 HTTP/1.1\r\nHost: gateway\r\n\r\n"));
  ASSERT_TRUE(WaitUntil(
      [&] { return backend.Calls("/cityhub.requests.v1.RequestsService/GetRequest") == 1; }, 5s));
  EXPECT_TRUE(WaitUntil([&] { return door.server().open_connections() == 0; }, 10s));
  ::close(fd);
}

// Who may send a body is known from the headers: an upload with a bad token is refused before a
// byte of it is read (and without 100 Continue). Anonymous reporters may upload photos (#14).
TEST(GatewayServer, AnUploadWithABadTokenIsRefusedBeforeItsBody) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  Door door(backend.address());
  const auto head_only = [&](const std::string& extra) {
    const int fd = Connect(door.port());
    EXPECT_TRUE(SendAll(fd,
                        "POST /v1/media HTTP/1.1\r\nHost: gateway\r\nContent-Type: image/png\r\n"
                        "Content-Length: 5000000\r\n" +
                            extra + "\r\n"));
    std::string buffer;
    const RawResponse r = ReadResponse(fd, &buffer);  // no byte of the body was sent
    std::string rest;
    EXPECT_TRUE(ClosedWithin(fd, 5s, &rest));
    ::close(fd);
    return r;
  };
  for (const std::string extra :
       {"Authorization: Bearer not.a.token\r\n",
        "Expect: 100-continue\r\nAuthorization: Bearer not.a.token\r\n"}) {
    const RawResponse r = head_only(extra);
    EXPECT_EQ(r.status(), 401) << extra << r.head;
    EXPECT_FALSE(r.header("X-Request-Id").empty());
    EXPECT_FALSE(r.header("WWW-Authenticate").empty());
    EXPECT_EQ(json::parse(r.body)["code"], 16);
  }
  // A citizen's upload, and an anonymous reporter's, are asked for as before.
  for (const std::string& auth :
       {std::string("Authorization: Bearer ") + door.CitizenToken() + "\r\n", std::string()}) {
    const int fd = Connect(door.port());
    ASSERT_TRUE(SendAll(fd,
                        "POST /v1/media HTTP/1.1\r\nHost: gateway\r\nContent-Type: image/png\r\n"
                        "Expect: 100-continue\r\nContent-Length: 5000000\r\n" +
                            auth + "\r\n"));
    std::string buffer;
    ASSERT_TRUE(ReadMore(fd, &buffer, 5s));
    EXPECT_TRUE(buffer.starts_with("HTTP/1.1 100 Continue\r\n")) << buffer;
    ::close(fd);
  }
  EXPECT_EQ(backend.Calls("/cityhub.requests.v1.RequestsService/UploadMedia"), 0);
}

TEST(GatewayServer, AClientThatExpectsContinueGetsItBeforeSendingTheBody) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  Door door(backend.address());
  const int fd = Connect(door.port());
  const std::string body = R"({"service_code":"pothole","lat":52.02,"long":8.53})";
  ASSERT_TRUE(SendAll(fd,
                      "POST /v1/requests HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n"));
  std::string buffer;
  while (buffer.find("\r\n\r\n") == std::string::npos) {
    ASSERT_TRUE(ReadMore(fd, &buffer, 5s)) << "no 100 Continue: " << buffer;
  }
  ASSERT_TRUE(buffer.starts_with("HTTP/1.1 100 Continue\r\n\r\n")) << buffer;
  buffer.erase(0, buffer.find("\r\n\r\n") + 4);
  EXPECT_EQ(backend.Calls("/cityhub.requests.v1.RequestsService/CreateRequest"), 0);
  ASSERT_TRUE(SendAll(fd, body));
  const RawResponse r = ReadResponse(fd, &buffer);
  EXPECT_EQ(r.status() / 100, 2) << r.head << r.body;
  EXPECT_EQ(backend.Calls("/cityhub.requests.v1.RequestsService/CreateRequest"), 1);
  ::close(fd);

  // A body too large for the route is refused at once, without asking for it.
  const int big = Connect(door.port());
  ASSERT_TRUE(
      SendAll(big,
              "POST /v1/requests HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
              "Expect: 100-continue\r\nContent-Length: 999999999\r\n\r\n"));
  std::string rest;
  const RawResponse refused = ReadResponse(big, &rest);
  EXPECT_EQ(refused.status(), 413) << refused.head;
  ::close(big);
}

// The answers the server makes itself carry what every answer does: the request id and, for
// an allowed origin, CORS, so that a browser app can read why it was refused.
TEST(GatewayServer, RefusalsOfTheServerCarryTheRequestIdAndCors) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  GatewayOptions options = FastGateway();
  options.cors_origins = {"https://app.bielefeld.de"};
  Door door(backend.address(), {}, options);
  const int fd = Connect(door.port());
  ASSERT_TRUE(
      SendAll(fd,
              "POST /v1/requests HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
              "Origin: https://app.bielefeld.de\r\nX-Request-Id: upload-4711\r\n"
              "Content-Length: 999999999\r\n\r\n"));
  std::string buffer;
  const RawResponse r = ReadResponse(fd, &buffer);
  ::close(fd);
  EXPECT_EQ(r.status(), 413);
  EXPECT_EQ(r.header("X-Request-Id"), "upload-4711");
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "https://app.bielefeld.de");
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  // Headers too large to read: no origin is known, but there is still an id to quote.
  const RawResponse big =
      Get(door.port(), "/healthz", {"X-Padding: " + std::string(64 * 1024, 'a')});
  EXPECT_EQ(big.status(), 431);
  EXPECT_FALSE(big.header("X-Request-Id").empty());
}

TEST(GatewayServer, HeadersThatDoNotArriveInTimeAreAnswered408) {
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  HttpServerOptions http;
  http.header_timeout = 300ms;
  Door door(backend.address(), http);
  const int fd = Connect(door.port());
  ASSERT_TRUE(SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: gat"));
  std::string rest;
  EXPECT_TRUE(ClosedWithin(fd, 5s, &rest));
  EXPECT_THAT(rest, StartsWith("HTTP/1.1 408 "));
  ::close(fd);
}

// --- TLS ---------------------------------------------------------------------------------------

constexpr char kHealth[] = "GET /healthz HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n";

TEST(GatewayServer, ServesTlsFromCertificateFilesAndReloadsThem) {
  const std::string dir = cityhub::testing::MakeTempDir("gw-tls");
  ASSERT_TRUE(WriteSelfSignedCertificate(dir, "first.cityhub.test"));
  ScriptedBackend backend([](const std::string&, int) { return Answer{}; });
  HttpServerOptions http;
  http.tls_cert_file = dir + "/cert.pem";
  http.tls_key_file = dir + "/key.pem";
  Door door(backend.address(), http);
  TlsAnswer first = TlsExchange(door.port(), kHealth);
  EXPECT_EQ(first.subject, "/CN=first.cityhub.test");
  EXPECT_THAT(first.response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(first.response, HasSubstr("Strict-Transport-Security: max-age=31536000"));
  EXPECT_THAT(first.response, HasSubstr(R"({"status":"ok"})"));
  // Plain HTTP on the TLS port gets nothing useful.
  EXPECT_EQ(Get(door.port(), "/healthz").status(), 0);

  ASSERT_TRUE(WriteSelfSignedCertificate(dir, "second.cityhub.test"));
  EXPECT_EQ(TlsExchange(door.port(), kHealth).subject, "/CN=first.cityhub.test");  // until reloaded
  ASSERT_TRUE(door.server().ReloadTls().ok());
  const TlsAnswer second = TlsExchange(door.port(), kHealth);
  EXPECT_EQ(second.subject, "/CN=second.cityhub.test");
  EXPECT_THAT(second.response, StartsWith("HTTP/1.1 200 OK\r\n"));

  // A key that does not belong to the certificate is refused; the pair in use stays.
  const std::string other = cityhub::testing::MakeTempDir("gw-tls");
  ASSERT_TRUE(WriteSelfSignedCertificate(other, "third.cityhub.test"));
  ASSERT_EQ(std::system(("cp " + other + "/key.pem " + dir + "/key.pem").c_str()), 0);
  EXPECT_FALSE(door.server().ReloadTls().ok());
  EXPECT_EQ(TlsExchange(door.port(), kHealth).subject, "/CN=second.cityhub.test");
  cityhub::testing::RemoveTree(dir);
  cityhub::testing::RemoveTree(other);
}

}  // namespace
}  // namespace cityhub::gateway
