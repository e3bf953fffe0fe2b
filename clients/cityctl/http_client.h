#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace cityhub::cityctl {

struct HttpAnswer {
  // 0 when no answer arrived; then `error` says why (connection refused, timeout, ...).
  int status = 0;
  std::string body;
  std::string request_id;  // the gateway's X-Request-Id, quoted in error messages
  std::string error;
};

// One HTTP/1.1 exchange with libcurl. `headers` are "Name: value" lines. Answers larger than
// kMaxAnswerBytes are cut off with an error rather than read into memory without end.
HttpAnswer HttpExchange(const std::string& method, const std::string& url, const std::string& body,
                        const std::vector<std::string>& headers,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

inline constexpr std::size_t kMaxAnswerBytes = 64u << 20;

// `text` percent-encoded for a query string or a path segment (RFC 3986 unreserved kept).
std::string UrlEncode(const std::string& text);

}  // namespace cityhub::cityctl
