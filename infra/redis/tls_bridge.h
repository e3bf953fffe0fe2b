#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// TLS to Redis (rediss://) for hiredis 0.14, which speaks plain sockets only (TLS arrived in
// hiredis 1.0; Debian 12 ships 0.14). Each hiredis connection gets one end of a socketpair; an
// in-process relay (Boost.Asio + OpenSSL, one I/O thread) carries its bytes over its own TLS
// connection to Redis. So every reconnect of a client is a new TLS connection, and a TLS
// connection that ends (Redis restarted, verification failed) closes the client's socket,
// which the clients already treat as a lost connection. Hand-written because no Debian library
// offers it; it is only a byte relay, the TLS itself is OpenSSL's.
namespace cityhub::infra::redis {

class Interrupt;  // infra/redis/interrupt.h

// PEM contents (read from files by the configuration; see infra/service_config.h).
struct TlsFiles {
  // Certificates that may sign the server's; empty: the system's trust store.
  std::string ca_pem;
  // Client certificate chain and key, for a Redis with tls-auth-clients yes; both or neither.
  std::string cert_pem;
  std::string key_pem;
};

// OK, or INVALID_ARGUMENT naming what OpenSSL refused (bad PEM, key not matching the cert).
absl::Status ValidateTlsFiles(const TlsFiles& files);

class TlsBridge final {
 public:
  // Starts the I/O thread. Fails when the files are unusable (see ValidateTlsFiles).
  static absl::StatusOr<std::unique_ptr<TlsBridge>> Create(const TlsFiles& files);
  // Closes every relayed connection and joins the I/O thread.
  ~TlsBridge();
  TlsBridge(const TlsBridge&) = delete;
  TlsBridge& operator=(const TlsBridge&) = delete;

  // Connects to host:port, completes the TLS handshake (the certificate must be valid for
  // `host`, a name or an IP address) and returns a blocking local socket whose bytes are
  // relayed; the caller owns and closes it. UNAVAILABLE when the connection or the handshake
  // fails (the message says why), DEADLINE_EXCEEDED after `timeout`. `interrupt` (may be null)
  // ends the wait at once with UNAVAILABLE.
  absl::StatusOr<int> Connect(const std::string& host, int port, std::chrono::milliseconds timeout,
                              Interrupt* interrupt);

 private:
  class Impl;
  explicit TlsBridge(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What a client holds: for rediss:// a bridge (or why it could not be made: bad files), for
// redis:// nothing.
class ClientTls final {
 public:
  ClientTls(bool tls, const TlsFiles& files);
  // As TlsBridge::Connect; FAILED_PRECONDITION without TLS, the creation error without a bridge.
  absl::StatusOr<int> Connect(const std::string& host, int port, std::chrono::milliseconds timeout,
                              Interrupt* interrupt) const;

 private:
  std::unique_ptr<TlsBridge> bridge_;
  absl::Status error_;
};

}  // namespace cityhub::infra::redis
