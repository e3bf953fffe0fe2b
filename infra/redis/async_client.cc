#include "infra/redis/async_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "infra/log.h"
#include "infra/redis/sentinel.h"
#include "infra/strings.h"

namespace cityhub::infra::redis {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

Reply Convert(const redisReply* r) {
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
      for (size_t i = 0; i < r->elements; ++i) elements.push_back(Convert(r->element[i]));
      return Reply::Array(std::move(elements));
    }
    default:
      return Reply::Nil();
  }
}

// RESP encoding of one command.
void AppendCommand(const Args& args, std::string* out) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  char* cmd = nullptr;
  const long long n =
      redisFormatCommandArgv(&cmd, static_cast<int>(args.size()), argv.data(), lengths.data());
  if (n > 0) out->append(cmd, static_cast<size_t>(n));
  redisFreeCommand(cmd);
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

}  // namespace

class AsyncClient::Connection {
 public:
  // `tls` is used for rediss://.
  Connection(const Options& options, const ClientTls& tls) : options_(options), tls_(tls) {}

  ~Connection() {
    std::unique_lock lock(mu_);
    closing_ = true;
    Disconnect(lock, absl::UnavailableError("redis: client shut down"));
  }

  void Send(std::vector<Args> commands, Callback done) {
    std::string wire;
    for (const auto& c : commands) AppendCommand(c, &wire);
    std::unique_lock lock(mu_);
    if (fd_ < 0) {
      absl::Status connected = Connect(lock);
      if (!connected.ok()) {
        lock.unlock();
        done(connected);
        return;
      }
    }
    // The entry goes in before the bytes leave, under the same lock: replies come back in the
    // order commands were written, and the reader pops entries in that order.
    auto entry = std::make_unique<Pending>();
    entry->remaining = commands.size();
    entry->replies.reserve(commands.size());
    entry->done = std::move(done);
    entry->sent = steady_clock::now();
    pending_.push_back(std::move(entry));
    if (!WriteAll(fd_, wire)) {
      Disconnect(lock,
                 absl::UnavailableError(StrCat("redis: write failed: ", std::strerror(errno))));
    }
  }

 private:
  struct Pending {
    size_t remaining = 0;
    std::vector<Reply> replies;
    Callback done;
    steady_clock::time_point sent;
  };

  // Opens the socket, authenticates and starts the reader. Called with mu_ held.
  absl::Status Connect(std::unique_lock<std::mutex>& lock) {
    if (closing_) return absl::UnavailableError("redis: client shut down");
    const auto now = steady_clock::now();
    if (now < next_connect_) return absl::UnavailableError("redis: unreachable, retrying soon");
    if (reader_.joinable()) {
      // The previous reader has seen its socket closed and is on its way out.
      std::thread old = std::move(reader_);
      lock.unlock();
      old.join();
      lock.lock();
      if (fd_ >= 0) return absl::OkStatus();  // another caller reconnected meanwhile
    }
    absl::StatusOr<int> fd = ChooseServer();
    if (fd.ok()) fd = OpenSocket();
    if (fd.ok()) {
      if (auto s = Handshake(*fd); !s.ok()) {
        ::close(*fd);
        fd = s;
      }
    }
    if (!fd.ok()) {
      if (options_.sentinel) options_.sentinel->Invalidate();
      backoff_ = backoff_.count() == 0 ? options_.reconnect_backoff_min
                                       : std::min(backoff_ * 2, options_.reconnect_backoff_max);
      next_connect_ = steady_clock::now() + backoff_;
      return fd.status();
    }
    backoff_ = milliseconds(0);
    fd_ = *fd;
    ++generation_;
    reader_ = std::thread([this, fd = fd_, generation = generation_] { ReadLoop(fd, generation); });
    return absl::OkStatus();
  }

