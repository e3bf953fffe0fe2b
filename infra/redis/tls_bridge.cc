#include "infra/redis/tls_bridge.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <future>
#include <optional>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "infra/redis/interrupt.h"
#include "infra/status.h"
#include "infra/strings.h"

namespace cityhub::infra::redis {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

absl::StatusOr<std::unique_ptr<ssl::context>> MakeContext(const TlsFiles& files) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (files.ca_pem.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->add_certificate_authority(asio::buffer(files.ca_pem), ec);
  }
  if (ec) return absl::InvalidArgumentError(StrCat("CA certificates: ", ec.message()));
  if (files.cert_pem.empty() != files.key_pem.empty()) {
    return absl::InvalidArgumentError("a client certificate needs its key and the other way round");
  }
  if (!files.cert_pem.empty()) {
    ctx->use_certificate_chain(asio::buffer(files.cert_pem), ec);
    if (ec) return absl::InvalidArgumentError(StrCat("client certificate: ", ec.message()));
    ctx->use_private_key(asio::buffer(files.key_pem), ssl::context::pem, ec);
    if (ec || SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
      return absl::InvalidArgumentError("client key: unreadable or not the certificate's key");
    }
  }
  return ctx;
}

// One relayed connection: `local` is our end of the socketpair, `tls` the connection to Redis.
struct Session {
  Session(asio::io_context& io, ssl::context& ctx)
      : resolver(io), tls(io, ctx), local(io), timer(io) {}

  tcp::resolver resolver;
  ssl::stream<tcp::socket> tls;
  asio::local::stream_protocol::socket local;
  asio::steady_timer timer;
  std::promise<absl::StatusOr<int>> result;
  bool settled = false;
  bool upstream_closed = false;
  std::string where;  // host:port, for messages
  std::array<char, 16384> up;
  std::array<char, 16384> down;
};
using SessionPtr = std::shared_ptr<Session>;

void Close(const SessionPtr& s) {
  error_code ignored;
  s->timer.cancel();
  s->resolver.cancel();
  s->local.close(ignored);
  s->tls.lowest_layer().close(ignored);
}

void Settle(const SessionPtr& s, absl::StatusOr<int> result) {
  if (s->settled) return;
  s->settled = true;
  s->result.set_value(std::move(result));
}

void Fail(const SessionPtr& s, std::string_view why, const error_code& ec) {
  Settle(s, absl::UnavailableError(StrCat("redis: ", why, " ", s->where, ": ", ec.message())));
  Close(s);
}

// Redis's side ended: the client reads EOF, as from a TCP connection Redis closed. Its socket
// stays open, and what it still writes is read and dropped, so that its writes fail no sooner
// than they would over TCP (hiredis writes without MSG_NOSIGNAL: a closed socketpair would
// raise SIGPIPE).
void CloseUpstream(const SessionPtr& s) {
  error_code ignored;
  s->upstream_closed = true;
  s->tls.lowest_layer().close(ignored);
  s->local.shutdown(asio::socket_base::shutdown_send, ignored);
}

// Client → Redis. The stream allows one read and one write in flight at once, on one thread.
void PumpUp(SessionPtr s) {
  s->local.async_read_some(asio::buffer(s->up), [s](error_code ec, size_t n) {
    if (ec) return Close(s);  // the client closed its socket: the end
    if (s->upstream_closed) return PumpUp(s);
    asio::async_write(s->tls, asio::buffer(s->up.data(), n), [s](error_code ec, size_t) {
      if (ec) CloseUpstream(s);
      PumpUp(s);
    });
  });
}

// Redis → client.
void PumpDown(SessionPtr s) {
  s->tls.async_read_some(asio::buffer(s->down), [s](error_code ec, size_t n) {
    if (ec) return CloseUpstream(s);
    asio::async_write(s->local, asio::buffer(s->down.data(), n), [s](error_code ec, size_t) {
      if (ec) return Close(s);
      PumpDown(s);
    });
  });
}

void Handshaken(const SessionPtr& s) {
  if (s->settled) return Close(s);  // the timer came first
  s->timer.cancel();
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Fail(s, "no socketpair for", error_code(errno, boost::system::system_category()));
  }
  error_code ec;
  s->local.assign(asio::local::stream_protocol(), fds[0], ec);
  if (ec) {
    ::close(fds[0]);
    ::close(fds[1]);
    return Fail(s, "no socketpair for", ec);
  }
  Settle(s, fds[1]);
  PumpUp(s);
  PumpDown(s);
}

}  // namespace

