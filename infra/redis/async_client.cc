#include "infra/redis/async_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "infra/redis/connection.h"
#include "infra/redis/interrupt.h"
#include "infra/strings.h"

namespace cityhub::infra::redis {
using std::chrono::steady_clock;

// Calls that may wait for a connection being opened; more fail at once with UNAVAILABLE.
constexpr size_t kMaxQueued = 10'000;

// One connection and its I/O thread. The I/O thread alone opens (sentinel lookup, TCP, AUTH,
// SELECT, CLIENT SETNAME), reads and closes the socket; callers only append to it. While a
// connect is under way, calls wait in queued_ (at most command_timeout, at most kMaxQueued of
// them); while the last connect failed and the backoff runs, calls fail at once with
// UNAVAILABLE. So no caller thread (a gRPC callback thread) ever waits for Redis to be found.
//
// Owned jointly by the AsyncClient and the I/O thread, so that a callback may destroy the
// client: the I/O thread then finishes on its own (see Join).
class AsyncClient::Connection final : public std::enable_shared_from_this<Connection> {
 public:
  // `tls` is used for rediss://.
  Connection(const Options& options, std::shared_ptr<const ClientTls> tls)
      : options_(Unnamed(options)), name_(options.client_name), tls_(std::move(tls)) {}

  void Start() {
    io_ = std::thread([self = shared_from_this()] { self->Run(); });
  }

