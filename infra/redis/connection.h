#pragma once

#include <sys/time.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "infra/redis/client.h"
#include "infra/redis/interrupt.h"

struct redisReply;  // hiredis

// The connection core both clients share (Client's pooled blocking connections and
// AsyncClient's pipelined ones): where to connect, how a socket is opened and set up, how
// reconnects are paced, and how a hiredis reply becomes a Reply. Internal to infra/redis.
namespace cityhub::infra::redis {

// The one conversion of a hiredis reply (never null) into a Reply that owns its data.
Reply ToReply(const redisReply* reply);

// A duration as hiredis's and the socket options' timeval.
timeval ToTimeval(std::chrono::milliseconds d);

// Appends the RESP encoding of one command to `wire`.
void AppendCommand(const Args& args, std::string* wire);

// Writes all of `data` to a blocking socket; false when the socket fails or times out.
bool WriteAll(int fd, std::string_view data);

// Where a new connection goes: the configured server, or the primary the sentinels name now
// (with the sentinels' epoch, so connections to a former primary can be recognised).
struct Target {
  std::string host;
  int port = 0;
  uint64_t epoch = 0;
};
absl::StatusOr<Target> ChooseTarget(const Options& options);

// Opens a blocking socket to `target` within connect_timeout (for rediss://, through `tls`),
// with TCP_NODELAY and a send timeout of command_timeout, and sets it up: AUTH (when a
// password is set), SELECT (db != 0) and CLIENT SETNAME (when client_name is set), answered
// within command_timeout. The caller owns the socket. UNAVAILABLE when anything fails (an error
// reply names the problem, e.g. WRONGPASS, and never echoes the password). `interrupt` (may be
// null) ends the attempt at once while it waits for the TCP or TLS connect or the handshake;
// name resolution is not interrupted (it is bounded by the resolver's own timeouts).
absl::StatusOr<int> OpenSocket(const Options& options, const ClientTls& tls, const Target& target,
                               Interrupt* interrupt);

// One question on a short-lived plain TCP connection (sentinels, ROLE checks): opens and sets
// up a socket as OpenSocket does (options.tls is ignored), sends `command`, returns its reply
// (an error reply as a Reply), closes. UNAVAILABLE when the server cannot be reached or does
// not answer within command_timeout.
absl::StatusOr<Reply> AskOnce(const Options& options, const Target& target, const Args& command);

// Paces reconnects after failures: reconnect_backoff_min, doubling up to reconnect_backoff_max.
// Logs the first failure ("redis_down") and the recovery ("redis_reconnected") once each, and
// makes the sentinels be asked again after a failure. Not thread-safe: the owner locks.
class Backoff final {
 public:
  explicit Backoff(const Options& options);
  // OK when a connect may be tried now, else UNAVAILABLE saying when.
  absl::Status Ready() const;
  // When Ready() turns OK.
  std::chrono::steady_clock::time_point NextAttempt() const { return next_; }
  void Failed(const absl::Status& why);
  void Succeeded();

 private:
  const Options& options_;
  std::chrono::steady_clock::time_point next_{};
  std::chrono::milliseconds backoff_{0};
  bool down_ = false;
};

}  // namespace cityhub::infra::redis
