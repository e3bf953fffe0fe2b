#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

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
// Pub/Sub on notifications:live only says "look now" (any replica may have written the entry); a
// periodic look covers lost hints.
namespace cityhub::notifications {

class LiveHub;

// Initial metadata of a stream that passed its checks and has its place ("open"): the gateway
// opens its event stream only then, and answers a refusal (sent without initial metadata) as an
// ordinary error.
inline constexpr char kStreamOpenKey[] = "x-cityhub-stream";

// Fills an API Notification from an inbox entry.
void ToApi(const InboxEntry& entry, cityhub::notifications::v1::Notification* out);

class LiveStream final : public grpc::ServerWriteReactor<cityhub::notifications::v1::Notification> {
 public:
  // `position`: where in the feed the stream starts, or -1 to find it from `after_id` first.
  LiveStream(LiveHub& hub, std::string account, std::string after_id, int64_t position);

  // Reads what came after the last id sent and queues it (on a hub worker).
  void Fetch();
  const std::string& account() const { return account_; }

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void WriteNext();  // with mu_ held

  LiveHub& hub_;
  const std::string account_;
  const std::string after_id_;  // where the client said it stands; resolved by the first Fetch
  std::mutex mu_;
  int64_t position_ = -1;  // feed position of the last entry queued; -1: not resolved yet
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

  // A stream for `account` resuming after `after_id` (empty: from now on, that is from the
  // feed's end at this call).
  LiveStream* Open(const std::string& account, const std::string& after_id);
  // Asks every stream of `account` (or all, when empty) to look for new entries.
  void Wake(const std::string& account);

  FeedStore& feed() { return feed_; }
  const infra::Clock& clock() const { return clock_; }
  size_t streams() const;
  // How many streams so far have taken their position in the feed (tests wait on it).
  size_t positioned() const { return positioned_.load(); }

 private:
  friend class LiveStream;
  void Add(LiveStream* s);
  void Remove(LiveStream* s);
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
  std::set<LiveStream*> again_;  // woken while busy
  std::atomic<bool> stop_{false};
  std::atomic<size_t> positioned_{0};
  std::atomic<int> subscriber_fd_{-1};
  std::vector<std::thread> threads_;
};

}  // namespace cityhub::notifications
