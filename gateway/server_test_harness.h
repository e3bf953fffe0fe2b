// The gateway and its HTTP server in the test's process over real sockets, in front of a real
// gRPC server on port 0 whose answers each test scripts, and a raw HTTP/1.1 client: shared by the
// gateway's server tests (gateway_server_test.cc, gateway_limits_test.cc).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include "cityhub/requests/v1/requests.pb.h"
#include "gateway/backends.h"
#include "gateway/gateway.h"
#include "gateway/http_server.h"
#include "gateway/routes.h"
#include "infra/auth/jwt.h"
#include "infra/auth/test_keys.h"
#include "infra/clock.h"
#include "infra/metrics.h"
#include "tests/harness/http.h"

namespace cityhub::gateway::harness {

using namespace std::chrono_literals;

inline constexpr char kRequests[] = "cityhub.requests.v1.RequestsService";
inline constexpr char kAccounts[] = "cityhub.accounts.v1.AccountsService";
inline constexpr char kNotifications[] = "cityhub.notifications.v1.NotificationsService";

template <typename Fn>
inline bool WaitUntil(Fn condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);  // polling interval, not a wait for an event
  }
  return true;
}

// --- the scripted backend ----------------------------------------------------------------------

struct Answer {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  std::string body;  // the serialized response message (OK only)
  std::vector<std::pair<std::string, std::string>> trailers;
  bool hang = false;       // never answer: the caller's deadline ends the call
  bool stay_open = false;  // send the initial metadata, then nothing: an open, quiet stream
  int stream_messages =
      0;  // stream `body` this many times as fast as the gateway takes it, then stay open
  bool stream_marker = true;  // streams: say in the initial metadata that the stream is open
};

// A real gRPC server that answers any method as `script(method, call number from 1)` says.
class ScriptedBackend final {
 public:
  using Script = std::function<Answer(const std::string& method, int call)>;

  explicit ScriptedBackend(Script script) : service_(*this), script_(std::move(script)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~ScriptedBackend() { server_->Shutdown(std::chrono::system_clock::now() + 1s); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int Calls(const std::string& method) {
    std::lock_guard lock(mu_);
    return calls_[method];
  }
  // The serialized request of the last call of `method`.
  std::string LastRequest(const std::string& method) {
    std::lock_guard lock(mu_);
    return requests_[method];
  }
  // The client address the gateway passed on with the last call of `method`.
  std::string ClientAddressOf(const std::string& method) {
    std::lock_guard lock(mu_);
    return client_addresses_[method];
  }
  // How far away the deadline of the last call of `method` was when it arrived.
  std::chrono::milliseconds DeadlineOf(const std::string& method) {
    std::lock_guard lock(mu_);
    return deadlines_[method];
  }

 private:
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    Reactor(ScriptedBackend& backend, grpc::GenericCallbackServerContext* ctx)
        : backend_(backend), ctx_(ctx) {
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) return End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
      std::vector<grpc::Slice> slices;
      std::string bytes;
      if (request_.Dump(&slices).ok()) {
        for (const auto& piece : slices)
          bytes.append(reinterpret_cast<const char*>(piece.begin()), piece.size());
      }
      std::string client;
      if (auto it = ctx_->client_metadata().find("x-client-address");
          it != ctx_->client_metadata().end()) {
        client.assign(it->second.data(), it->second.size());
      }
      const Answer answer =
          backend_.Next(ctx_->method(), ctx_->deadline(), std::move(bytes), std::move(client));
      if (answer.hang) return;  // OnCancel finishes
      if (answer.stay_open || answer.stream_messages > 0) {
        // What a service sends once its stream has its place (see gateway/sse.cc).
        if (answer.stream_marker) ctx_->AddInitialMetadata("x-cityhub-stream", "open");
      }
      if (answer.stay_open) {
        StartSendInitialMetadata();
        return;  // OnCancel finishes
      }
      if (answer.stream_messages > 0) {
        grpc::Slice message(answer.body);
        response_ = grpc::ByteBuffer(&message, 1);
        remaining_ = answer.stream_messages;
        StartWrite(&response_);
        return;  // OnWriteDone writes the rest; OnCancel finishes
      }
      for (const auto& [k, v] : answer.trailers) ctx_->AddTrailingMetadata(k, v);
      if (answer.code != grpc::StatusCode::OK)
        return End(grpc::Status(answer.code, answer.message));
      grpc::Slice slice(answer.body);
      response_ = grpc::ByteBuffer(&slice, 1);
      std::lock_guard lock(mu_);
      if (finished_) return;
      finished_ = true;
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnWriteDone(bool ok) override {
      if (ok && --remaining_ > 0) StartWrite(&response_);
    }
    void OnCancel() override { End(grpc::Status::CANCELLED); }
    void OnDone() override { delete this; }

   private:
    void End(const grpc::Status& status) {
      std::lock_guard lock(mu_);
      if (finished_) return;
      finished_ = true;
      Finish(status);
    }
    ScriptedBackend& backend_;
    grpc::GenericCallbackServerContext* ctx_;
    grpc::ByteBuffer request_, response_;
    int remaining_ = 0;
    std::mutex mu_;
    bool finished_ = false;
  };

  class Service final : public grpc::CallbackGenericService {
   public:
    explicit Service(ScriptedBackend& backend) : backend_(backend) {}
    grpc::ServerGenericBidiReactor* CreateReactor(
        grpc::GenericCallbackServerContext* ctx) override {
      return new Reactor(backend_, ctx);
    }

   private:
    ScriptedBackend& backend_;
  };

  Answer Next(const std::string& method, std::chrono::system_clock::time_point deadline,
              std::string request, std::string client_address) {
    int call;
    {
      std::lock_guard lock(mu_);
      call = ++calls_[method];
      requests_[method] = std::move(request);
      client_addresses_[method] = std::move(client_address);
      deadlines_[method] = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::system_clock::now());
    }
    return script_(method, call);
  }

