// Raw bytes from a client through what the gateway does with them before any backend call: the
// HTTP/1.1 parser (Beast, with the server's header limit), the split into path and query, route
// lookup, query decoding and the request message built from path, query and body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http.hpp>

#include "gateway/routes.h"
#include "gateway/transcode.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_routes.h"

namespace {

namespace http = boost::beast::http;
using cityhub::fuzz::Check;

// Parses one request as the server's connection does; false if the bytes are not one.
bool Parse(std::string_view bytes, http::request_parser<http::string_body>& parser) {
  parser.header_limit(16 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  while (!bytes.empty() && !parser.is_done()) {
    const size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == http::error::need_more) break;
    if (ec) return false;
    bytes.remove_prefix(used);
  }
  return parser.is_done();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  if (!Parse(std::string_view(reinterpret_cast<const char*>(data), size), parser)) return 0;
  const auto& msg = parser.get();
  const std::string method(msg.method_string());
  const std::string target(msg.target());
  const size_t q = target.find('?');
  const std::string path = target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  std::string content_type;
  if (auto it = msg.find(http::field::content_type); it != msg.end()) {
    content_type = std::string(it->value());
  }

  std::vector<std::string> allowed;
  auto match = cityhub::fuzz::PublicRoutes().Find(method, path, &allowed);
  auto parsed = cityhub::gateway::ParseQuery(query);
  if (!parsed.ok()) return cityhub::fuzz::CheckNamesField(parsed.status()), 0;
  if (!match) {
    for (const auto& m : allowed) Check(m != method, "405 for the method that was asked");
    return 0;
  }
  Check(match->route->http_method == method, "matched a route of another method");
  auto request = cityhub::gateway::BuildRequest(*match, *parsed, msg.body(), content_type);
  if (!request.ok()) return cityhub::fuzz::CheckNamesField(request.status()), 0;
  Check((*request)->GetDescriptor() == match->route->method->input_type(), "message type");
  return 0;
}
