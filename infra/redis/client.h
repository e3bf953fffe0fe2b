#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "infra/redis/tls_bridge.h"

struct redisContext;  // hiredis

// A Redis client over hiredis: a pool of blocking connections shared by all threads, with
// connect and command timeouts, reconnection with backoff after Redis restarts, pipelining,
// and Lua scripts by SHA. Nothing here throws or crashes on a Redis problem:
//
//   - Redis unreachable, connection lost, pool exhausted → UNAVAILABLE
//   - a command that takes longer than the timeout        → DEADLINE_EXCEEDED
//   - an error reply                                      → see ErrorReplyToStatus
namespace cityhub::infra {
class Counter;  // infra/metrics.h
class Histogram;
class MetricsRegistry;
}  // namespace cityhub::infra

namespace cityhub::infra::redis {

class Sentinel;  // infra/redis/sentinel.h

// One reply, copied out of hiredis so it owns its data.
class Reply final {
 public:
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };

  Reply() = default;
  static Reply Nil() { return Reply(); }
  static Reply String(std::string s) { return Reply(Type::kString, std::move(s)); }
  static Reply Status(std::string s) { return Reply(Type::kStatus, std::move(s)); }
  static Reply Error(std::string s) { return Reply(Type::kError, std::move(s)); }
  static Reply Integer(int64_t v) {
    Reply r(Type::kInteger, {});
    r.integer_ = v;
    return r;
  }
  static Reply Array(std::vector<Reply> elements) {
    Reply r(Type::kArray, {});
    r.elements_ = std::move(elements);
    return r;
  }

  Type type() const { return type_; }
  bool is_nil() const { return type_ == Type::kNil; }
  bool is_error() const { return type_ == Type::kError; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_integer() const { return type_ == Type::kInteger; }
  // Text of string, status and error replies.
  const std::string& str() const { return str_; }
  std::string& mutable_str() { return str_; }
  int64_t integer() const { return integer_; }
  const std::vector<Reply>& elements() const { return elements_; }
  std::vector<Reply>& mutable_elements() { return elements_; }

 private:
  Reply(Type type, std::string s) : type_(type), str_(std::move(s)) {}

  Type type_ = Type::kNil;
  std::string str_;
  int64_t integer_ = 0;
  std::vector<Reply> elements_;
};

// One command: its arguments, binary-safe.
using Args = std::vector<std::string>;

struct Options {
  std::string host = "127.0.0.1";
  int port = 6379;
  // rediss://: TLS to Redis, the certificate verified against tls_files.ca_pem for `host`.
  bool tls = false;
  TlsFiles tls_files;
  // ACL user (Redis 6+); empty uses "default" when a password is set.
  std::string user;
  std::string password;
  int db = 0;
  // Name shown by CLIENT LIST.
  std::string client_name;
  // Most connections open at once. Callers beyond it wait up to pool_wait_timeout.
  int pool_size = 16;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{1000};
  std::chrono::milliseconds pool_wait_timeout{1000};
  // After a failed connect, new connects wait this long, doubling up to the maximum.
  std::chrono::milliseconds reconnect_backoff_min{25};
  std::chrono::milliseconds reconnect_backoff_max{1000};
  // When set, host and port are ignored: new connections go to the primary the sentinels name,
  // and connection errors and READONLY replies make the client ask them again (failover).
  std::shared_ptr<Sentinel> sentinel;
  // For Client::EvalDurable: WAIT for this many replicas (0: no WAIT), at most wait_timeout
  // (keep it below command_timeout); writes confirmed by fewer are logged and counted here.
  int wait_replicas = 0;
  std::chrono::milliseconds wait_timeout{100};
  Counter* wait_short = nullptr;
  // Observes, in seconds, how long each Client call waited for a pooled connection (including
  // opening one). See ExportPoolWait.
  Histogram* pool_wait = nullptr;
};

// Registers redis_pool_wait_seconds{client} in `metrics` and points options.pool_wait at the
// series for options.client_name ("default" when unnamed): one series per configured client,
// so the label stays bounded.
void ExportPoolWait(MetricsRegistry& metrics, Options& options);

// Parses redis[s]://[user[:password]@]host[:port][/db] (rediss: TLS). The password is better
// given from a file (Options::password), since URLs end up in process listings.
absl::StatusOr<Options> ParseUrl(std::string_view url);

// A Lua script, run by EVALSHA; reloaded automatically when Redis answers NOSCRIPT (after a
// restart or SCRIPT FLUSH).
class Script final {
 public:
  explicit Script(std::string source);
  const std::string& source() const { return source_; }
  // Lower-case hex SHA-1 of the source, as Redis computes it.
  const std::string& sha() const { return sha_; }

