#include "infra/redis/client.h"

#include <poll.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include "infra/config.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/metrics.h"
#include "infra/redis/sentinel.h"
#include "infra/strings.h"

namespace cityhub::infra::redis {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

timeval ToTimeval(milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

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
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const Args& args : commands) {
    argv.clear();
    lengths.clear();
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    if (redisAppendCommandArgv(conn.ctx, static_cast<int>(argv.size()), argv.data(),
                               lengths.data()) != REDIS_OK) {
      *reusable = false;
      return absl::UnavailableError("redis: cannot buffer command");
    }
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
    replies.push_back(Convert(reply.get()));
    // A primary demoted by a failover: this connection is no longer worth keeping.
    if (replies.back().is_error() && replies.back().str().starts_with("READONLY"))
      *reusable = false;
  }
  return replies;
}

// A new connection, set up (AUTH, SELECT, CLIENT SETNAME) with command_timeout as its socket
// timeout; for rediss:// through `tls`.
absl::StatusOr<std::unique_ptr<Connection>> Open(const Options& options, const ClientTls& tls) {
  auto conn = std::make_unique<Connection>();
  if (options.tls) {
    auto fd = tls.Connect(options.host, options.port, options.connect_timeout);
    if (!fd.ok()) return fd.status();
    conn->ctx = redisConnectFd(*fd);  // takes the socket, even on failure
  } else {
    conn->ctx = redisConnectWithTimeout(options.host.c_str(), options.port,
                                        ToTimeval(options.connect_timeout));
  }
  if (conn->ctx == nullptr) return absl::UnavailableError("redis: cannot allocate a connection");
  if (conn->ctx->err != 0) {
    return absl::UnavailableError(StrCat("redis: cannot connect to ", options.host, ":",
                                         options.port, ": ", conn->ctx->errstr));
  }
  redisSetTimeout(conn->ctx, ToTimeval(options.command_timeout));
  // Over TLS the relay's TCP connection has the keep-alive; this socket is a socketpair.
  if (!options.tls) redisEnableKeepAlive(conn->ctx);
  std::vector<Args> setup;
  if (!options.password.empty()) {
    setup.push_back(options.user.empty() ? Args{"AUTH", options.password}
                                         : Args{"AUTH", options.user, options.password});
  }
  if (options.db != 0) setup.push_back({"SELECT", std::to_string(options.db)});
  if (!options.client_name.empty()) setup.push_back({"CLIENT", "SETNAME", options.client_name});
  if (!setup.empty()) {
    bool reusable = true;
    auto replies = RoundTrip(*conn, setup, &reusable);
    if (!replies.ok()) return replies.status();
    for (const Reply& r : *replies) {
      if (r.is_error()) {
        // The reply names the problem (e.g. WRONGPASS) but never echoes the password.
        return absl::UnavailableError(StrCat("redis: connection setup failed: ", r.str()));
      }
    }
  }
  return conn;
}

absl::StatusOr<Reply> ReplyOrError(Reply reply) {
  if (reply.is_error()) return ErrorReplyToStatus(reply.str());
  return reply;
}

}  // namespace

