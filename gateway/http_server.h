#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

// The gateway's HTTP/1.1 server (Boost.Beast): keep-alive, limits on header size (431) and body
// size (413, chosen per request by the handler once the headers are in), timeouts for reading
// headers and bodies and for idle connections (slow clients are cut off), a cap on open
// connections, optional TLS whose certificate can be reloaded, and streamed responses (SSE).
namespace cityhub::gateway {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // upper-case
  std::string target;  // as sent: path and query
  std::string path;    // before '?'
  std::string query;   // after '?', raw
  Headers headers;     // lower-case names
  std::string body;
  std::string client_address;  // the peer's IP address
  bool tls = false;
  // What the handler decided from the headers (Handler::Admit), for its Handle.
  std::any admission;

  // The first value of a header (lower-case name), or empty.
  std::string_view header(std::string_view name) const;
  // What answering needs once Handle returned: method, target, path, headers, client and tls
  // (no query, body or admission).
  HttpRequest Head() const;
};

struct HttpResponse {
  int status = 200;
  Headers headers;
  std::string body;
};

// The handler's way back to the client. Reply exactly once, or stream: StartStream, then any
// number of Send, then EndStream. Safe to use from any thread; calls after the client left
// are ignored.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void Reply(HttpResponse response) = 0;
  virtual void StartStream(HttpResponse head) = 0;
  // False once the client has gone away.
  virtual bool Send(std::string data) = 0;
  virtual void EndStream() = 0;
  // Or a body of known length written piece by piece (a download): StartBody sends `head` with
  // Content-Length `length` (for HEAD only the head); SendBody writes a piece after those before
  // it. `written` runs on the connection's thread once the bytes left (true) or the client has
  // gone (false), so that a source reads its next piece only then. After `length` bytes the
  // exchange is over and the connection serves its next request; EndStream before that closes
  // the connection (a source that failed midway).
  // `length` kUnknownLength sends the body chunked: FinishBody then ends it (the last chunk),
  // and EndStream before that closes the connection as above.
  static constexpr uint64_t kUnknownLength = ~uint64_t{0};
  virtual void StartBody(HttpResponse head, uint64_t length, std::function<void(bool)> written) = 0;
  virtual void SendBody(std::string piece, std::function<void(bool)> written) = 0;
  virtual void FinishBody() = 0;
  // Runs once when the client disconnects before the exchange ended (cancel work then).
  virtual void OnClientGone(std::function<void()> fn) = 0;
  // Runs `fn` on the connection's thread, later (never inside this call): for work that
  // continues there after a wait elsewhere (a rate-limit decision from Redis).
  virtual void Post(std::function<void()> fn) = 0;
};

class Handler {
 public:
  virtual ~Handler() = default;
  // The largest body to accept for a request with these headers (the body is still empty).
  virtual size_t BodyLimit(const HttpRequest& head) = 0;
  // Decides from the headers alone, before a body is read, and calls `done` once on the
  // connection's thread (at once, or later through `exchange`'s Post): an answer refuses the
  // request (401 for an upload without credentials, 429 over budget) and the connection closes
  // after it. Nullopt: the body is read and Handle gets the request, with whatever Admit left
  // in head.admission. The server leaves `head` alone until `done`. (Called for requests with
  // a body only.)
  using Admitted = std::function<void(std::optional<HttpResponse> refusal)>;
  virtual void Admit(HttpRequest& head, std::shared_ptr<Responder> exchange, Admitted done) {
    done(std::nullopt);
  }
  virtual void Handle(HttpRequest request, std::shared_ptr<Responder> responder) = 0;
  // A connection was refused: the server was full, or (per_address) its client address
  // already held its share (for metrics; called on the accepting thread).
  virtual void ConnectionRefused(bool per_address) {}
  // An answer the server makes itself (431, 413, 408, 503 when full), in the handler's format;
  // `head` is the request's head when it was read (413, and 408 for a late body), else null.
  virtual HttpResponse ServerError(int status, std::string_view message,
                                   const HttpRequest* head) = 0;
};

struct HttpServerOptions {
  std::string address = "127.0.0.1:8080";
  int threads = 2;
  size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  // How long one answer (or one event of a stream) may take to leave: a client that stops
  // reading is disconnected after it instead of holding its connection for ever.
  std::chrono::milliseconds write_timeout{60'000};
  // What a stream may hold back for a client that reads slower than events come.
  size_t max_stream_backlog_bytes = 1 << 20;
  int max_connections = 10'000;
  // Connections one client address (an IPv6 client by its /64, see ClientIdentity) may hold
  // open at once, so that one client cannot take what everyone shares; beyond it a connection
  // is answered 429 and closed. 0: no cap (behind a trusted proxy every peer is the proxy).
  int max_connections_per_address = 0;
  // PEM files; both empty: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
};

class HttpServer final {
 public:
  HttpServer(HttpServerOptions options, Handler& handler);
  ~HttpServer();

  absl::Status Start();
  int port() const;
  int open_connections() const;
  // Reads the certificate and key again (on SIGHUP); new connections use them.
  absl::Status ReloadTls();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cityhub::gateway
