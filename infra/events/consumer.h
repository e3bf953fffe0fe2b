#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "infra/clock.h"
#include "infra/metrics.h"
#include "infra/redis/client.h"

namespace cityhub::infra::events {

struct StreamEntry;

struct ConsumerOptions {
  std::string stream;    // e.g. kRequestsStream (infra/events/streams.h)
  std::string group;     // the consuming service, e.g. "notifications"
  std::string consumer;  // unique per replica (host name and pid)
  int batch = 100;
  std::chrono::milliseconds block{1000};
  // An entry whose handler failed this many times goes to the dead-letter stream.
  int max_deliveries = 5;
  // Where entries go after max_deliveries, with the failure reason (required: a key of the
  // consuming service, declared in its keys.h).
  std::string dead_letter_stream;
  // Pending entries idle this long are claimed again (from a dead replica, or retried here).
  std::chrono::milliseconds claim_idle{std::chrono::seconds(30)};
  std::chrono::milliseconds claim_every{std::chrono::seconds(5)};
  // Trimming: entries older than `retention` that every group has acknowledged are removed.
  std::chrono::milliseconds retention{std::chrono::hours(24)};
  std::chrono::milliseconds trim_every{std::chrono::seconds(60)};
  // Entries of a batch are handled on this many threads side by side, entries with the same
  // order_key always on the same one and in stream order (1: all in order on one thread).
  // A handler that waits for Redis or another service spends its time waiting; lanes overlap
  // those waits.
  int lanes = 1;
  std::function<std::string(const StreamEntry&)> order_key;
};

struct StreamEntry {
  std::string id;
  std::string type;
  // The serialized cityhub.events.v1.Event.
  std::string payload;
  int64_t deliveries = 1;
};

// OK: done (acknowledged). An error: the entry stays pending and is retried after claim_idle,
// until max_deliveries, then dead-lettered with the error as reason.
using Handler = std::function<absl::Status(const StreamEntry&)>;

// Reads a Redis Stream through a consumer group, at least once:
//   - at start it creates the group if needed (from the stream's beginning, so a service
//     deployed after its producers still sees every event) and drains its own pending entries;
//   - then it reads new entries, calls the handler for each in order and XACKs the successes;
//   - every claim_every it XAUTOCLAIMs entries left pending by dead replicas (or its own
//     failures), and dead-letters those delivered max_deliveries times;
//   - every trim_every it trims the stream with MINID, never past the oldest entry still
//     pending or not yet delivered in any group, and never within `retention`.
// Handlers must be idempotent by event id: a crash between effect and XACK redelivers.
class Consumer final {
 public:
  Consumer(redis::Client& redis, ConsumerOptions options, Handler handler, MetricsRegistry& metrics,
           const Clock& clock);
  ~Consumer();

  // Runs the loop on its own thread until Stop() or destruction.
  void Start();
  void Stop();

  // One pass of the loop (create group, drain pending, read once, maybe claim and trim), for
  // tests. Returns the number of entries handled.
  int RunOnce();

  // Moves the stream's MINID trim point now (normally periodic).
  absl::Status Trim();
  // Claims and handles idle pending entries now (normally periodic).
  int Claim();

 private:
  bool EnsureGroup();
  int Handle(const redis::Reply& entries, bool count_deliveries);
  void DeadLetter(const StreamEntry& entry, std::string_view reason);

  redis::Client& redis_;
  ConsumerOptions options_;
  Handler handler_;
  const Clock& clock_;
  Counter& handled_;
  Counter& failed_;
  Counter& dead_;
  Gauge& lag_;
  bool group_ready_ = false;
  bool drained_ = false;
  std::chrono::steady_clock::time_point next_claim_{};
  std::chrono::steady_clock::time_point next_trim_{};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// `handler`, observing into `lag` each entry's lag in seconds: from the entry's arrival in its
// stream (the time in its id) to the end of its handling, handled or failed. A service's
// event-lag histogram (LagBuckets) is fed this way by each of its consumers.
Handler ObservingLag(Handler handler, Histogram& lag, const Clock& clock);

// "<host>-<listen address>": unique per running replica, and the same again when that replica
// restarts, so that it drains its own pending entries first instead of leaving them to be
// claimed after claim_idle while newer entries overtake them.
std::string DefaultConsumerName(std::string_view listen_address);

}  // namespace cityhub::infra::events
