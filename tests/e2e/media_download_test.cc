// Photo downloads through the whole stack over real sockets: GET /v1/media/{media_id} streams
// the photo in pieces (requests service → gateway → client), so that neither process holds a
// whole photo per download. 200 parallel downloads of a 10 MiB photo by slow readers must all
// return the exact bytes while both processes stay far below 200 × 10 MiB.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "infra/ids.h"
#include "tests/harness/api.h"
#include "tests/harness/http.h"
#include "tests/harness/images.h"
#include "tests/harness/process.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using namespace std::chrono_literals;

// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), or -1.
int64_t ProcKiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// One answer read from a raw connection: its head, and its body by Content-Length.
struct Answer {
  std::string head;
  std::string body;
  int status() const { return head.size() > 12 ? std::stoi(head.substr(9, 3)) : 0; }
  std::string header(const std::string& name) const {
    const std::string key = "\r\n" + name + ": ";
    const size_t at = head.find(key);
    if (at == std::string::npos) return "";
    const size_t end = head.find("\r\n", at + key.size());
    return head.substr(at + key.size(), end - at - key.size());
  }
};

// Reads one answer from `fd` (`buffer` keeps bytes of the next); `with_body` false for HEAD.
Answer ReadAnswer(int fd, std::string* buffer, bool with_body = true) {
  Answer a;
  char chunk[65536];
  size_t end;
  while ((end = buffer->find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return a;
    buffer->append(chunk, static_cast<size_t>(n));
  }
  a.head = buffer->substr(0, end + 4);
  buffer->erase(0, end + 4);
  const std::string length = a.header("Content-Length");
  const size_t want = with_body && !length.empty() ? std::stoull(length) : 0;
  while (buffer->size() < want) {
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    buffer->append(chunk, static_cast<size_t>(n));
  }
  a.body = buffer->substr(0, std::min(want, buffer->size()));
  buffer->erase(0, a.body.size());
  return a;
}

class MediaDownload : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Stack::Options options;
    options.env = {{"CITYHUB_RATE_LIMITS", "false"}};
    stack_ = new Stack(options);
    api_ = new Api(stack_->gateway_url());
    const std::string token = api_->NewResident(stack_->smtp(), "foto@example.org");
    // Just under the 10 MiB limit, and a valid JPEG (see media.cc).
    photo_ = TestJpeg(4000, 3000, false, 10 * 1024 * 1024 - 1024);
    const auto uploaded = api_->Raw("POST", "/v1/media", photo_,
                                    {"Content-Type: image/jpeg", "Authorization: Bearer " + token});
    ASSERT_EQ(uploaded.status, 201) << uploaded.raw.body;
    media_id_ = uploaded.json["media_id"];
    size_ = std::stoll(uploaded.json["size_bytes"].get<std::string>());  // int64: a string
  }
  static void TearDownTestSuite() {
    delete api_;
    delete stack_;
  }

  static Stack* stack_;
  static Api* api_;
  static std::string photo_;
  static std::string media_id_;
  static int64_t size_;
};

Stack* MediaDownload::stack_ = nullptr;
Api* MediaDownload::api_ = nullptr;
std::string MediaDownload::photo_;
std::string MediaDownload::media_id_;
int64_t MediaDownload::size_ = 0;

