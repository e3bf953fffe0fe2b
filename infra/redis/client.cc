#include "infra/redis/client.h"

#include <poll.h>
#include <sys/time.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <optional>

#include <hiredis/hiredis.h>

#include "infra/log.h"
#include "infra/metrics.h"
#include "infra/redis/connection.h"
#include "infra/redis/sentinel.h"
#include "infra/status.h"
#include "infra/strings.h"

namespace cityhub::infra::redis {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// A pooled connection.
struct Connection {
  redisContext* ctx = nullptr;
  // When it was last returned to the pool.
  std::chrono::steady_clock::time_point released{};
  // Sentinel::epoch() of the primary it was opened to (0 without sentinels).
  uint64_t epoch = 0;
  ~Connection() {
    if (ctx != nullptr) redisFree(ctx);
  }
  // False once the peer has closed the socket or sent something unasked (a connection that
  // outlived a Redis restart): a healthy idle connection has nothing to read.
  bool LooksAlive() const {
    if (ctx == nullptr || ctx->err != 0) return false;
    pollfd p{ctx->fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }
};

// Sends `commands` and reads one reply per command. A transport failure (timeout, lost
// connection) gives a status and marks the connection unusable.
absl::StatusOr<std::vector<Reply>> RoundTrip(Connection& conn, const std::vector<Args>& commands,
                                             bool* reusable) {
  std::string wire;
  for (const Args& args : commands) AppendCommand(args, &wire);
  if (redisAppendFormattedCommand(conn.ctx, wire.data(), wire.size()) != REDIS_OK) {
    *reusable = false;
    return absl::UnavailableError("redis: cannot buffer command");
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    errno = 0;
    if (redisGetReply(conn.ctx, &raw) != REDIS_OK || raw == nullptr) {
      const int saved_errno = errno;
      *reusable = false;
      const bool timed_out =
          conn.ctx->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK);
      if (timed_out) return absl::DeadlineExceededError("redis: command timed out");
      return absl::UnavailableError(StrCat("redis: connection lost: ", conn.ctx->errstr));
    }
    ReplyPtr reply(static_cast<redisReply*>(raw));
    replies.push_back(ToReply(reply.get()));
    // A primary demoted by a failover: this connection is no longer worth keeping.
    if (replies.back().is_error() && replies.back().str().starts_with("READONLY"))
      *reusable = false;
  }
  return replies;
}

// A new connection to `target`, set up by the connection core, with command_timeout as its
// socket timeout; for rediss:// through `tls`.
absl::StatusOr<std::unique_ptr<Connection>> Open(const Options& options, const ClientTls& tls,
                                                 const Target& target) {
  ASSIGN_OR_RETURN(const int fd, OpenSocket(options, tls, target, nullptr));
  auto conn = std::make_unique<Connection>();
  conn->ctx = redisConnectFd(fd);  // takes the socket, even on failure
  if (conn->ctx == nullptr) return absl::UnavailableError("redis: cannot allocate a connection");
  if (conn->ctx->err != 0) {
    return absl::UnavailableError(StrCat("redis: cannot connect to ", target.host, ":", target.port,
                                         ": ", conn->ctx->errstr));
  }
  redisSetTimeout(conn->ctx, ToTimeval(options.command_timeout));
  conn->epoch = target.epoch;
  return conn;
}

}  // namespace

// Connections are created lazily up to pool_size and handed to one caller at a time.
class Client::Pool {
 public:
  explicit Pool(Options options)
      : options_(std::move(options)), tls_(options_.tls, options_.tls_files) {}

  const Options& options() const { return options_; }

  // Runs `fn(Connection&, bool* reusable)` on a pooled connection.
  template <typename Fn>
  auto With(Fn fn) -> decltype(fn(std::declval<Connection&>(), nullptr)) {
    const auto asked = steady_clock::now();
    auto conn = Acquire();
    if (options_.pool_wait != nullptr) {
      options_.pool_wait->Observe(
          std::chrono::duration<double>(steady_clock::now() - asked).count());
    }
    RETURN_IF_ERROR(conn);
    bool reusable = true;
    auto result = fn(**conn, &reusable);
    Release(std::move(*conn), reusable);
    return result;
  }