class TlsBridge::Impl {
 public:
  explicit Impl(std::unique_ptr<ssl::context> ctx)
      : ctx_(std::move(ctx)), work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}

  ~Impl() {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  absl::StatusOr<int> Connect(const std::string& host, int port, std::chrono::milliseconds timeout,
                              Interrupt* interrupt) {
    auto s = std::make_shared<Session>(io_, *ctx_);
    s->where = StrCat(host, ":", port);
    auto future = s->result.get_future();
    asio::post(io_, [s, host, port, timeout] { Start(s, host, port, timeout); });
    // An interrupt settles the result at once (a relayed socket settled before is closed by the
    // caller, which sees the interrupt).
    const auto stop = [this, s] {
      asio::post(io_, [s] {
        Settle(s,
               absl::UnavailableError(StrCat("redis: TLS connect to ", s->where, " interrupted")));
        Close(s);
      });
    };
    if (interrupt != nullptr && !interrupt->Enter(stop)) stop();
    // The timer settles the result; the margin only covers a stopped bridge.
    const bool settled =
        future.wait_for(timeout + std::chrono::seconds(5)) == std::future_status::ready;
    if (interrupt != nullptr) interrupt->Leave();
    if (!settled) return absl::UnavailableError("redis: TLS relay not answering");
    try {
      return future.get();
    } catch (const std::future_error&) {
      return absl::UnavailableError("redis: TLS relay stopped");
    }
  }

 private:
  static void Start(const SessionPtr& s, const std::string& host, int port,
                    std::chrono::milliseconds timeout) {
    error_code not_ip;
    asio::ip::make_address(host, not_ip);
    // SNI carries names only; the certificate must name `host` (DNS name or IP address).
    if (not_ip) SSL_set_tlsext_host_name(s->tls.native_handle(), host.c_str());
    s->tls.set_verify_callback(ssl::host_name_verification(host));
    s->timer.expires_after(timeout);
    s->timer.async_wait([s](error_code ec) {
      if (ec || s->settled) return;
      Settle(s,
             absl::DeadlineExceededError(StrCat("redis: TLS connect to ", s->where, " timed out")));
      Close(s);
    });
    s->resolver.async_resolve(
        host, std::to_string(port), [s](error_code ec, tcp::resolver::results_type found) {
          if (ec) return Fail(s, "cannot resolve", ec);
          asio::async_connect(s->tls.lowest_layer(), found, [s](error_code ec, const auto&) {
            if (ec) return Fail(s, "cannot connect to", ec);
            error_code ignored;
            s->tls.lowest_layer().set_option(tcp::no_delay(true), ignored);
            s->tls.lowest_layer().set_option(asio::socket_base::keep_alive(true), ignored);
            s->tls.async_handshake(ssl::stream_base::client, [s](error_code ec) {
              if (ec) return Fail(s, "TLS handshake failed with", ec);
              Handshaken(s);
            });
          });
        });
  }

  // Declared first: the streams of the sessions the io_context still holds need it.
  std::unique_ptr<ssl::context> ctx_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

absl::Status ValidateTlsFiles(const TlsFiles& files) { return MakeContext(files).status(); }

absl::StatusOr<std::unique_ptr<TlsBridge>> TlsBridge::Create(const TlsFiles& files) {
  ASSIGN_OR_RETURN(auto ctx, MakeContext(files));
  return std::unique_ptr<TlsBridge>(new TlsBridge(std::make_unique<Impl>(std::move(ctx))));
}

TlsBridge::TlsBridge(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsBridge::~TlsBridge() = default;

absl::StatusOr<int> TlsBridge::Connect(const std::string& host, int port,
                                       std::chrono::milliseconds timeout, Interrupt* interrupt) {
  return impl_->Connect(host, port, timeout, interrupt);
}

ClientTls::ClientTls(bool tls, const TlsFiles& files) {
  if (!tls) {
    error_ = absl::FailedPreconditionError("redis: not a rediss:// URL");
    return;
  }
  auto bridge = TlsBridge::Create(files);
  if (bridge.ok()) {
    bridge_ = std::move(*bridge);
  } else {
    error_ = bridge.status();  // the configuration has checked the files (ValidateTlsFiles)
  }
}

absl::StatusOr<int> ClientTls::Connect(const std::string& host, int port,
                                       std::chrono::milliseconds timeout,
                                       Interrupt* interrupt) const {
  if (bridge_ == nullptr) return error_;
  return bridge_->Connect(host, port, timeout, interrupt);
}

}  // namespace cityhub::infra::redis