  Service service_;
  Script script_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::mutex mu_;
  std::map<std::string, int> calls_;
  std::map<std::string, std::chrono::milliseconds> deadlines_;
  std::map<std::string, std::string> requests_;
  std::map<std::string, std::string> client_addresses_;
};

inline std::string Pothole() {
  cityhub::requests::v1::Service s;
  s.set_service_code("pothole");
  s.set_name("Schlagloch");
  s.set_active(true);
  return s.SerializeAsString();
}

// --- the gateway in this process -----------------------------------------------------------------

inline GatewayOptions FastGateway() {
  GatewayOptions o;
  o.default_deadline = 10s;
  o.cache_ttl = 0ms;  // every call reaches the backend
  return o;
}

class Door final {
 public:
  Door(const std::string& backend, HttpServerOptions http = {},
       GatewayOptions options = FastGateway(),
       std::vector<const google::protobuf::ServiceDescriptor*> extra = {},
       RateLimiter* limiter = nullptr)
      : table_(*RouteTable::Build(WithExtra(std::move(extra)))),
        backends_({{kRequests, backend},
                   {kAccounts, backend},
                   {kNotifications, backend},
                   {"cityhub.testing.Nested", backend}}),
        verifier_(infra::auth::TokenSettings{}, clock_),
        signer_(infra::auth::TrustOnlyAFreshKey(verifier_), infra::auth::TokenSettings{}, clock_),
        gateway_(table_, backends_, verifier_, nullptr, limiter, metrics_, clock_,
                 std::move(options)),
        server_(WithFreePort(std::move(http)), gateway_) {
    const absl::Status started = server_.Start();
    EXPECT_TRUE(started.ok()) << started;
  }

  // Streams end through the server: they must be over before it goes.
  ~Door() { gateway_.CloseStreams(); }

  int port() const { return server_.port(); }
  HttpServer& server() { return server_; }
  Gateway& gateway() { return gateway_; }
  std::string CitizenToken(std::string subject = "01JCITIZEN0000000000000000") const {
    infra::auth::AccessClaims claims;
    claims.subject = std::move(subject);
    claims.roles = {"citizen"};
    claims.email_verified = true;
    return signer_.Sign(claims);
  }
  // As a process that has not fetched the JWKS yet: no key to verify a token with.
  void ForgetSigningKeys() { verifier_.SetKeys({}); }