absl::Status ErrorReplyToStatus(std::string_view error) {
  struct Mapping {
    std::string_view prefix;
    absl::StatusCode code;
    bool strip;  // our own domain codes are stripped from the message
  };
  static constexpr Mapping kMappings[] = {
      {"NOT_FOUND ", absl::StatusCode::kNotFound, true},
      {"ALREADY_EXISTS ", absl::StatusCode::kAlreadyExists, true},
      {"FAILED_PRECONDITION ", absl::StatusCode::kFailedPrecondition, true},
      {"INVALID_ARGUMENT ", absl::StatusCode::kInvalidArgument, true},
      {"ABORTED ", absl::StatusCode::kAborted, true},
      {"PERMISSION_DENIED ", absl::StatusCode::kPermissionDenied, true},
      {"RESOURCE_EXHAUSTED ", absl::StatusCode::kResourceExhausted, true},
      {"UNAUTHENTICATED ", absl::StatusCode::kUnauthenticated, true},
      {"LOADING", absl::StatusCode::kUnavailable, false},
      {"BUSY", absl::StatusCode::kUnavailable, false},
      {"MASTERDOWN", absl::StatusCode::kUnavailable, false},
      {"READONLY", absl::StatusCode::kUnavailable, false},
      {"NOAUTH", absl::StatusCode::kUnavailable, false},
      {"WRONGPASS", absl::StatusCode::kUnavailable, false},
      {"NOPERM", absl::StatusCode::kUnavailable, false},
      {"OOM", absl::StatusCode::kResourceExhausted, false},
      {"WRONGTYPE", absl::StatusCode::kFailedPrecondition, false},
  };
  // Errors raised by redis.error_reply inside scripts may arrive prefixed by Redis with
  // nothing; errors from redis.call failures carry "ERR Error running script" text.
  for (const Mapping& m : kMappings) {
    if (error.starts_with(m.prefix)) {
      std::string_view message = m.strip ? error.substr(m.prefix.size()) : error;
      return absl::Status(m.code, m.strip ? std::string(message) : StrCat("redis: ", message));
    }
  }
  return absl::InternalError(StrCat("redis: ", error));
}

absl::StatusOr<Options> ParseUrl(std::string_view url) {
  Options options;
  options.tls = url.starts_with("rediss://");
  if (!options.tls && !url.starts_with("redis://")) {
    return absl::InvalidArgumentError("redis URL must start with redis:// or rediss://");
  }
  std::string_view rest = url.substr(url.find("://") + 3);
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (const size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      options.user = std::string(userinfo.substr(0, colon));
      options.password = std::string(userinfo.substr(colon + 1));
    } else {
      options.user = std::string(userinfo);
    }
  }
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [ptr, ec] = std::from_chars(db.data(), db.data() + db.size(), options.db);
      if (ec != std::errc() || ptr != db.data() + db.size() || options.db < 0 || options.db > 15) {
        return absl::InvalidArgumentError("redis URL: database must be 0..15");
      }
    }
  }
  if (rest.empty()) return absl::InvalidArgumentError("redis URL: host missing");
  if (rest.find(':') == std::string_view::npos || (rest.front() == '[' && rest.back() == ']')) {
    options.host = std::string(rest);
  } else {
    std::string host;
    if (!SplitHostPort(rest, &host, &options.port) || options.port == 0) {
      return absl::InvalidArgumentError("redis URL: bad host:port");
    }
    options.host = host;
  }
  if (options.host.size() > 2 && options.host.front() == '[') {
    options.host = options.host.substr(1, options.host.size() - 2);
  }
  return options;
}

Script::Script(std::string source) : source_(std::move(source)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest);
  sha_ = HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

// Connections are created lazily up to pool_size and handed to one caller at a time.
class Client::Pool {
 public:
  explicit Pool(Options options)
      : options_(std::move(options)), tls_(options_.tls, options_.tls_files) {}

  const Options& options() const { return options_; }

  // Runs `fn(Connection&, bool* reusable)` on a pooled connection.
  template <typename Fn>
  auto With(Fn fn) -> decltype(fn(std::declval<Connection&>(), nullptr)) {
    auto conn = Acquire();
    if (!conn.ok()) return conn.status();
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
        const auto now = steady_clock::now();
        if (now < next_connect_) {
          return absl::UnavailableError(
              StrCat("redis: unreachable, next attempt in ",
                     std::chrono::duration_cast<milliseconds>(next_connect_ - now).count(), " ms"));
        }
        ++open_;
        lock.unlock();
        auto conn = Connect();
        lock.lock();
        if (!conn.ok()) {
          if (options_.sentinel) options_.sentinel->Invalidate();
          --open_;
          backoff_ = backoff_.count() == 0 ? options_.reconnect_backoff_min
                                           : std::min(backoff_ * 2, options_.reconnect_backoff_max);
          next_connect_ = steady_clock::now() + backoff_;
          if (!down_) {
            down_ = true;
            log::Warn("redis_down", {{"error", conn.status().message()}});
          }
          cv_.notify_one();
          return conn.status();
        }
        backoff_ = milliseconds(0);
        if (down_) {
          down_ = false;
          log::Info("redis_reconnected");
        }
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
    if (!options_.sentinel) return Open(options_, tls_);
    auto primary = options_.sentinel->Primary(options_);
    if (!primary.ok()) return primary.status();
    const uint64_t epoch = options_.sentinel->epoch();
    Options target = options_;
    target.host = primary->host;
    target.port = primary->port;
    auto conn = Open(target, tls_);
    if (conn.ok()) (*conn)->epoch = epoch;
    return conn;
  }

