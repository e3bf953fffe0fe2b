#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace cityhub::testing {

struct HttpResponse {
  // 0 when no answer arrived (then `error` says why).
  int status = 0;
  // Lower-case names; the last value wins for repeated headers.
  std::map<std::string, std::string> headers;
  std::string body;
  std::string error;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One HTTP/1.1 request with libcurl over a real socket. `headers` are "Name: value" lines.
HttpResponse HttpRequest(const std::string& method, const std::string& url,
                         const std::string& body = "",
                         const std::vector<std::string>& headers = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace cityhub::testing