  int open() const {
    std::lock_guard lock(mu_);
    return open_;
  }

 private:
  absl::StatusOr<std::unique_ptr<Connection>> Acquire() {
    const auto deadline = steady_clock::now() + options_.pool_wait_timeout;
    std::unique_lock lock(mu_);
    while (true) {
      while (!idle_.empty()) {
        std::unique_ptr<Connection> conn = std::move(idle_.back());
        idle_.pop_back();
        // A connection used moments ago is alive (a dead one fails its next command and is
        // dropped then); one that sat idle gets a cheap check for a Redis restart first.
        if ((steady_clock::now() - conn->released < milliseconds(200) || conn->LooksAlive()) &&
            ToCurrentPrimary(*conn)) {
          return conn;
        }
        --open_;  // stale (Redis restarted): drop it and try the next
      }
      if (open_ < options_.pool_size) {
        if (absl::Status ready = backoff_.Ready(); !ready.ok()) return ready;
        ++open_;
        lock.unlock();
        auto conn = Connect();
        lock.lock();
        if (!conn.ok()) {
          --open_;
          backoff_.Failed(conn.status());
          cv_.notify_one();
          return conn.status();
        }
        backoff_.Succeeded();
        return conn;
      }
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_ >= options_.pool_size) {
        return absl::UnavailableError("redis: all connections busy");
      }
    }
  }

  void Release(std::unique_ptr<Connection> conn, bool reusable) {
    {
      std::lock_guard lock(mu_);
      if (reusable && conn->ctx->err == 0) {
        conn->released = steady_clock::now();
        idle_.push_back(std::move(conn));
      } else {
        --open_;
        if (options_.sentinel) options_.sentinel->Invalidate();  // maybe a failover
      }
    }
    cv_.notify_one();
    // A dropped connection is freed here, outside the lock.
  }

  // False for a connection to a former primary (the sentinels have named another since).
  bool ToCurrentPrimary(const Connection& conn) const {
    return !options_.sentinel || conn.epoch == options_.sentinel->epoch();
  }

  // Opens a connection to the configured server, or to the primary the sentinels name.
  absl::StatusOr<std::unique_ptr<Connection>> Connect() {
    ASSIGN_OR_RETURN(const Target target, ChooseTarget(options_));
    return Open(options_, tls_, target);
  }

  const Options options_;
  const ClientTls tls_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;
  Backoff backoff_{options_};
};

Client::Client(Options options) : pool_(std::make_unique<Pool>(std::move(options))) {}
Client::~Client() = default;

absl::StatusOr<Reply> Client::Command(const Args& args) {
  auto replies = pool_->With(
      [&](Connection& conn, bool* reusable) { return RoundTrip(conn, {args}, reusable); });
  if (absl::IsUnavailable(replies.status()) && IsReadOnlyCommand(args)) {
    auto again = pool_->With(  // a read is safe to repeat: once, on a fresh connection
        [&](Connection& conn, bool* reusable) { return RoundTrip(conn, {args}, reusable); });
    // A second failure keeps the first one's reason (the pool's backoff would hide it).
    if (again.ok()) replies = std::move(again);
  }
  RETURN_IF_ERROR(replies);
  return ReplyOrError(std::move(replies->front()));
}

absl::StatusOr<Reply> Client::IdempotentCommand(const Args& args) {
  auto reply = Command(args);
  // The pool has dropped the dead or demoted connection (and the sentinels' answer with it);
  // a second try gets a fresh one, to the new primary once the failover is done.
  if (absl::IsUnavailable(reply.status())) reply = Command(args);
  return reply;
}

absl::StatusOr<Reply> Client::Command(std::initializer_list<std::string_view> args) {
  Args copy;
  copy.reserve(args.size());
  for (std::string_view a : args) copy.emplace_back(a);
  return Command(copy);
}