  const Options options_;
  const ClientTls tls_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;
  steady_clock::time_point next_connect_{};
  milliseconds backoff_{0};
  bool down_ = false;
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
  if (!replies.ok()) return replies.status();
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
  if (!replies.ok()) return replies.status();
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

absl::StatusOr<std::vector<Reply>> Client::Transaction(const std::vector<Args>& commands) {
  std::vector<Args> wrapped;
  wrapped.reserve(commands.size() + 2);
  wrapped.push_back({"MULTI"});
  wrapped.insert(wrapped.end(), commands.begin(), commands.end());
  wrapped.push_back({"EXEC"});
  auto replies = Pipeline(wrapped);
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i + 1 < replies->size(); ++i) {
    if ((*replies)[i].is_error()) return ErrorReplyToStatus((*replies)[i].str());
  }
  Reply& exec = replies->back();
  if (exec.is_error()) return ErrorReplyToStatus(exec.str());
  if (exec.is_nil()) return absl::AbortedError("redis: transaction aborted by WATCH");
  return std::move(exec.mutable_elements());
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
  Args command;
  command.reserve(3 + keys.size() + args.size());
  command.push_back("EVALSHA");
  command.push_back(script.sha());
  command.push_back(std::to_string(keys.size()));
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
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
  if (!replies.ok()) return replies.status();
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

DedicatedConnection::DedicatedConnection(Options options)
    : options_(std::move(options)),
      tls_(std::make_unique<ClientTls>(options_.tls, options_.tls_files)) {}

DedicatedConnection::~DedicatedConnection() { Close(); }

absl::Status DedicatedConnection::Connect() {
  Close();
  auto conn = Open(options_, *tls_);
  if (!conn.ok()) return conn.status();
  redisSetTimeout((*conn)->ctx, timeval{0, 0});  // a subscriber waits as long as it takes
  std::swap(ctx_, (*conn)->ctx);
  return absl::OkStatus();
}

void DedicatedConnection::Close() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
}

bool IsReadOnlyCommand(const Args& args) {
  static constexpr std::string_view kReads[] = {
      "EXISTS",        "GET",     "HEXISTS",   "HGET",
      "HGETALL",       "HLEN",    "HMGET",     "LINDEX",
      "LLEN",          "LRANGE",  "MGET",      "PING",
      "PTTL",          "SCARD",   "SCAN",      "SISMEMBER",
      "SMEMBERS",      "STRLEN",  "TTL",       "TYPE",
      "XINFO",         "XLEN",    "XPENDING",  "XRANGE",
      "XREVRANGE",     "ZCARD",   "ZCOUNT",    "ZRANGE",
      "ZRANGEBYSCORE", "ZRANK",   "ZREVRANGE", "ZREVRANGEBYSCORE",
      "ZSCORE",        "ZMSCORE", "SMISMEMBER"};
  if (args.empty()) return false;
  std::string name = args.front();
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return std::find(std::begin(kReads), std::end(kReads), name) != std::end(kReads);
}

absl::StatusOr<std::string> AsString(absl::StatusOr<Reply> reply) {
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return absl::NotFoundError("not found");
  if (reply->type() != Reply::Type::kString && reply->type() != Reply::Type::kStatus) {
    return absl::InternalError("redis: expected a string reply");
  }
  return std::move(reply->mutable_str());
}

absl::StatusOr<int64_t> AsInteger(absl::StatusOr<Reply> reply) {
  if (!reply.ok()) return reply.status();
  if (!reply->is_integer()) return absl::InternalError("redis: expected an integer reply");
  return reply->integer();
}

}  // namespace cityhub::infra::redis
