// The gateway binary serving TLS from certificate files, and taking new ones on SIGHUP.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tests/harness/process.h"

namespace cityhub::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

// A self-signed certificate and its key for CN=`name` as `dir`/cert.pem and key.pem (each
// replaced in one rename, as a certificate manager would).
void SelfSigned(const std::string& dir, const std::string& name) {
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "
      "/CN=" +
      name + " -keyout " + dir + "/key.new -out " + dir + "/cert.new 2>/dev/null && mv " + dir +
      "/key.new " + dir + "/key.pem && mv " + dir + "/cert.new " + dir + "/cert.pem";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

struct TlsAnswer {
  std::string subject;   // of the certificate the server presented ("" without a handshake)
  std::string response;  // everything it sent back
};

// GET /healthz over TLS. The self-signed certificate is not verified: the test looks at which
// one the server presents.
TlsAnswer TlsHealth(int port) {
  TlsAnswer out;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return out;
  }
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) == 1) {
    if (X509* cert = SSL_get_peer_certificate(ssl)) {
      char name[256];
      X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof(name));
      out.subject = name;
      X509_free(cert);
    }
    const std::string request =
        "GET /healthz HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n";
    SSL_write(ssl, request.data(), static_cast<int>(request.size()));
    char chunk[4096];
    int n;
    while ((n = SSL_read(ssl, chunk, sizeof(chunk))) > 0)
      out.response.append(chunk, static_cast<size_t>(n));
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  return out;
}

TEST(GatewayTls, ServesTheCertificateFromItsFilesAndANewOneAfterSighup) {
  const std::string dir = MakeTempDir("gateway-tls");
  SelfSigned(dir, "first.cityhub.test");
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
  ASSERT_TRUE(WaitFor([&] { return !(first = TlsHealth(port)).subject.empty(); }, 20s))
      << gateway.Log();
  EXPECT_EQ(first.subject, "/CN=first.cityhub.test");
  EXPECT_THAT(first.response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(first.response, HasSubstr("Strict-Transport-Security: max-age=31536000"));
  EXPECT_THAT(first.response, HasSubstr(R"({"status":"ok"})"));

  SelfSigned(dir, "second.cityhub.test");
  EXPECT_EQ(TlsHealth(port).subject, "/CN=first.cityhub.test");  // files alone change nothing
  gateway.Signal(SIGHUP);
  TlsAnswer second;
  EXPECT_TRUE(
      WaitFor([&] { return (second = TlsHealth(port)).subject == "/CN=second.cityhub.test"; }, 10s))
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
