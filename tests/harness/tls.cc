#include "tests/harness/tls.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tests/harness/http.h"

namespace cityhub::testing {

bool WriteSelfSignedCertificate(const std::string& dir, const std::string& name) {
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "
      "/CN=" +
      name + " -keyout " + dir + "/key.new -out " + dir + "/cert.new 2>/dev/null && mv " + dir +
      "/key.new " + dir + "/key.pem && mv " + dir + "/cert.new " + dir + "/cert.pem";
  return std::system(command.c_str()) == 0;
}

TlsAnswer TlsExchange(int port, const std::string& request) {
  TlsAnswer out;
  const int fd = ConnectLoopback(port);
  if (fd < 0) return out;
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) == 1) {
    if (X509* cert = SSL_get_peer_certificate(ssl)) {
      char subject[256];
      X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
      out.subject = subject;
      X509_free(cert);
    }
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

}  // namespace cityhub::testing
