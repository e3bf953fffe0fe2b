#include "infra/redis/connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "infra/log.h"
#include "infra/redis/sentinel.h"
#include "infra/status.h"
#include "infra/strings.h"

namespace cityhub::infra::redis {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct ReaderDeleter {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};

// Shuts `fd` down when `interrupt` (may be null) is triggered while the caller waits on it.
class Watch final {
 public:
  Watch(Interrupt* interrupt, int fd)
      : interrupt_(interrupt),
        entered_(interrupt == nullptr || interrupt->Enter([fd] { ::shutdown(fd, SHUT_RDWR); })) {}
  ~Watch() {
    if (interrupt_ != nullptr && entered_) interrupt_->Leave();
  }
  // False when the interrupt came before the wait began.
  bool entered() const { return entered_; }

 private:
  Interrupt* const interrupt_;
  const bool entered_;
};

// Connects to one resolved address within `timeout`; the socket is blocking afterwards.
int ConnectTo(const addrinfo& address, milliseconds timeout, Interrupt* interrupt) {
  const int fd = ::socket(address.ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int rc = ::connect(fd, address.ai_addr, address.ai_addrlen);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    Watch watch(interrupt, fd);
    rc = watch.entered() && ::poll(&p, 1, static_cast<int>(timeout.count())) == 1 ? 0 : -1;
    int error = 0;
    socklen_t len = sizeof(error);
    if (rc == 0 && (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0))
      rc = -1;
  }
  if (rc != 0) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

// A TCP connection to host:port (every address the name resolves to, in order).
absl::StatusOr<int> ConnectTcp(const std::string& host, int port, milliseconds timeout,
                               Interrupt* interrupt) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return absl::UnavailableError(StrCat("redis: cannot resolve ", host));
  }
  int fd = -1;
  for (const addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ConnectTo(*a, timeout, interrupt);
  }
  freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError(
        StrCat("redis: cannot connect to ", host, ":", port, ": ", std::strerror(errno)));
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  // As hiredis's redisEnableKeepAlive: a dead peer is noticed within about half a minute.
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
  const int idle = 15, interval = 5, count = 3;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
  return fd;
}

std::vector<Args> SetupCommands(const Options& options) {
  std::vector<Args> setup;
  if (!options.password.empty()) {
    setup.push_back(options.user.empty() ? Args{"AUTH", options.password}
                                         : Args{"AUTH", options.user, options.password});
  }
  if (options.db != 0) setup.push_back({"SELECT", std::to_string(options.db)});
  if (!options.client_name.empty()) setup.push_back({"CLIENT", "SETNAME", options.client_name});
  return setup;
}

// Reads `count` replies from a blocking socket before `deadline`.
absl::StatusOr<std::vector<Reply>> ReadReplies(int fd, size_t count,
                                               steady_clock::time_point deadline) {
  std::unique_ptr<redisReader, ReaderDeleter> reader(redisReaderCreate());
  std::vector<Reply> replies;
  while (replies.size() < count) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) {
      return absl::UnavailableError("redis: protocol error");
    }
    if (raw != nullptr) {
      replies.push_back(ToReply(static_cast<redisReply*>(raw)));
      freeReplyObject(raw);
      continue;
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    char buf[512];
    const ssize_t n = left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) == 1
                          ? ::recv(fd, buf, sizeof(buf), 0)
                          : -1;
    if (n <= 0) return absl::UnavailableError("redis: no answer");
    redisReaderFeed(reader.get(), buf, static_cast<size_t>(n));
  }
  return replies;
}

// Sends `commands` and reads their replies within command_timeout.
absl::StatusOr<std::vector<Reply>> Exchange(int fd, const Options& options,
                                            const std::vector<Args>& commands) {
  std::string wire;
  for (const auto& c : commands) AppendCommand(c, &wire);
  if (!WriteAll(fd, wire)) return absl::UnavailableError("redis: write failed");
  return ReadReplies(fd, commands.size(), steady_clock::now() + options.command_timeout);
}

