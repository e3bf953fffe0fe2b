#include "infra/http/metrics_server.h"

#include <optional>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "infra/config.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"

namespace cityhub::infra {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class Session final : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const MetricsRegistry& registry)
      : stream_(std::move(socket)), registry_(registry) {}

  void Read() {
    parser_.emplace();
    parser_->header_limit(8192);
    parser_->body_limit(8192);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) return;  // closed, timed out or malformed: drop the connection
    const auto& req = parser_->get();
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(req.version());
    res->keep_alive(req.keep_alive());
    res->set(http::field::server, "cityhub");
    if (req.method() != http::verb::get) {
      res->result(http::status::method_not_allowed);
      res->body() = "only GET\n";
    } else if (req.target() == "/metrics") {
      res->result(http::status::ok);
      res->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res->body() = registry_.Render();
    } else if (req.target() == "/healthz") {
      res->result(http::status::ok);
      res->body() = "ok\n";
    } else {
      res->result(http::status::not_found);
      res->body() = "not found\n";
    }
    if (res->result() != http::status::ok || !res->has_content_length()) {
      res->set(http::field::content_type, res->result() == http::status::ok
                                              ? "text/plain; version=0.0.4; charset=utf-8"
                                              : "text/plain; charset=utf-8");
    }
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (!ec && res->keep_alive()) self->Read();
                      });
  }

  beast::tcp_stream stream_;
  const MetricsRegistry& registry_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

struct MetricsServer::Impl {
 public:
  explicit Impl(const MetricsRegistry& registry) : registry_(registry), acceptor_(io_) {}

  ~Impl() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Bind(const std::string& address) {
    std::string host;
    int port = 0;
    if (!SplitHostPort(address, &host, &port)) {
      return absl::InvalidArgumentError(StrCat("bad metrics address '", address, "'"));
    }
    if (host.front() == '[') host = host.substr(1, host.size() - 2);
    beast::error_code ec;
    const auto ip = asio::ip::make_address(host, ec);
    if (ec) return absl::InvalidArgumentError(StrCat("bad metrics host '", host, "'"));
    tcp::endpoint endpoint(ip, static_cast<uint16_t>(port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          StrCat("cannot listen on ", address, " for metrics: ", ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return absl::OkStatus();
  }

  int port() const { return port_; }

 private:
  void Accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket s) {
      if (!ec) std::make_shared<Session>(std::move(s), registry_)->Read();
      if (acceptor_.is_open()) Accept();
    });
  }

  const MetricsRegistry& registry_;
  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  std::thread thread_;
  int port_ = 0;
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsServer::~MetricsServer() = default;
int MetricsServer::port() const { return impl_->port(); }

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& address, const MetricsRegistry& registry) {
  auto impl = std::make_unique<Impl>(registry);
  RETURN_IF_ERROR(impl->Bind(address));
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

}  // namespace cityhub::infra
