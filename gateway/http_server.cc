#include "gateway/http_server.h"

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include "gateway/connection_limits.h"
#include "gateway/http_exchange.h"
#include "gateway/http_session.h"
#include "infra/config.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"

namespace cityhub::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using http_internal::Session;
using http_internal::Shared;

// One single-threaded io_context per thread ("one io thread per core"): a connection lives on
// one of them for its whole life, so its handlers never cross threads and need no strand.
struct HttpServer::Impl {
  Impl(HttpServerOptions options, Handler& handler)
      : shared{std::move(options), handler, {}, nullptr}, acceptor_io(1), acceptor(acceptor_io) {
    if (shared.options.max_connections_per_address > 0) {
      shared.per_client =
          std::make_unique<ConnectionsPerClient>(shared.options.max_connections_per_address);
    }
    for (int i = 0; i < std::max(1, shared.options.threads); ++i) {
      ios.push_back(std::make_unique<asio::io_context>(1));
      guards.emplace_back(asio::make_work_guard(*ios.back()));
    }
  }

  absl::Status LoadTls() {
    ASSIGN_OR_RETURN(auto context,
                     ServerTlsContext(shared.options.tls_cert_file, shared.options.tls_key_file));
    std::lock_guard lock(tls_mu);
    tls = std::move(context);
    return absl::OkStatus();
  }

  void Accept() {
    asio::io_context& target = *ios[next++ % ios.size()];
    acceptor.async_accept(target, [this](beast::error_code ec, tcp::socket socket) {
      if (!ec) OnAccepted(std::move(socket));
      if (acceptor.is_open()) Accept();
    });
  }

  // A short answer in the handler's format, written at once (it fits in the socket buffer),
  // then the door closes.
  void TurnAway(tcp::socket& socket, int status, std::string_view message) {
    const HttpResponse answer = shared.handler.ServerError(status, message, nullptr);
    std::string raw = RawHead(status, answer.headers);
    infra::StrAppend(&raw,
                     "Retry-After: 1\r\nConnection: close\r\nContent-Length: ", answer.body.size(),
                     "\r\n\r\n", answer.body);
    beast::error_code ec;
    asio::write(socket, asio::buffer(raw), ec);
    socket.close(ec);
  }

  void OnAccepted(tcp::socket socket) {
    beast::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) return;
    if (shared.connections.fetch_add(1) >= shared.options.max_connections) {
      shared.connections.fetch_sub(1);
      shared.handler.ConnectionRefused(false);
      return TurnAway(socket, 503, "too many connections");
    }
    std::string counted;
    if (shared.per_client != nullptr) {
      counted = ClientIdentity(peer.address().to_string());
      if (!shared.per_client->TryAdd(counted)) {
        shared.connections.fetch_sub(1);
        shared.handler.ConnectionRefused(true);
        return TurnAway(socket, 429, "too many connections from your address");
      }
    }
    const std::string client = peer.address().to_string();
    std::shared_ptr<ssl::context> context;
    {
      std::lock_guard lock(tls_mu);
      context = tls;
    }
    if (context) {
      ssl::context& ref = *context;
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          std::move(context), shared, client, std::move(counted), true, std::move(socket), ref)
          ->Start();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(nullptr, shared, client, std::move(counted),
                                                   false, std::move(socket))
          ->Start();
    }
  }

  Shared shared;
  asio::io_context acceptor_io;
  tcp::acceptor acceptor;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  size_t next = 0;
  std::vector<std::thread> threads;
  std::mutex tls_mu;
  std::shared_ptr<ssl::context> tls;
  int port = 0;
};

HttpServer::HttpServer(HttpServerOptions options, Handler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start() {
  const auto& options = impl_->shared.options;
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    RETURN_IF_ERROR(impl_->LoadTls());
  }
  std::string host;
  int port = 0;
  if (!infra::SplitHostPort(options.address, &host, &port)) {
    return absl::InvalidArgumentError(infra::StrCat("bad listen address ", options.address));
  }
  if (host.front() == '[') host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  const auto ip = asio::ip::make_address(host, ec);
  if (ec) return absl::InvalidArgumentError(infra::StrCat("bad listen host ", host));
  tcp::endpoint endpoint(ip, static_cast<uint16_t>(port));
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return absl::UnavailableError(
        infra::StrCat("cannot listen on ", options.address, ": ", ec.message()));
  impl_->port = acceptor.local_endpoint().port();
  impl_->Accept();
  impl_->threads.emplace_back([this] { impl_->acceptor_io.run(); });
  for (auto& io : impl_->ios) impl_->threads.emplace_back([&io] { io->run(); });
  return absl::OkStatus();
}

int HttpServer::port() const { return impl_->port; }
int HttpServer::open_connections() const { return impl_->shared.connections.load(); }

absl::Status HttpServer::ReloadTls() {
  if (impl_->shared.options.tls_cert_file.empty()) return absl::OkStatus();
  return impl_->LoadTls();
}

void HttpServer::Stop() {
  if (!impl_ || impl_->threads.empty()) return;
  asio::post(impl_->acceptor_io, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  impl_->acceptor_io.stop();
  impl_->guards.clear();
  for (auto& io : impl_->ios) io->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace cityhub::gateway
