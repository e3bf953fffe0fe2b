#pragma once

#include <string>

// TLS helpers for tests of the gateway's HTTPS.
namespace cityhub::testing {

// A self-signed certificate and its key for CN=`name`, as `dir`/cert.pem and `dir`/key.pem, each
// replaced in one rename (as a certificate manager would). False when openssl failed.
bool WriteSelfSignedCertificate(const std::string& dir, const std::string& name);

struct TlsAnswer {
  std::string subject;   // of the certificate the server presented ("" without a handshake)
  std::string response;  // everything it sent back until it closed
};

// Sends `request` over TLS to 127.0.0.1:`port` and reads until the server closes (at most 5 s of
// silence). The certificate is not verified: tests look at which one the server presents.
TlsAnswer TlsExchange(int port, const std::string& request);

}  // namespace cityhub::testing