absl::StatusOr<Reply> Client::BlockingCommand(const Args& args, milliseconds timeout) {
  auto replies = pool_->With([&](Connection& conn, bool* reusable) {
    redisSetTimeout(conn.ctx, ToTimeval(timeout));
    auto result = RoundTrip(conn, {args}, reusable);
    if (*reusable) redisSetTimeout(conn.ctx, ToTimeval(pool_->options().command_timeout));
    return result;
  });
  RETURN_IF_ERROR(replies);
  return ReplyOrError(std::move(replies->front()));
}

absl::StatusOr<std::vector<Reply>> Client::Pipeline(const std::vector<Args>& commands) {
  if (commands.empty()) return std::vector<Reply>{};
  auto run = [&] {
    return pool_->With(
        [&](Connection& conn, bool* reusable) { return RoundTrip(conn, commands, reusable); });
  };
  auto replies = run();
  if (absl::IsUnavailable(replies.status()) &&
      std::all_of(commands.begin(), commands.end(), IsReadOnlyCommand)) {
    auto again = run();  // only reads: safe to repeat once on a fresh connection
    if (again.ok()) replies = std::move(again);  // else the first failure's reason stays
  }
  return replies;
}

absl::StatusOr<Reply> Client::Eval(const Script& script, const Args& keys, const Args& args) {
  return EvalThen(script, keys, args, std::nullopt);
}

absl::StatusOr<Reply> Client::EvalDurable(const Script& script, const Args& keys,
                                          const Args& args) {
  const Options& o = pool_->options();
  if (o.wait_replicas <= 0) return Eval(script, keys, args);
  Args wait = {"WAIT", std::to_string(o.wait_replicas), std::to_string(o.wait_timeout.count())};
  return EvalThen(script, keys, args, std::move(wait));
}

absl::StatusOr<Reply> Client::EvalThen(const Script& script, const Args& keys, const Args& args,
                                       std::optional<Args> then) {
  const Args command = EvalShaCommand(script, keys, args);
  auto replies = pool_->With([&](Connection& conn, bool* reusable) {
    std::vector<Args> commands = {command};
    if (then) commands.push_back(*then);
    auto first = RoundTrip(conn, commands, reusable);
    if (!first.ok() || !first->front().is_error() ||
        !first->front().str().starts_with("NOSCRIPT")) {
      return first;
    }
    // Redis lost the script (restart, SCRIPT FLUSH): load it and run again, one round trip.
    commands.insert(commands.begin(), {"SCRIPT", "LOAD", script.source()});
    return RoundTrip(conn, commands, reusable);
  });
  RETURN_IF_ERROR(replies);
  if (then) {
    const Reply& waited = replies->back();
    const int wanted = pool_->options().wait_replicas;
    if (!waited.is_integer() || waited.integer() < wanted) {
      log::Warn("redis_wait_short",
                {{"wanted", wanted}, {"confirmed", waited.is_integer() ? waited.integer() : -1}});
      if (pool_->options().wait_short != nullptr) pool_->options().wait_short->Inc();
    }
    replies->pop_back();
  }
  return ReplyOrError(std::move(replies->back()));
}

int Client::open_connections() const { return pool_->open(); }

void ExportPoolWait(MetricsRegistry& metrics, Options& options) {
  auto& family = metrics.AddHistogram(
      "redis_pool_wait_seconds", "Time a caller waited for a pooled Redis connection", {"client"},
      {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5});
  options.pool_wait =
      &family.WithLabels({options.client_name.empty() ? "default" : options.client_name});
}

DedicatedConnection::DedicatedConnection(Options options)
    : options_(std::move(options)),
      tls_(std::make_unique<ClientTls>(options_.tls, options_.tls_files)) {}

DedicatedConnection::~DedicatedConnection() { Close(); }

absl::Status DedicatedConnection::Connect() {
  Close();
  ASSIGN_OR_RETURN(const std::unique_ptr<Connection> conn,
                   Open(options_, *tls_, Target{options_.host, options_.port, 0}));
  redisSetTimeout(conn->ctx, timeval{0, 0});  // a subscriber waits as long as it takes
  std::swap(ctx_, conn->ctx);
  return absl::OkStatus();
}

void DedicatedConnection::Close() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
}

}  // namespace cityhub::infra::redis
