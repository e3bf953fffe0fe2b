#include "gateway/http_wire.h"

#include <cstdio>

#include <openssl/ssl.h>
#include <boost/beast/http/status.hpp>

#include "infra/strings.h"

namespace cityhub::gateway {

namespace ssl = boost::asio::ssl;

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

HttpRequest HttpRequest::Head() const {
  HttpRequest head;
  head.method = method;
  head.target = target;
  head.path = path;
  head.headers = headers;
  head.client_address = client_address;
  head.tls = tls;
  return head;
}

std::string RawHead(int status, const Headers& headers) {
  namespace http = boost::beast::http;
  const auto reason = http::obsolete_reason(static_cast<http::status>(status));
  std::string raw = infra::StrCat("HTTP/1.1 ", status, " ",
                                  std::string_view(reason.data(), reason.size()), "\r\n");
  for (const auto& [k, v] : headers) infra::StrAppend(&raw, k, ": ", v, "\r\n");
  return raw;
}

std::string Chunk(std::string_view data) {
  char size[20];
  const int n = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  std::string out;
  out.reserve(static_cast<size_t>(n) + data.size() + 2);
  out.append(size, static_cast<size_t>(n));
  out.append(data);
  out.append("\r\n");
  return out;
}

absl::StatusOr<std::shared_ptr<ssl::context>> ServerTlsContext(const std::string& cert_file,
                                                               const std::string& key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (!ec) context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec)
    return absl::InvalidArgumentError(infra::StrCat("TLS certificate or key: ", ec.message()));
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return absl::InvalidArgumentError("TLS key does not match the certificate");
  }
  return context;
}

}  // namespace cityhub::gateway