 private:
  std::string source_;
  std::string sha_;
};

// Maps an error reply to a status. Our Lua scripts signal domain errors with a leading code
// word, which maps one-to-one: "NOT_FOUND ...", "ALREADY_EXISTS ...", "FAILED_PRECONDITION ...",
// "INVALID_ARGUMENT ...", "ABORTED ...", "PERMISSION_DENIED ...", "RESOURCE_EXHAUSTED ...".
// Redis's own: LOADING/BUSY/MASTERDOWN/READONLY/NOAUTH/WRONGPASS → UNAVAILABLE, OOM →
// RESOURCE_EXHAUSTED, WRONGTYPE → FAILED_PRECONDITION, anything else → INTERNAL.
absl::Status ErrorReplyToStatus(std::string_view error);
// `reply`, or its error as a status (ErrorReplyToStatus).
absl::StatusOr<Reply> ReplyOrError(Reply reply);
// EVALSHA of `script` with `keys` and `args`: the command Client::Eval and EvalAsync send.
Args EvalShaCommand(const Script& script, const Args& keys, const Args& args);

class Client final {
 public:
  explicit Client(Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Runs one command. An error reply becomes a status (see ErrorReplyToStatus).
  absl::StatusOr<Reply> Command(const Args& args);
  absl::StatusOr<Reply> Command(std::initializer_list<std::string_view> args);

  // Reads (GET, HGETALL, ...; see IsReadOnlyCommand) are retried once on a fresh connection
  // when their connection turns out dead or demoted (UNAVAILABLE), as after a failover. Writes
  // are not: their effect may have happened. A caller whose write is safe to repeat (SET to a
  // fixed value, DEL, SADD, ...) says so here to get the same retry.
  absl::StatusOr<Reply> IdempotentCommand(const Args& args);

  // Like Command, with a socket timeout of `timeout` instead of the default, for blocking
  // commands (XREADGROUP BLOCK, BLPOP): give it the BLOCK time plus a margin.
  absl::StatusOr<Reply> BlockingCommand(const Args& args, std::chrono::milliseconds timeout);

  // Sends every command, then reads every reply: one round trip. Error replies stay in the
  // result (one element per command); only transport problems fail the whole call.
  absl::StatusOr<std::vector<Reply>> Pipeline(const std::vector<Args>& commands);

  // Writes that go together are a redis::Transaction (transaction.h): the one way to write
  // several keys (and events) as a unit.

  // EVALSHA, loading the script first if Redis does not know it. Error replies become statuses.
  absl::StatusOr<Reply> Eval(const Script& script, const Args& keys, const Args& args);

  // Eval for a write that must survive a failover (a request's creation and its event): with
  // Options::wait_replicas > 0, `WAIT wait_replicas wait_timeout` follows on the same
  // connection, so that the caller acknowledges only what a replica has. When fewer replicas
  // confirm in time (the replica is down or lagging) the write still succeeds, with a warning
  // and Options::wait_short counted: refusing it would turn the loss of one replica into an
  // outage of the write path (Redis's min-replicas-to-write is there for those who want that).
  absl::StatusOr<Reply> EvalDurable(const Script& script, const Args& keys, const Args& args);

  // Number of open connections (idle and in use), for tests and metrics.
  int open_connections() const;

 private:
  class Pool;
  absl::StatusOr<Reply> EvalThen(const Script& script, const Args& keys, const Args& args,
                                 std::optional<Args> then);
  std::unique_ptr<Pool> pool_;
};

// One connection outside any pool, for a reader that blocks on it (the Pub/Sub subscriber):
// opened as Client's are (TLS for rediss://, AUTH, SELECT, CLIENT SETNAME), without a read
// timeout. Not thread-safe, except that another thread may shutdown() its socket.
class DedicatedConnection final {
 public:
  explicit DedicatedConnection(Options options);
  ~DedicatedConnection();
  DedicatedConnection(const DedicatedConnection&) = delete;
  DedicatedConnection& operator=(const DedicatedConnection&) = delete;

  // Closes the previous connection, opens a new one. UNAVAILABLE as Client's commands.
  absl::Status Connect();
  // The hiredis context of the open connection (null when none), until Connect or Close.
  redisContext* context() const { return ctx_; }
  void Close();

 private:
  Options options_;
  std::unique_ptr<ClientTls> tls_;
  redisContext* ctx_ = nullptr;
};

// True for commands that only read (GET, MGET, HGET, HGETALL, EXISTS, TTL, XRANGE, ZRANGE...).
bool IsReadOnlyCommand(const Args& args);

// Convenience readers for common reply shapes.
// String or nil (nil → NOT_FOUND).
absl::StatusOr<std::string> AsString(absl::StatusOr<Reply> reply);
absl::StatusOr<int64_t> AsInteger(absl::StatusOr<Reply> reply);

}  // namespace cityhub::infra::redis