// The answer as before the pieces: length, type, caching, security headers; and now a strong
// ETag (the id is the content's hash) with If-None-Match → 304, HEAD, and keep-alive after it.
TEST_F(MediaDownload, AnswersWithHeadersValidatorsAndKeepAlive) {
  const int fd = ConnectLoopback(stack_->port("gateway"));
  ASSERT_GE(fd, 0);
  const std::string path = "/v1/media/" + media_id_;
  const std::string etag = "\"" + media_id_ + "\"";
  ASSERT_TRUE(SendAll(fd, "GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n" +  //
                              "HEAD " + path + " HTTP/1.1\r\nHost: t\r\n\r\n" + "GET " + path +
                              " HTTP/1.1\r\nHost: t\r\nIf-None-Match: W/\"x\", " + etag +
                              "\r\n\r\n" + "GET /v1/media/" + std::string(64, '0') +
                              " HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string buffer;
  const Answer full = ReadAnswer(fd, &buffer);
  ASSERT_EQ(full.status(), 200) << full.head;
  EXPECT_EQ(full.header("Content-Type"), "image/jpeg");
  EXPECT_EQ(full.header("Content-Length"), std::to_string(size_));
  // Revalidated before each use (a 304 by ETag): staff may hide a photo (moderation, #14).
  EXPECT_EQ(full.header("Cache-Control"), "no-cache");
  EXPECT_EQ(full.header("ETag"), etag);
  EXPECT_EQ(full.header("X-Content-Type-Options"), "nosniff");
  EXPECT_FALSE(full.header("X-Request-Id").empty());
  EXPECT_EQ(infra::HexEncode(infra::Sha256(full.body)), media_id_);
  const Answer head = ReadAnswer(fd, &buffer, false);
  ASSERT_EQ(head.status(), 200) << head.head;
  EXPECT_EQ(head.header("Content-Length"), std::to_string(size_));
  EXPECT_EQ(head.header("ETag"), etag);
  const Answer unchanged = ReadAnswer(fd, &buffer);
  EXPECT_EQ(unchanged.status(), 304) << unchanged.head;
  EXPECT_EQ(unchanged.header("ETag"), etag);
  EXPECT_TRUE(unchanged.body.empty());
  const Answer missing = ReadAnswer(fd, &buffer);
  EXPECT_EQ(missing.status(), 404) << missing.head;
  EXPECT_THAT(missing.body, ::testing::HasSubstr("\"code\":5"));
  ::close(fd);
}

// 200 clients fetch the 10 MiB photo at once and read slowly. Every one gets the exact bytes;
// the peak memory of the gateway and of the requests service stays below 300 MiB (holding each
// download whole would take 2 GiB and more).
TEST_F(MediaDownload, TwoHundredParallelDownloadsStayWithinBoundedMemory) {
  constexpr int kClients = 200;
  constexpr int64_t kBoundKiB = 300 * 1024;
  const pid_t gateway = stack_->process("gateway").pid();
  const pid_t requests = stack_->process("requests").pid();
  std::printf(
      "before: VmRSS gateway %lld KiB, requests %lld KiB; VmHWM gateway %lld KiB, "
      "requests %lld KiB\n",
      static_cast<long long>(ProcKiB(gateway, "VmRSS")),
      static_cast<long long>(ProcKiB(requests, "VmRSS")),
      static_cast<long long>(ProcKiB(gateway, "VmHWM")),
      static_cast<long long>(ProcKiB(requests, "VmHWM")));
  std::atomic<bool> sampling{true};
  std::atomic<int64_t> peak_gateway{0}, peak_requests{0};
  std::thread sampler([&] {
    while (sampling) {
      peak_gateway = std::max<int64_t>(peak_gateway, ProcKiB(gateway, "VmRSS"));
      peak_requests = std::max<int64_t>(peak_requests, ProcKiB(requests, "VmRSS"));
      std::this_thread::sleep_for(10ms);
    }
  });
  std::vector<int> fds;
  const std::string get = "GET /v1/media/" + media_id_ + " HTTP/1.1\r\nHost: t\r\n\r\n";
  for (int i = 0; i < kClients; ++i) {
    const int fd = ConnectLoopback(stack_->port("gateway"));
    ASSERT_GE(fd, 0) << i;
    ASSERT_TRUE(SendAll(fd, get));
    fds.push_back(fd);
  }
  // Slow readers: a small window per connection, round after round, so that all downloads are
  // under way at once.
  std::vector<std::string> received(kClients);
  std::vector<bool> done(kClients, false);
  int left = kClients;
  char chunk[16384];
  const auto deadline = std::chrono::steady_clock::now() + 300s;
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    std::vector<pollfd> polls;
    for (int i = 0; i < kClients; ++i) {
      if (!done[i]) polls.push_back({fds[i], POLLIN, 0});
    }
    if (::poll(polls.data(), polls.size(), 1000) <= 0) continue;
    for (const auto& p : polls) {
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const int i = static_cast<int>(std::find(fds.begin(), fds.end(), p.fd) - fds.begin());
      const ssize_t n = ::recv(p.fd, chunk, sizeof(chunk), 0);
      if (n > 0) received[i].append(chunk, static_cast<size_t>(n));
      const size_t head_end = received[i].find("\r\n\r\n");
      if (n <= 0 || (head_end != std::string::npos &&
                     received[i].size() - head_end - 4 >= static_cast<size_t>(size_))) {
        done[i] = true;
        --left;
      }
    }
  }
  sampling = false;
  sampler.join();
  for (int fd : fds) ::close(fd);
  const int64_t hwm_gateway = ProcKiB(gateway, "VmHWM");
  const int64_t hwm_requests = ProcKiB(requests, "VmHWM");
  std::printf(
      "peak RSS sampled: gateway %lld KiB, requests %lld KiB; VmHWM: gateway %lld KiB, "
      "requests %lld KiB\n",
      static_cast<long long>(peak_gateway.load()), static_cast<long long>(peak_requests.load()),
      static_cast<long long>(hwm_gateway), static_cast<long long>(hwm_requests));
  int complete = 0;
  for (int i = 0; i < kClients; ++i) {
    const size_t head_end = received[i].find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << "client " << i << " got no answer";
    ASSERT_EQ(received[i].substr(0, 12), "HTTP/1.1 200") << received[i].substr(0, head_end);
    const std::string body = received[i].substr(head_end + 4);
    EXPECT_EQ(body.size(), static_cast<size_t>(size_)) << "client " << i;
    if (infra::HexEncode(infra::Sha256(body)) == media_id_) ++complete;
  }
  EXPECT_EQ(complete, kClients);
  EXPECT_LT(hwm_gateway, kBoundKiB);
  EXPECT_LT(hwm_requests, kBoundKiB);
}

// A client that barely reads: a receive buffer of a few KiB, so that its download stays open.
int SlowClient(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int size = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
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

// The second line of defence: past CITYHUB_MEDIA_MAX_CONCURRENT_READS open downloads the
// gateway answers 503 with Retry-After at once, and serves again when one has ended.
TEST_F(MediaDownload, DownloadsPastTheCapAreRefusedWithRetryAfter) {
  // A second gateway in front of the same services, with a cap of 2.
  const int port = FreePort();
  stack_->StartReplica("gateway", "gateway-capped",
                       {{"CITYHUB_GATEWAY_ADDR", "127.0.0.1:" + std::to_string(port)},
                        {"CITYHUB_MEDIA_MAX_CONCURRENT_READS", "2"}});
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(WaitFor([&] { return HttpRequest("GET", url + "/healthz").status == 200; }, 20s));
  const std::string get = "GET /v1/media/" + media_id_ + " HTTP/1.1\r\nHost: t\r\n\r\n";
  std::vector<int> slow;
  for (int i = 0; i < 2; ++i) {
    slow.push_back(SlowClient(port));
    ASSERT_GE(slow.back(), 0);
    ASSERT_TRUE(SendAll(slow.back(), get));
    std::string buffer;
    EXPECT_EQ(ReadAnswer(slow.back(), &buffer, false).status(), 200);  // under way, unread
  }
  const HttpResponse refused = HttpRequest("GET", url + "/v1/media/" + media_id_);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.header("retry-after"), "1");
  for (int fd : slow) ::close(fd);
  // Once the slow clients are gone, their downloads end and the door opens again.
  EXPECT_TRUE(WaitFor(
      [&] {
        const HttpResponse r = HttpRequest("GET", url + "/v1/media/" + media_id_);
        return r.status == 200 && infra::HexEncode(infra::Sha256(r.body)) == media_id_;
      },
      20s));
  stack_->Stop("gateway-capped");
}

}  // namespace
}  // namespace cityhub::testing
