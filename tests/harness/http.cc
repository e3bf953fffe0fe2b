#include "tests/harness/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace cityhub::testing {
namespace {

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string line(data, size * count);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    response->headers[name] = value;
  }
  return size * count;
}

}  // namespace

HttpResponse HttpRequest(const std::string& method, const std::string& url, const std::string& body,
                         const std::vector<std::string>& headers,
                         std::chrono::milliseconds timeout) {
  HttpResponse response;
  CURL* curl = curl_easy_init();
  curl_slist* header_list = nullptr;
  for (const std::string& h : headers) header_list = curl_slist_append(header_list, h.c_str());
  // No "Expect: 100-continue" round trip for larger bodies.
  header_list = curl_slist_append(header_list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
  } else {
    response.error = curl_easy_strerror(code);
  }
  curl_slist_free_all(header_list);
  curl_easy_cleanup(curl);
  return response;
}

}  // namespace cityhub::testing

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cityhub::testing {

int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

SseClient::SseClient(int port, const std::string& path, const std::vector<std::string>& headers) {
  fd_ = ConnectLoopback(port);
  if (fd_ < 0) return;
  std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (const auto& h : headers) request += h + "\r\n";
  request += "\r\n";
  (void)!::write(fd_, request.data(), request.size());
  // Read the head.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    const size_t end = raw_.find("\r\n\r\n");
    if (end != std::string::npos) {
      head_ = raw_.substr(0, end);
      raw_.erase(0, end + 4);
      if (head_.size() > 12) status_ = std::atoi(head_.substr(9, 3).c_str());
      return;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n <= 0) return;
    raw_.append(buf, static_cast<size_t>(n));
  }
}

SseClient::~SseClient() { Close(); }

void SseClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool SseClient::ParseOne(Event* out) {
  // De-chunk what is complete.
  while (true) {
    const size_t line = raw_.find("\r\n");
    if (line == std::string::npos) break;
    const size_t size = std::strtoul(raw_.substr(0, line).c_str(), nullptr, 16);
    if (raw_.size() < line + 2 + size + 2) break;
    buffer_ += raw_.substr(line + 2, size);
    raw_.erase(0, line + 2 + size + 2);
    if (size == 0) break;
  }
  while (true) {
    const size_t end = buffer_.find("\n\n");
    if (end == std::string::npos) return false;
    const std::string block = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    Event e;
    bool any = false;
    size_t start = 0;
    while (start < block.size()) {
      size_t nl = block.find('\n', start);
      if (nl == std::string::npos) nl = block.size();
      const std::string l = block.substr(start, nl - start);
      start = nl + 1;
      if (l.starts_with(":")) continue;
      if (l.starts_with("id: ")) e.id = l.substr(4);
      if (l.starts_with("event: ")) e.event = l.substr(7);
      if (l.starts_with("data: ")) {
        e.data += l.substr(6);
        any = true;
      }
    }
    if (!any) {
      ++comments_;
      continue;
    }
    *out = std::move(e);
    return true;
  }
}

std::vector<SseClient::Event> SseClient::Read(size_t count, std::chrono::milliseconds timeout) {
  std::vector<Event> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < count && fd_ >= 0) {
    Event e;
    if (ParseOne(&e)) {
      out.push_back(std::move(e));
      continue;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100))) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n <= 0) break;
    raw_.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace cityhub::testing