// Sends the setup commands and reads their replies, before the connection is used.
absl::Status Handshake(int fd, const Options& options) {
  const std::vector<Args> setup = SetupCommands(options);
  if (setup.empty()) return absl::OkStatus();
  auto replies = Exchange(fd, options, setup);
  if (!replies.ok()) {
    return absl::UnavailableError(StrCat("redis: handshake failed: ", replies.status().message()));
  }
  for (const Reply& reply : *replies) {
    if (reply.is_error()) {
      return absl::UnavailableError(StrCat("redis: connection setup failed: ", reply.str()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

timeval ToTimeval(milliseconds d) {
  return timeval{static_cast<time_t>(d.count() / 1000),
                 static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

Reply ToReply(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
      return Reply::String(std::string(r->str, r->len));
    case REDIS_REPLY_STATUS:
      return Reply::Status(std::string(r->str, r->len));
    case REDIS_REPLY_ERROR:
      return Reply::Error(std::string(r->str, r->len));
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(r->integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) elements.push_back(ToReply(r->element[i]));
      return Reply::Array(std::move(elements));
    }
    default:
      return Reply::Nil();
  }
}

// RESP written directly: hiredis's redisFormatCommandArgv allocates its own buffer (and the
// argv and length arrays it needs) for every command, which was 6 % of a GetRequest's
// instructions (callgrind). The test checks the bytes against hiredis.
void AppendCommand(const Args& args, std::string* wire) {
  const auto append_header = [wire](char kind, size_t n) {
    char buf[24];
    buf[0] = kind;
    char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n).ptr;
    *end++ = '\r';
    *end++ = '\n';
    wire->append(buf, end);
  };
  size_t size = 16;
  for (const auto& a : args) size += a.size() + 24;
  wire->reserve(wire->size() + size);
  append_header('*', args.size());
  for (const auto& a : args) {
    append_header('$', a.size());
    wire->append(a);
    wire->append("\r\n", 2);
  }
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

absl::StatusOr<Target> ChooseTarget(const Options& options) {
  if (!options.sentinel) return Target{options.host, options.port, 0};
  ASSIGN_OR_RETURN(const auto primary, options.sentinel->Primary(options));
  return Target{primary.host, primary.port, options.sentinel->epoch()};
}

absl::StatusOr<int> OpenSocket(const Options& options, const ClientTls& tls, const Target& target,
                               Interrupt* interrupt) {
  ASSIGN_OR_RETURN(const int fd,
                   options.tls
                       ? tls.Connect(target.host, target.port, options.connect_timeout, interrupt)
                       : ConnectTcp(target.host, target.port, options.connect_timeout, interrupt));
  const timeval send_timeout = ToTimeval(options.command_timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  absl::Status set_up;
  {
    Watch watch(interrupt, fd);
    set_up = watch.entered() ? Handshake(fd, options) : absl::OkStatus();
  }
  if (set_up.ok() && interrupt != nullptr && interrupt->triggered()) {
    set_up = absl::UnavailableError("redis: connect interrupted");
  }
  if (!set_up.ok()) {
    ::close(fd);
    return set_up;
  }
  return fd;
}

absl::StatusOr<Reply> AskOnce(const Options& options, const Target& target, const Args& command) {
  Options plain = options;
  plain.tls = false;
  ASSIGN_OR_RETURN(const int fd, OpenSocket(plain, ClientTls(false, {}), target, nullptr));
  auto replies = Exchange(fd, options, {command});
  ::close(fd);
  RETURN_IF_ERROR(replies);
  return std::move(replies->front());
}

Backoff::Backoff(const Options& options) : options_(options) {}

absl::Status Backoff::Ready() const {
  const auto now = steady_clock::now();
  if (now >= next_) return absl::OkStatus();
  return absl::UnavailableError(
      StrCat("redis: unreachable, next attempt in ",
             std::chrono::duration_cast<milliseconds>(next_ - now).count(), " ms"));
}

void Backoff::Failed(const absl::Status& why) {
  if (options_.sentinel) options_.sentinel->Invalidate();
  backoff_ = backoff_.count() == 0 ? options_.reconnect_backoff_min
                                   : std::min(backoff_ * 2, options_.reconnect_backoff_max);
  next_ = steady_clock::now() + backoff_;
  if (!down_) {
    down_ = true;
    log::Warn("redis_down", {{"error", why.message()}});
  }
}

void Backoff::Succeeded() {
  backoff_ = milliseconds(0);
  if (down_) {
    down_ = false;
    log::Info("redis_reconnected");
  }
}

}  // namespace cityhub::infra::redis