 private:
  static std::vector<const google::protobuf::ServiceDescriptor*> WithExtra(
      std::vector<const google::protobuf::ServiceDescriptor*> extra) {
    auto all = PublicServices();
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }
  static HttpServerOptions WithFreePort(HttpServerOptions http) {
    http.address = "127.0.0.1:0";
    http.threads = 1;
    return http;
  }

  infra::SystemClock clock_;
  infra::MetricsRegistry metrics_;
  RouteTable table_;
  Backends backends_;
  infra::auth::TokenVerifier verifier_;
  infra::auth::TokenSigner signer_;
  Gateway gateway_;
  HttpServer server_;
};

// --- a raw HTTP/1.1 client -----------------------------------------------------------------------

inline int Connect(int port) {
  const int fd = cityhub::testing::ConnectLoopback(port);
  EXPECT_GE(fd, 0);
  return fd;
}

// A connection to 127.0.0.1:`port` from another loopback address (e.g. "127.0.0.2"): another
// client as the server sees it.
inline int ConnectFrom(const char* source, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    ::close(fd);
    ADD_FAILURE() << "cannot connect from " << source;
    return -1;
  }
  return fd;
}

inline bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads more bytes into `buffer`; false on EOF, error or timeout.
inline bool ReadMore(int fd, std::string* buffer, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char chunk[4096];
  const ssize_t n = ::read(fd, chunk, sizeof(chunk));
  if (n <= 0) return false;
  buffer->append(chunk, static_cast<size_t>(n));
  return true;
}

// Whether the server closes the connection within `timeout` (bytes before the end go to `rest`).
inline bool ClosedWithin(int fd, std::chrono::milliseconds timeout, std::string* rest) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n <= 0) return true;
    rest->append(chunk, static_cast<size_t>(n));
  }
  return false;
}

struct RawResponse {
  std::string head;  // status line and headers
  std::string body;
  int status() const { return head.starts_with("HTTP/1.1 ") ? std::atoi(head.c_str() + 9) : 0; }
  std::string header(std::string name) const {
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const size_t at = lower.find("\r\n" + name + ":");
    if (at == std::string::npos) return "";
    const size_t start = head.find_first_not_of(' ', at + name.size() + 3);
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

// One response from `buffer` (filled from `fd` as needed); with `body`, Content-Length bytes
// of body follow the head. What is left stays in `buffer`.
inline RawResponse ReadResponse(int fd, std::string* buffer, bool body = true) {
  RawResponse r;
  size_t end;
  while ((end = buffer->find("\r\n\r\n")) == std::string::npos) {
    if (!ReadMore(fd, buffer, 5s)) return r;
  }
  r.head = buffer->substr(0, end + 2);
  buffer->erase(0, end + 4);
  if (!body) return r;
  const size_t length = static_cast<size_t>(std::atol(r.header("content-length").c_str()));
  while (buffer->size() < length) {
    if (!ReadMore(fd, buffer, 5s)) break;
  }
  r.body = buffer->substr(0, length);
  buffer->erase(0, std::min(length, buffer->size()));
  return r;
}

inline RawResponse Exchange(int port, const std::string& request) {
  const int fd = Connect(port);
  SendAll(fd, request);
  std::string buffer;
  RawResponse r = ReadResponse(fd, &buffer);
  ::close(fd);
  return r;
}

inline RawResponse Get(int port, const std::string& target,
                       const std::vector<std::string>& headers = {}) {
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n";
  for (const auto& h : headers) request += h + "\r\n";
  return Exchange(port, request + "\r\n");
}

inline RawResponse Post(int port, const std::string& target, const std::string& body) {
  return Exchange(port, "POST " + target +
                            " HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
                            "Content-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body);
}

}  // namespace cityhub::gateway::harness
