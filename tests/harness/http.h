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
                         const std::string& body = "", const std::vector<std::string>& headers = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace cityhub::testing

namespace cityhub::testing {

// A TCP connection to 127.0.0.1:`port` (blocking), or -1. For tests that speak raw HTTP/1.1.
int ConnectLoopback(int port);

// A Server-Sent Events client over a plain socket, for testing streams.
class SseClient final {
 public:
  struct Event {
    std::string id;
    std::string event;  // empty for plain messages
    std::string data;
  };

  // Connects and sends `GET path` with the given "Name: value" headers; the response head is
  // read (status() tells the status).
  SseClient(int port, const std::string& path, const std::vector<std::string>& headers);
  ~SseClient();

  int status() const { return status_; }
  const std::string& head() const { return head_; }
  // Reads until `count` events arrived or `timeout` passed; comments (heartbeats) are counted
  // in comments().
  std::vector<Event> Read(size_t count, std::chrono::milliseconds timeout);
  int comments() const { return comments_; }
  void Close();

 private:
  bool ParseOne(Event* out);

  int fd_ = -1;
  int status_ = 0;
  std::string head_;
  std::string buffer_;  // de-chunked body not yet parsed
  std::string raw_;     // chunked bytes not yet de-chunked
  int comments_ = 0;
};

}  // namespace cityhub::testing
