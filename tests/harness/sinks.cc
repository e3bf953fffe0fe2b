#include "tests/harness/sinks.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace cityhub::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpSink::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  mutable std::mutex mu;
  std::vector<Received> received;
  std::function<std::pair<int, std::string>(const Received&)> respond = [](const Received&) {
    return std::make_pair(200, std::string("{}"));
  };

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (!ec)
        std::thread([this, s = std::move(socket)]() mutable { Serve(std::move(s)); }).detach();
      if (acceptor.is_open()) Accept();
    });
  }

  void Serve(tcp::socket socket) {
    beast::flat_buffer buffer;
    while (true) {
      http::request<http::string_body> req;
      beast::error_code ec;
      http::read(socket, buffer, req, ec);
      if (ec) return;
      Received r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      for (const auto& f : req) {
        std::string name(f.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        r.headers[name] = std::string(f.value());
      }
      r.body = req.body();
      std::pair<int, std::string> answer;
      {
        std::lock_guard lock(mu);
        answer = respond(r);
        received.push_back(r);
      }
      http::response<http::string_body> res{static_cast<http::status>(answer.first), req.version()};
      res.set(http::field::content_type, "application/json");
      res.body() = answer.second;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(socket, res, ec);
      if (ec || !req.keep_alive()) return;
    }
  }
};

HttpSink::HttpSink() : impl_(std::make_unique<Impl>()) {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  impl_->Accept();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

HttpSink::~HttpSink() {
  asio::post(impl_->io, [this] { impl_->acceptor.close(); });
  impl_->io.stop();
  impl_->thread.join();
}

int HttpSink::port() const { return impl_->acceptor.local_endpoint().port(); }
std::string HttpSink::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port()) + path;
}

void HttpSink::Respond(std::function<std::pair<int, std::string>(const Received&)> fn) {
  std::lock_guard lock(impl_->mu);
  impl_->respond = std::move(fn);
}

std::vector<HttpSink::Received> HttpSink::received() const {
  std::lock_guard lock(impl_->mu);
  return impl_->received;
}

size_t HttpSink::count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->received.size();
}

SmtpSink::SmtpSink() : port_(FreePort()), dir_(MakeTempDir("cityhub-smtp")) {
  process_ = std::make_unique<Process>(
      Process::Options{{"/usr/bin/python3", SourcePath("infra/scripts/smtp_sink.py"), "--port",
                        std::to_string(port_), "--dir", dir_ + "/mail"},
                       {},
                       dir_ + "/sink.log"});
  const bool up = WaitFor(
      [&] {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port_));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
        ::close(fd);
        return ok;
      },
      std::chrono::seconds(15));
  if (!up) throw std::runtime_error("the SMTP sink did not start: " + process_->Log());
}

SmtpSink::~SmtpSink() {
  process_.reset();
  RemoveTree(dir_);
}

std::vector<std::string> SmtpSink::Mails() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/mail", ec)) {
    if (e.path().extension() == ".eml") names.push_back(e.path().string());
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> out;
  for (const auto& n : names) {
    std::ifstream in(n, std::ios::binary);
    std::stringstream b;
    b << in.rdbuf();
    out.push_back(b.str());
  }
  return out;
}

std::string MailText(const std::string& mail) {
  std::string out;
  size_t at = 0;
  while ((at = mail.find("Content-Transfer-Encoding: base64", at)) != std::string::npos) {
    size_t start = mail.find("\r\n\r\n", at);
    if (start == std::string::npos) break;
    start += 4;
    const size_t end = mail.find("--", start);
    std::string b64;
    for (size_t i = start; i < end && i < mail.size(); ++i) {
      if (mail[i] != '\r' && mail[i] != '\n') b64 += mail[i];
    }
    std::string decoded(b64.size(), '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()),
                                  static_cast<int>(b64.size()));
    if (n > 0) {
      decoded.resize(static_cast<size_t>(n));
      while (!decoded.empty() && decoded.back() == '\0') decoded.pop_back();
      out += decoded;
    }
    at = end;
  }
  return out;
}

}  // namespace cityhub::testing