  absl::StatusOr<int> OpenSocket() {
    if (options_.tls) {
      auto fd = tls_.Connect(options_.host, options_.port, options_.connect_timeout);
      if (fd.ok()) SetSendTimeout(*fd);
      return fd;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(port_);
    if (getaddrinfo(host_.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
      return absl::UnavailableError(StrCat("redis: cannot resolve ", host_));
    }
    const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int rc = fd < 0 ? -1 : ::connect(fd, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    if (fd < 0) return absl::UnavailableError("redis: no socket");
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(options_.connect_timeout.count())) == 1 ? 0 : -1;
      int error = 0;
      socklen_t len = sizeof(error);
      if (rc == 0 && (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0))
        rc = -1;
    }
    if (rc != 0) {
      ::close(fd);
      return absl::UnavailableError(StrCat("redis: cannot connect to ", host_, ":", port_));
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    SetSendTimeout(fd);
    return fd;
  }

  void SetSendTimeout(int fd) const {
    timeval tv{static_cast<time_t>(options_.command_timeout.count() / 1000),
               static_cast<suseconds_t>((options_.command_timeout.count() % 1000) * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }

  // Sets host_/port_: the configured server, or the primary the sentinels name now (so that a
  // reconnect after a failover reaches the new primary). Called with mu_ held.
  absl::StatusOr<int> ChooseServer() {
    host_ = options_.host;
    port_ = options_.port;
    if (!options_.sentinel) return 0;
    auto primary = options_.sentinel->Primary(options_);
    if (!primary.ok()) return primary.status();
    host_ = primary->host;
    port_ = primary->port;
    return 0;
  }

  // AUTH and SELECT, answered before the connection is shared.
  absl::Status Handshake(int fd) {
    std::vector<Args> setup;
    if (!options_.password.empty()) {
      setup.push_back(options_.user.empty() ? Args{"AUTH", options_.password}
                                            : Args{"AUTH", options_.user, options_.password});
    }
    if (options_.db != 0) setup.push_back({"SELECT", std::to_string(options_.db)});
    if (setup.empty()) return absl::OkStatus();
    std::string wire;
    for (const auto& c : setup) AppendCommand(c, &wire);
    if (!WriteAll(fd, wire)) return absl::UnavailableError("redis: handshake write failed");
    redisReader* reader = redisReaderCreate();
    absl::Status status;
    for (size_t got = 0; got < setup.size() && status.ok();) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
        status = absl::UnavailableError("redis: protocol error");
      } else if (raw != nullptr) {
        const auto* r = static_cast<redisReply*>(raw);
        if (r->type == REDIS_REPLY_ERROR) {
          status = absl::UnavailableError(
              StrCat("redis: connection setup failed: ", std::string_view(r->str, r->len)));
        }
        freeReplyObject(raw);
        ++got;
      } else {
        pollfd p{fd, POLLIN, 0};
        char buf[512];
        const ssize_t n = ::poll(&p, 1, static_cast<int>(options_.command_timeout.count())) == 1
                              ? ::recv(fd, buf, sizeof(buf), 0)
                              : -1;
        if (n <= 0)
          status = absl::UnavailableError("redis: no answer to the handshake");
        else
          redisReaderFeed(reader, buf, static_cast<size_t>(n));
      }
    }
    redisReaderFree(reader);
    return status;
  }

  // Reads replies until the socket closes; completes calls in order.
  void ReadLoop(int fd, uint64_t generation) {
    redisReader* reader = redisReaderCreate();
    std::string buffer(64 * 1024, '\0');
    absl::Status failure;
    while (failure.ok()) {
      pollfd p{fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, 100);
      if (ready > 0) {
        const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (n <= 0) {
          if (n < 0 && errno == EINTR) continue;
          failure = absl::UnavailableError("redis: connection lost");
          break;
        }
        redisReaderFeed(reader, buffer.data(), static_cast<size_t>(n));
        while (true) {
          void* raw = nullptr;
          if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
            failure = absl::UnavailableError("redis: protocol error");
            break;
          }
          if (raw == nullptr) break;
          Reply reply = Convert(static_cast<redisReply*>(raw));
          freeReplyObject(raw);
          Deliver(std::move(reply));
        }
      } else if (ready < 0 && errno != EINTR) {
        failure = absl::UnavailableError("redis: poll failed");
      }
      // A reply that takes longer than the command timeout: the connection is stuck.
      std::unique_lock lock(mu_);
      if (generation != generation_ || fd_ != fd) break;  // closed elsewhere
      if (!pending_.empty() &&
          steady_clock::now() - pending_.front()->sent > options_.command_timeout) {
        failure = absl::DeadlineExceededError("redis: command timed out");
      }
      if (!failure.ok()) {
        Disconnect(lock, failure);
        break;
      }
    }
    if (!failure.ok()) {
      std::unique_lock lock(mu_);
      if (generation == generation_ && fd_ == fd) Disconnect(lock, failure);
    }
    redisReaderFree(reader);
  }

  void Deliver(Reply reply) {
    std::unique_ptr<Pending> done;
    {
      std::lock_guard lock(mu_);
      if (pending_.empty()) return;  // cannot happen: Redis answers only what was sent
      Pending& front = *pending_.front();
      front.replies.push_back(std::move(reply));
      if (--front.remaining == 0) {
        done = std::move(pending_.front());
        pending_.pop_front();
      }
    }
    if (done) done->done(std::move(done->replies));
  }

  // Closes the socket and fails every call in flight. Called with mu_ held; unlocks while
  // running callbacks, then locks again.
  void Disconnect(std::unique_lock<std::mutex>& lock, const absl::Status& why) {
    if (fd_ >= 0) {
      ::shutdown(fd_, SHUT_RDWR);
      ::close(fd_);
      fd_ = -1;
      ++generation_;
    }
    std::deque<std::unique_ptr<Pending>> failed;
    failed.swap(pending_);
    std::thread reader;
    if (closing_) reader = std::move(reader_);
    lock.unlock();
    for (auto& p : failed) p->done(why);
    if (reader.joinable() && reader.get_id() != std::this_thread::get_id())
      reader.join();
    else if (reader.joinable())
      reader.detach();
    lock.lock();
  }

  const Options options_;
  const ClientTls& tls_;
  std::mutex mu_;
  int fd_ = -1;
  uint64_t generation_ = 0;
  bool closing_ = false;
  std::deque<std::unique_ptr<Pending>> pending_;
  // Where the current connection goes (see ChooseServer).
  std::string host_;
  int port_ = 0;
  std::thread reader_;
  steady_clock::time_point next_connect_{};
  milliseconds backoff_{0};
};

AsyncClient::AsyncClient(Options options, int connections)
    : tls_(std::make_unique<ClientTls>(options.tls, options.tls_files)) {
  for (int i = 0; i < std::max(1, connections); ++i) {
    connections_.push_back(std::make_unique<Connection>(options, *tls_));
  }
}

AsyncClient::~AsyncClient() = default;

void AsyncClient::Pipeline(std::vector<Args> commands, Callback done) {
  if (commands.empty()) {
    done(std::vector<Reply>{});
    return;
  }
  connections_[next_.fetch_add(1, std::memory_order_relaxed) % connections_.size()]->Send(
      std::move(commands), std::move(done));
}

}  // namespace cityhub::infra::redis