  // Tells the I/O thread to stop, and ends a connect attempt in progress at once. Returns at once.
  void Close() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
      if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);  // wakes the reader
    }
    interrupt_.Trigger();
    wake_.notify_all();
  }

  // Waits for the I/O thread, which fails what is left with UNAVAILABLE. Called on that thread
  // (a callback destroying the client), it returns at once and the thread ends after the
  // callback, failing what is left there.
  void Join() {
    if (io_.get_id() == std::this_thread::get_id()) {
      io_.detach();
    } else {
      io_.join();
    }
  }

  void Send(std::vector<Args> commands, Callback done) {
    std::string wire;
    for (const auto& c : commands) AppendCommand(c, &wire);
    std::unique_lock lock(mu_);
    if (fd_ >= 0) {
      Write(std::move(wire), commands.size(), std::move(done));
      return;
    }
    absl::Status refused;
    if (closing_) {
      refused = absl::UnavailableError("redis: client shut down");
    } else if (!connecting_) {
      refused = backoff_.Ready();  // OK when the I/O thread is about to try again
    }
    if (refused.ok() && queued_.size() >= kMaxQueued) {
      refused = absl::UnavailableError("redis: too many calls waiting for a connection");
    }
    if (!refused.ok()) {
      lock.unlock();
      done(refused);
      return;
    }
    queued_.push_back(Queued{std::move(wire), commands.size(), std::move(done),
                             steady_clock::now() + options_.command_timeout});
    lock.unlock();
    wake_.notify_all();  // the I/O thread times the queue out
  }

 private:
  // CLIENT SETNAME is not part of the waited-for handshake: it is pipelined ahead of the first
  // call and its answer dropped, so that a Redis busy with a script (which answers BUSY) does
  // not fail the connect. AUTH and SELECT, when configured, cannot be left out.
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
  // A call waiting for the connection to be opened.
  struct Queued {
    std::string wire;
    size_t commands = 0;
    Callback done;
    steady_clock::time_point deadline;
  };

  // Writes one call on the open socket. Called with mu_ held.
  void Write(std::string wire, size_t commands, Callback done) {
    // The entry goes in before the bytes leave, under the same lock: replies come back in the
    // order commands were written, and the reader pops entries in that order.
    auto entry = std::make_unique<Pending>();
    entry->remaining = commands;
    entry->replies.reserve(commands);
    entry->done = std::move(done);
    entry->sent = steady_clock::now();
    pending_.push_back(std::move(entry));
    // On failure the reader sees the socket closed and fails every call in flight, this one too.
    if (!WriteAll(fd_, wire)) ::shutdown(fd_, SHUT_RDWR);
  }

  // The I/O thread: connects, reads until the connection fails, waits out the backoff, again.
  void Run() {
    std::unique_lock lock(mu_);
    while (!closing_) {
      if (!backoff_.Ready().ok()) {
        connecting_ = false;
        wake_.wait_until(lock, backoff_.NextAttempt(), [&] { return closing_; });
        continue;
      }
      connecting_ = true;
      absl::StatusOr<int> fd = Connect(lock);
      connecting_ = false;
      if (!fd.ok()) {
        if (!closing_) backoff_.Failed(fd.status());
        Fail(lock, queued_, fd.status());
        continue;
      }
      const auto opened = steady_clock::now();
      fd_ = *fd;
      if (!name_.empty()) {
        std::string wire;
        AppendCommand({"CLIENT", "SETNAME", name_}, &wire);
        Write(std::move(wire), 1, [](absl::StatusOr<std::vector<Reply>>) {});
      }
      std::deque<Queued> waiting;
      waiting.swap(queued_);
      for (auto& q : waiting) Write(std::move(q.wire), q.commands, std::move(q.done));
      const absl::Status lost = ReadLoop(lock);
      ::close(fd_);
      fd_ = -1;
      // A connection that lived a while is tried again at once; one closed right after it
      // opened (Redis at maxclients, a proxy without a backend) counts as a failed connect, so
      // that the backoff paces the next attempts instead of a loop without a pause.
      if (closing_) {
        // Shutting down, not a failure of Redis.
      } else if (steady_clock::now() - opened >= std::chrono::seconds(1)) {
        backoff_.Succeeded();
      } else {
        backoff_.Failed(lost);
      }
      Fail(lock, pending_, lost);
    }
    const absl::Status shut_down = absl::UnavailableError("redis: client shut down");
    Fail(lock, pending_, shut_down);
    Fail(lock, queued_, shut_down);
  }

  // Opens a socket to the primary the sentinels name now (so that a reconnect after a failover
  // reaches it) on a thread of its own, while this one fails queued calls whose time is up.
  // Close() interrupts the attempt (see OpenSocket: only a sentinel lookup or a name being
  // resolved runs on until its own timeout).
  absl::StatusOr<int> Connect(std::unique_lock<std::mutex>& lock) {
    std::optional<absl::StatusOr<int>> result;
    std::thread attempt([this, &result] {
      const auto target = ChooseTarget(options_);
      absl::StatusOr<int> fd =
          target.ok() ? OpenSocket(options_, *tls_, *target, &interrupt_) : target.status();
      {
        std::lock_guard guard(mu_);
        result = std::move(fd);
      }
      wake_.notify_all();
    });
    while (!result) {
      if (queued_.empty()) {
        wake_.wait(lock);
      } else {
        wake_.wait_until(lock, queued_.front().deadline);
      }
      ExpireQueued(lock);
    }
    lock.unlock();
    attempt.join();
    lock.lock();
    if (closing_ && result->ok()) {
      ::close(**result);
      return absl::UnavailableError("redis: client shut down");
    }
    return *result;
  }

  // Fails the queued calls whose command_timeout has passed. Called with mu_ held.
  void ExpireQueued(std::unique_lock<std::mutex>& lock) {
    const auto now = steady_clock::now();
    std::deque<Queued> expired;
    while (!queued_.empty() && queued_.front().deadline <= now) {
      expired.push_back(std::move(queued_.front()));
      queued_.pop_front();
    }
    Fail(lock, expired, absl::UnavailableError("redis: no connection within the command timeout"));
  }

  // Reads replies until the socket fails, a reply is overdue or the client shuts down; returns
  // why. Called with mu_ held; unlocks while waiting for the socket.
  absl::Status ReadLoop(std::unique_lock<std::mutex>& lock) {
    const int fd = fd_;
    lock.unlock();
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
      std::lock_guard guard(mu_);
      if (closing_) {
        failure = absl::UnavailableError("redis: client shut down");
      } else if (!pending_.empty() &&
                 steady_clock::now() - pending_.front()->sent > options_.command_timeout) {
        // A reply that takes longer than the command timeout: the connection is stuck.
        failure = absl::DeadlineExceededError("redis: command timed out");
      }
    }
    redisReaderFree(reader);
    lock.lock();
    return failure;
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

  // Fails and empties `calls` (pending_ or queued_). Called with mu_ held; unlocks while
  // running the callbacks, then locks again.
  template <typename Calls>
  void Fail(std::unique_lock<std::mutex>& lock, Calls& calls, const absl::Status& why) {
    if (calls.empty()) return;
    Calls failed;
    failed.swap(calls);
    lock.unlock();
    for (auto& call : failed) Done(call)(why);
    lock.lock();
  }
  static Callback& Done(std::unique_ptr<Pending>& p) { return p->done; }
  static Callback& Done(Queued& q) { return q.done; }

  const Options options_;
  const std::string name_;
  const std::shared_ptr<const ClientTls> tls_;
  Interrupt interrupt_;
  std::mutex mu_;
  std::condition_variable wake_;
  int fd_ = -1;  // open and set up; written by callers, read and closed by the I/O thread
  bool connecting_ = true;
  bool closing_ = false;
  std::deque<std::unique_ptr<Pending>> pending_;
  std::deque<Queued> queued_;
  Backoff backoff_{options_};
  std::thread io_;
};

AsyncClient::AsyncClient(Options options, int connections)
    : tls_(std::make_shared<const ClientTls>(options.tls, options.tls_files)) {
  for (int i = 0; i < std::max(1, connections); ++i) {
    connections_.push_back(std::make_shared<Connection>(options, tls_));
    connections_.back()->Start();
  }
}

// Every connection is told to stop before any is waited for: their connect attempts and
// remaining callbacks end in parallel.
AsyncClient::~AsyncClient() {
  for (auto& connection : connections_) connection->Close();
  for (auto& connection : connections_) connection->Join();
}

void AsyncClient::Pipeline(std::vector<Args> commands, Callback done) {
  if (commands.empty()) {
    done(std::vector<Reply>{});
    return;
  }
  connections_[next_.fetch_add(1, std::memory_order_relaxed) % connections_.size()]->Send(
      std::move(commands), std::move(done));
}

}  // namespace cityhub::infra::redis
