#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/redis/client.h"

namespace cityhub::infra::redis {

class AsyncClient;  // infra/redis/async_client.h

// One atomic unit of writes (an outbox): guards, then events appended to streams, then
// operations, all run by one Lua script, so either every guard holds and everything is written
// (the events with the data change they describe), or nothing is. No WATCH and no retry loop:
// Redis runs the script without interleaving other clients' commands.
//
//   Transaction tx;  // keys from the service's keys.h (here services/requests/keys.h)
//   tx.RequireNil({"GET", keys::IdemPrefix(scope) + key_hash}, "ALREADY_EXISTS key used")
//       .Then({"SET", keys::Request(id), value})
//       .Then({"ZADD", keys::ByTime(jurisdiction), score, id});
//   events::Append(tx, kEventsStream, event);  // infra/events/events.h: XADD type ... event ...
//   absl::StatusOr<std::vector<Reply>> replies = tx.Run(redis);
//
// Guards are read commands whose reply is compared; the first that fails ends the script
// with its error text, which becomes a status by its leading code word (ErrorReplyToStatus:
// "NOT_FOUND ...", "ALREADY_EXISTS ...", "ABORTED ...", "FAILED_PRECONDITION ..."). An error
// from an operation itself (e.g. WRONGTYPE) stops the script there and fails the call; Redis
// does not roll back what ran before it, so guards should rule such cases out.
//
// Skip guards (SkipIfSet, SkipIfEqual) end the unit without an error and without writing:
// an idempotency key already used, an event already handled. Apply() tells which guard
// skipped and what it read (e.g. the id the idempotency key stands for).
class Transaction final {
 public:
  // What a run did: every operation and event was written (`applied`, with their replies), or
  // the skip guard at position `skipped_by` among all guards (0-based, in the order given) held
  // and nothing was written; `skip_reply` is that guard's reply.
  struct Outcome {
    bool applied = false;
    int skipped_by = -1;
    Reply skip_reply;
    std::vector<Reply> replies;
  };

  // The guard's command replies nil (a missing key or field).
  Transaction& RequireNil(Args read, std::string error);
  // The guard's command replies anything but nil.
  Transaction& RequireNotNil(Args read, std::string error);
  // The reply, as text (integers in decimal), equals `value`.
  Transaction& RequireEqual(Args read, std::string value, std::string error);
  // The reply is an integer (or a number as text) below `limit`.
  Transaction& RequireLess(Args read, int64_t limit, std::string error);
  // Ends the unit unwritten, without error, when the guard's command replies anything but nil.
  Transaction& SkipIfSet(Args read);
  // Ends the unit unwritten, without error, when the reply as text equals `value`.
  Transaction& SkipIfEqual(Args read, std::string value);

  // An operation, run after every guard has held, in the order given.
  Transaction& Then(Args op);
  // An operation whose last argument is `prefix` followed by the integer reply of the operation
  // at position `earlier` (0-based, one given before) plus `offset`: an index entry naming the
  // position an RPUSH gave: ThenWithReply({"SADD", keys::CommentsBy(author)}, 0,
  // request_id + ":", -1) after Then({"RPUSH", keys::Comments(request_id), comment}). An
  // `earlier` that names no operation given before makes every run of the unit fail with
  // INVALID_ARGUMENT, with nothing written.
  Transaction& ThenWithReply(Args op, int earlier, std::string prefix, int64_t offset);
  // An XADD (or any other append to an outbox stream). Appends run after the guards and before
  // the operations, so that a stream that refuses the entry (a key of another type) fails the
  // unit with nothing written; their replies still come after the operations'.
  Transaction& Append(Args xadd);

  // With Options::wait_replicas, acknowledged only once replicas have it (Client::EvalDurable).
  Transaction& Durable();

  bool empty() const { return ops_.empty() && events_.empty(); }

  // Runs the unit. The outcome's replies are one per operation, then one per appended event
  // (its stream entry id), in the order given. Errors: a failed Require guard's status;
  // INVALID_ARGUMENT for a unit built wrong (see ThenWithReply), before anything is sent;
  // UNAVAILABLE and DEADLINE_EXCEEDED as Client's commands (the writes may or may not have
  // happened).
  absl::StatusOr<Outcome> Apply(Client& redis) const;
  // Apply() for units without skip guards: just the replies (none when a skip guard held).
  absl::StatusOr<std::vector<Reply>> Run(Client& redis) const;

  // The same through the async client (EVAL with the script's text, one round trip); `done`
  // runs on its I/O thread. Durable() is ignored here.
  using OutcomeCallback = std::function<void(absl::StatusOr<Outcome>)>;
  void Apply(AsyncClient& redis, OutcomeCallback done) const;
  using Callback = std::function<void(absl::StatusOr<std::vector<Reply>>)>;
  void Run(AsyncClient& redis, Callback done) const;

  // The script and its ARGV, for callers that need to run it some other way.
  static const Script& script();
  Args ScriptArgs() const;

  // For the writes that stay scripts of their own (they compute from what they read; the list
  // and the reasons are in docs/design.md), so that every event is appended by one mechanism:
  // EncodeEvents() writes the appends (count, then n, command... each) to ARGV, and the Lua
  // fragment kAppendEventsLua defines `append_events(at)`, which runs those starting at
  // ARGV[at] and returns the index after them and their replies. Transaction's own script runs
  // the same fragment. Call it after the script's checks and before its first other write.
  static const char kAppendEventsLua[];
  static void EncodeEvents(const std::vector<Args>& appends, Args* argv);

 private:
  struct Guard {
    std::string kind;
    std::string error;
    std::string want;
    Args read;
  };

  std::vector<Guard> guards_;
  struct Op {
    Args command;
    int earlier = -1;  // ThenWithReply's operation, or none
    int64_t offset = 0;
    std::string prefix;
  };

  std::vector<Op> ops_;
  std::vector<Args> events_;
  bool durable_ = false;
  absl::Status misbuilt_;  // the first mistake in building the unit; every run fails with it
};

}  // namespace cityhub::infra::redis
