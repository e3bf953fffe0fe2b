#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/redis/client.h"

namespace cityhub::infra::redis {

// A non-blocking Redis client for hot read paths: calls from many threads are put onto a few
// shared connections and their replies read back in order by one I/O thread per connection,
// so concurrent requests pipeline on the wire and no caller thread waits for Redis (a gRPC
// callback handler returns at once and finishes from the reply callback). A caller writes
// what the socket takes without waiting; the rest (Redis reading slowly, a full socket
// buffer) is written by the connection's I/O thread.
//
// Commands must not block on the server side (no BLPOP, XREADGROUP BLOCK, ...): they would
// stall every other call on the connection. Errors arrive like Client's: transport problems
// fail the whole call; error replies stay in the result. Every call is answered within
// command_timeout (plus a few ms): DEADLINE_EXCEEDED when its replies are late (a connection
// whose oldest call is that late is closed and opened again), UNAVAILABLE when no connection
// opened in that time. Redis restarts are survived by reconnecting with backoff, on the
// connections' own threads: while a connect is under way a call waits for it; while the last
// connect has failed, calls fail at once with UNAVAILABLE. UNAVAILABLE at once too when more
// than 10 000 calls wait for a connect, or 32 MiB of commands for the socket.
class AsyncClient final {
 public:
  // Runs on a connection's I/O thread (or at once on the calling thread when the call fails
  // before anything was sent). It must not block.
  using Callback = std::function<void(absl::StatusOr<std::vector<Reply>>)>;

  explicit AsyncClient(Options options, int connections = 2);
  // Fails calls still in flight with UNAVAILABLE and joins the I/O threads; connect attempts
  // in progress are cut short (a sentinel lookup or a name being resolved runs on until its
  // own timeout). May run inside one of the client's callbacks: that connection's thread then
  // finishes after the callback returns, failing its remaining calls there.
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  // Sends `commands` together; `done` receives one reply per command.
  void Pipeline(std::vector<Args> commands, Callback done);

 private:
  class Connection;
  // rediss://: shared by the connections (which may outlive the client, see the destructor).
  std::shared_ptr<const ClientTls> tls_;
  std::vector<std::shared_ptr<Connection>> connections_;
  std::atomic<size_t> next_{0};
};

}  // namespace cityhub::infra::redis
