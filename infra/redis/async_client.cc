#include "infra/redis/async_client.h"

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

#include "infra/redis/connection.h"
#include "infra/strings.h"

namespace cityhub::infra::redis {
using std::chrono::steady_clock;

class AsyncClient::Connection {
 public:
  // `tls` is used for rediss://.
  Connection(const Options& options, const ClientTls& tls)
      : options_(Unnamed(options)), name_(options.client_name), tls_(tls) {}

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
  // A reconnect runs on the caller's thread (a gRPC callback thread): it waits for no reply it
  // can do without, so that a Redis that has stopped answering (a slow script, a full
  // machine) cannot hold that thread. CLIENT SETNAME is therefore not part of the waited-for
  // handshake: Connect pipelines it ahead of the first command and the reader drops its
  // answer. AUTH and SELECT, when configured, cannot be left out.
  static Options Unnamed(Options options) {
    options.client_name.clear();
    return options;
  }

  struct Pending {
    size_t remaining = 0;
    std::vector<Reply> replies;
    Callback done;
    steady_clock::time_point sent;
  };

  // Opens the socket, authenticates and starts the reader. Called with mu_ held.
  absl::Status Connect(std::unique_lock<std::mutex>& lock) {
    if (closing_) return absl::UnavailableError("redis: client shut down");
    if (absl::Status ready = backoff_.Ready(); !ready.ok()) return ready;
    if (reader_.joinable()) {
      // The previous reader has seen its socket closed and is on its way out.
      std::thread old = std::move(reader_);
      lock.unlock();
      old.join();
      lock.lock();
      if (fd_ >= 0) return absl::OkStatus();  // another caller reconnected meanwhile
    }
    // The primary the sentinels name now, so that a reconnect after a failover reaches it.
    const auto target = ChooseTarget(options_);
    const absl::StatusOr<int> fd =
        target.ok() ? OpenSocket(options_, tls_, *target) : target.status();
    if (!fd.ok()) {
      backoff_.Failed(fd.status());
      return fd.status();
    }
    backoff_.Succeeded();
    fd_ = *fd;
    ++generation_;
    reader_ = std::thread([this, fd = fd_, generation = generation_] { ReadLoop(fd, generation); });
    if (!name_.empty()) {
      auto entry = std::make_unique<Pending>();
      entry->remaining = 1;
      entry->done = [](absl::StatusOr<std::vector<Reply>>) {};
      entry->sent = steady_clock::now();
      pending_.push_back(std::move(entry));
      std::string wire;
      AppendCommand({"CLIENT", "SETNAME", name_}, &wire);
      // A failed write shows again at the caller's own write, which disconnects.
      (void)WriteAll(fd_, wire);
    }
    return absl::OkStatus();
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
          Reply reply = ToReply(static_cast<redisReply*>(raw));
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
  const std::string name_;
  const ClientTls& tls_;
  std::mutex mu_;
  int fd_ = -1;
  uint64_t generation_ = 0;
  bool closing_ = false;
  std::deque<std::unique_ptr<Pending>> pending_;
  std::thread reader_;
  Backoff backoff_{options_};
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
