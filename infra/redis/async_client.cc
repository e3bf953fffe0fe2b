#include "infra/redis/async_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
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
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Calls that may wait for a connection being opened; more fail at once with UNAVAILABLE.
constexpr size_t kMaxQueued = 10'000;
// Bytes of commands that may wait for the socket (Redis reads slower than calls arrive); a
// call that would go beyond fails at once with UNAVAILABLE.
constexpr size_t kMaxUnwritten = 32 << 20;

// One connection and its I/O thread. The I/O thread alone opens (sentinel lookup, TCP, AUTH,
// SELECT, CLIENT SETNAME), reads and closes the socket. Callers append their commands to out_
// and try one non-blocking write; what the socket does not take, the I/O thread writes when
// the socket is writable (woken through wake_fd_). While a connect is under way, calls wait in
// queued_ (at most command_timeout, at most kMaxQueued of them); while the last connect failed
// and the backoff runs, calls fail at once with UNAVAILABLE. So no caller thread (a gRPC
// callback thread) ever waits for Redis: not for it to be found, not for it to read.
//
// Owned jointly by the AsyncClient and the I/O thread, so that a callback may destroy the
// client: the I/O thread then finishes on its own (see Join).
class AsyncClient::Connection final : public std::enable_shared_from_this<Connection> {
 public:
  // `tls` is used for rediss://.
  Connection(const Options& options, std::shared_ptr<const ClientTls> tls)
      : options_(Unnamed(options)),
        name_(options.client_name),
        tls_(std::move(tls)),
        wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

