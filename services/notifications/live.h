#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "cityhub/notifications/v1/notifications.pb.h"
#include "infra/clock.h"
#include "infra/redis/client.h"
#include "services/notifications/feed_store.h"

// The live stream: residents' open StreamNotifications calls get new inbox entries as they
// happen. Correctness comes from the account's feed (entries in the order they were written):
// a stream remembers the feed position of the last entry it sent and always reads what was
// written after it, so nothing is missed or sent twice, also across reconnects (the client
// resumes with its last id, which the feed turns back into a position). Ids are not the order:
// an id carries its event's time, and a late or retried event writes an older id later. Redis
// Pub/Sub on keys::kLive only says "look now" (any replica may have written the entry); a
// periodic look covers lost hints.
namespace cityhub::notifications {

class LiveHub;

// Initial metadata of a stream that passed its checks and has its place ("open"): the gateway
// opens its event stream only then, and answers a refusal (sent without initial metadata) as an
// ordinary error.
inline constexpr char kStreamOpenKey[] = "x-cityhub-stream";

// A stream's admission, decided on a hub worker (authorization may block): the account, or the
// status the call is refused with (then sent without initial metadata).
struct Admission {
  grpc::Status refusal;
  std::string account;
};
using Admit = std::function<Admission()>;

// Fills an API Notification from an inbox entry.
void ToApi(const InboxEntry& entry, cityhub::notifications::v1::Notification* out);
// The same, moving the entry's texts into `out` instead of copying them.
void ToApi(InboxEntry&& entry, cityhub::notifications::v1::Notification* out);

class LiveStream final : public grpc::ServerWriteReactor<cityhub::notifications::v1::Notification> {
 public:
  // Nothing here blocks (it runs on a gRPC callback thread): the stream is admitted, placed in
  // the feed and opened by its first Fetch, on a hub worker.
  LiveStream(LiveHub& hub, grpc::CallbackServerContext* ctx, Admit admit, std::string after_id);

  // The first time: admits the stream, finds its place in the feed from `after_id` (empty:
  // the feed's end, "from now on") and only then sends the initial metadata that tells the
  // client it has its place. Then and later: reads what came after the last entry sent and
  // queues it. On a hub worker, never two at once for one stream.
  void Fetch();
  const std::string& account() const { return account_; }

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void WriteNext();  // with mu_ held
  // The first part of the first Fetch; false when the stream was refused or cancelled.
  bool Open();

  friend class LiveHub;
  LiveHub& hub_;
  grpc::CallbackServerContext* const ctx_;
  Admit admit_;
  std::string account_;         // set once admitted, under the hub's lock
  const std::string after_id_;  // where the client said it stands; resolved by the first Fetch
  std::mutex mu_;
  int64_t position_ = -1;   // feed position of the last entry queued; -1: not resolved yet
  bool admitted_ = false;   // only the (one) fetching worker reads and writes it
  bool opening_ = true;     // admission runs: a cancellation waits for it to end
  bool cancelled_ = false;  // cancelled while opening
  bool metadata_sent_ = false;
  std::deque<cityhub::notifications::v1::Notification> queue_;
  bool writing_ = false;
  bool finished_ = false;
};

class LiveHub final {
 public:
  LiveHub(FeedStore& feed, infra::redis::Options subscriber, const infra::Clock& clock,
          int workers = 2);
  ~LiveHub();

  void Start();
  void Stop();

  // A stream resuming after `after_id` (empty: from now on, that is from the feed's end when it
  // opens), for the account `admit` names. Never blocks.
  LiveStream* Open(grpc::CallbackServerContext* ctx, Admit admit, const std::string& after_id);
  // Asks every stream of `account` (or all, when empty) to look for new entries.
  void Wake(const std::string& account);

  FeedStore& feed() { return feed_; }
  const infra::Clock& clock() const { return clock_; }
  size_t streams() const;
  // How many streams so far have taken their position in the feed (tests wait on it).
  size_t positioned() const { return positioned_.load(); }

 private:
  friend class LiveStream;
  // Registers an admitted stream under its account.
  void Add(LiveStream* s, std::string account);
  // Takes the stream out; false when a worker is fetching for it right now, which then deletes
  // it when that ends (OnDone must not wait).
  bool Remove(LiveStream* s);
  void Schedule(LiveStream* s);
  void QueueLocked(LiveStream* s);  // with mu_ held
  void Subscribe();
  void Work();

  FeedStore& feed_;
  infra::redis::Options subscriber_options_;
  const infra::Clock& clock_;
  int workers_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::set<LiveStream*>> by_account_;
  std::deque<LiveStream*> pending_;
  std::set<LiveStream*> queued_;
  std::set<LiveStream*> busy_;
  std::set<LiveStream*> again_;    // woken while busy
  std::set<LiveStream*> opening_;  // not admitted yet
  std::set<LiveStream*> doomed_;   // done while busy: deleted by the worker
  std::atomic<bool> stop_{false};
  std::atomic<size_t> positioned_{0};
  std::atomic<int> subscriber_fd_{-1};
  std::vector<std::thread> threads_;
};

}  // namespace cityhub::notifications
