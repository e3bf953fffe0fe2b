// The gateway binary serving TLS from certificate files, and taking new ones on SIGHUP.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/harness/process.h"
#include "tests/harness/tls.h"

namespace cityhub::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

constexpr char kHealth[] = "GET /healthz HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n";

TEST(GatewayTls, ServesTheCertificateFromItsFilesAndANewOneAfterSighup) {
  const std::string dir = MakeTempDir("gateway-tls");
  ASSERT_TRUE(WriteSelfSignedCertificate(dir, "first.cityhub.test"));
  const int port = FreePort();
  // No backends are needed for /healthz; nothing listens on their ports.
  Process gateway(
      Process::Options{{BuildPath("gateway/gateway")},
                       {{"CITYHUB_GATEWAY_ADDR", "127.0.0.1:" + std::to_string(port)},
                        {"CITYHUB_TLS_CERT_FILE", dir + "/cert.pem"},
                        {"CITYHUB_TLS_KEY_FILE", dir + "/key.pem"},
                        {"CITYHUB_RATE_LIMITS", "false"},
                        {"CITYHUB_GATEWAY_THREADS", "1"},
                        {"CITYHUB_ACCOUNTS_ADDR", "127.0.0.1:" + std::to_string(FreePort())},
                        {"CITYHUB_REQUESTS_ADDR", "127.0.0.1:" + std::to_string(FreePort())},
                        {"CITYHUB_NOTIFICATIONS_ADDR", "127.0.0.1:" + std::to_string(FreePort())}},
                       dir + "/gateway.log"});
  TlsAnswer first;
  ASSERT_TRUE(WaitFor([&] { return !(first = TlsExchange(port, kHealth)).subject.empty(); }, 20s))
      << gateway.Log();
  EXPECT_EQ(first.subject, "/CN=first.cityhub.test");
  EXPECT_THAT(first.response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(first.response, HasSubstr("Strict-Transport-Security: max-age=31536000"));
  EXPECT_THAT(first.response, HasSubstr(R"({"status":"ok"})"));

  ASSERT_TRUE(WriteSelfSignedCertificate(dir, "second.cityhub.test"));
  EXPECT_EQ(TlsExchange(port, kHealth).subject,
            "/CN=first.cityhub.test");  // files alone change nothing
  gateway.Signal(SIGHUP);
  TlsAnswer second;
  EXPECT_TRUE(WaitFor(
      [&] { return (second = TlsExchange(port, kHealth)).subject == "/CN=second.cityhub.test"; },
      10s))
      << second.subject << "\n"
      << gateway.Log();
  EXPECT_THAT(second.response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(WaitFor(
      [&] { return gateway.Log().find("\"event\":\"tls_reloaded\"") != std::string::npos; }, 5s));
  EXPECT_TRUE(gateway.running());  // SIGHUP reloads; it does not stop the gateway
  gateway.Stop();
  RemoveTree(dir);
}

}  // namespace
}  // namespace cityhub::testing