  ~Connection() {
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  void Start() {
    io_ = std::thread([self = shared_from_this()] { self->Run(); });
  }

  // Tells the I/O thread to stop, and ends a connect attempt in progress at once. Returns at once.
  void Close() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    interrupt_.Trigger();
    Wake();
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
    const auto deadline = steady_clock::now() + options_.command_timeout;
    std::unique_lock lock(mu_);
    absl::Status refused;
    if (closing_) {
      refused = absl::UnavailableError("redis: client shut down");
    } else if (fd_ >= 0) {
      if (out_bytes_ + wire.size() > kMaxUnwritten) {
        refused = absl::UnavailableError("redis: too many commands waiting for the socket");
      } else {
        Write(std::move(wire), commands.size(), std::move(done), deadline);
        return;
      }
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
    queued_.push_back(Queued{std::move(wire), commands.size(), std::move(done), deadline});
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

  // A call on the socket. `done` is empty once the call has been failed for its deadline; its
  // replies are still read (and dropped) to keep the order.
  struct Pending {
    size_t remaining = 0;
    std::vector<Reply> replies;
    Callback done;
    steady_clock::time_point sent;      // put on the socket (the connection's stuck check)
    steady_clock::time_point deadline;  // the caller's: command_timeout after the call
  };
  // A call waiting for the connection to be opened.
  struct Queued {
    std::string wire;
    size_t commands = 0;
    Callback done;
    steady_clock::time_point deadline;
  };

  // Puts one call on the open socket. Called with mu_ held.
  void Write(std::string wire, size_t commands, Callback done, steady_clock::time_point deadline) {
    // The entry goes in with its bytes, under the same lock: replies come back in the order
    // commands were written, and the reader pops entries in that order.
    auto entry = std::make_unique<Pending>();
    entry->remaining = commands;
    entry->replies.reserve(commands);
    entry->done = std::move(done);
    entry->sent = steady_clock::now();
    entry->deadline = deadline;
    pending_.push_back(std::move(entry));
    const bool idle = out_.empty();
    out_bytes_ += wire.size();
    out_.push_back(std::move(wire));
    if (!idle) return;  // the I/O thread is writing out_ already
    Flush();
    if (!out_.empty()) Wake();  // the rest when the socket takes it
  }

  // Writes what the socket takes of out_ without waiting, several calls' commands per system
  // call. Called with mu_ held: no copy of the output is made here. On failure the socket is
  // shut down: the reader sees it closed and fails every call in flight.
  void Flush() {
    constexpr size_t kMaxPieces = 64;
    while (!out_.empty()) {
      iovec pieces[kMaxPieces];
      size_t count = 0;
      for (auto it = out_.begin(); it != out_.end() && count < kMaxPieces; ++it, ++count) {
        const size_t skip = count == 0 ? out_sent_ : 0;
        pieces[count] = {it->data() + skip, it->size() - skip};
      }
      msghdr message{};
      message.msg_iov = pieces;
      message.msg_iovlen = count;
      ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::shutdown(fd_, SHUT_RDWR);
        out_.clear();
        out_sent_ = out_bytes_ = 0;
        return;
      }
      out_bytes_ -= static_cast<size_t>(n);
      while (n > 0) {
        const size_t left = out_.front().size() - out_sent_;
        if (static_cast<size_t>(n) < left) {
          out_sent_ += static_cast<size_t>(n);
          break;
        }
        n -= static_cast<ssize_t>(left);
        out_.pop_front();
        out_sent_ = 0;
      }
    }
  }

  void Wake() {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  }

  // The I/O thread: connects, serves until the connection fails, waits out the backoff, again.
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
      ::fcntl(*fd, F_SETFL, ::fcntl(*fd, F_GETFL) | O_NONBLOCK);
      fd_ = *fd;
      if (!name_.empty()) {
        std::string wire;
        AppendCommand({"CLIENT", "SETNAME", name_}, &wire);
        Write(std::move(wire), 1, nullptr, opened + options_.command_timeout);
      }
      std::deque<Queued> waiting;
      waiting.swap(queued_);
      for (auto& q : waiting) Write(std::move(q.wire), q.commands, std::move(q.done), q.deadline);
      const absl::Status lost = Serve(lock);
      ::close(fd_);
      fd_ = -1;
      out_.clear();
      out_sent_ = out_bytes_ = 0;
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

  // Writes what callers left for the socket and reads replies until the socket fails, a reply
  // is overdue or the client shuts down; returns why. Called with mu_ held; unlocks while it
  // waits for the socket.
  absl::Status Serve(std::unique_lock<std::mutex>& lock) {
    const int fd = fd_;
    redisReader* reader = redisReaderCreate();
    std::string buffer(64 * 1024, '\0');
    absl::Status failure;
    while (true) {
      std::vector<Callback> overdue;
      milliseconds wait(100);
      failure = Check(&overdue, &wait);
      if (!failure.ok()) break;
      const bool writing = !out_.empty();
      lock.unlock();
      for (auto& done : overdue) done(absl::DeadlineExceededError("redis: command timed out"));
      pollfd p[2] = {{fd, static_cast<short>(POLLIN | (writing ? POLLOUT : 0)), 0},
                     {wake_fd_, POLLIN, 0}};
      const int ready = ::poll(p, 2, static_cast<int>(wait.count()));
      if (ready < 0 && errno != EINTR) failure = absl::UnavailableError("redis: poll failed");
      if (p[1].revents & POLLIN) {
        uint64_t count;
        [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &count, sizeof(count));
      }
      if (failure.ok() && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        failure = Read(fd, reader, buffer);
      }
      lock.lock();
      if (!failure.ok()) break;
      if (fd_ >= 0 && (p[0].revents & POLLOUT)) Flush();
    }
    redisReaderFree(reader);
    return failure;
  }

  // Under mu_: why to stop serving (shut down, or the oldest call on the socket has waited
  // longer than command_timeout: the connection is stuck), else OK with the calls whose own
  // deadline passed in `overdue` and how long the next wait may be in `wait`.
  absl::Status Check(std::vector<Callback>* overdue, milliseconds* wait) {
    if (closing_) return absl::UnavailableError("redis: client shut down");
    if (pending_.empty()) return absl::OkStatus();
    const auto now = steady_clock::now();
    const auto stuck = pending_.front()->sent + options_.command_timeout;
    if (stuck <= now) return absl::DeadlineExceededError("redis: command timed out");
    *wait = std::min(*wait, Until(stuck, now));
    // Deadlines grow along pending_ (calls are written in the order they came).
    for (auto& entry : pending_) {
      if (entry->deadline > now) {
        *wait = std::min(*wait, Until(entry->deadline, now));
        break;
      }
      if (entry->done) overdue->push_back(std::move(entry->done));
      entry->done = nullptr;
    }
    return absl::OkStatus();
  }

  // Rounded up, so that the wait does not end just before `when`.
  static milliseconds Until(steady_clock::time_point when, steady_clock::time_point now) {
    return std::chrono::duration_cast<milliseconds>(when - now) + milliseconds(1);
  }

  // Reads what the socket has and delivers the replies complete in it. Not under mu_.
  absl::Status Read(int fd, redisReader* reader, std::string& buffer) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
      return absl::OkStatus();
    }
    if (n <= 0) return absl::UnavailableError("redis: connection lost");
    redisReaderFeed(reader, buffer.data(), static_cast<size_t>(n));
    while (true) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
        return absl::UnavailableError("redis: protocol error");
      }
      if (raw == nullptr) return absl::OkStatus();
      Reply reply = ToReply(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      Deliver(std::move(reply));
    }
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
    if (done && done->done) done->done(std::move(done->replies));
  }

  // Fails and empties `calls` (pending_ or queued_). Called with mu_ held; unlocks while
  // running the callbacks, then locks again.
  template <typename Calls>
  void Fail(std::unique_lock<std::mutex>& lock, Calls& calls, const absl::Status& why) {
    if (calls.empty()) return;
    Calls failed;
    failed.swap(calls);
    lock.unlock();
    for (auto& call : failed) {
      if (Callback& done = Done(call); done) done(why);
    }
    lock.lock();
  }
  static Callback& Done(std::unique_ptr<Pending>& p) { return p->done; }
  static Callback& Done(Queued& q) { return q.done; }

  const Options options_;
  const std::string name_;
  const std::shared_ptr<const ClientTls> tls_;
  const int wake_fd_;  // written to wake the I/O thread from its poll
  Interrupt interrupt_;
  std::mutex mu_;
  std::condition_variable wake_;
  int fd_ = -1;  // open and set up; written by callers, read and closed by the I/O thread
  bool connecting_ = true;
  bool closing_ = false;
  std::deque<std::unique_ptr<Pending>> pending_;
  std::deque<Queued> queued_;
  std::deque<std::string> out_;  // calls' commands not yet taken by the socket, in call order
  size_t out_sent_ = 0;          // bytes of out_.front() already written
  size_t out_bytes_ = 0;         // bytes in out_ not yet written
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
