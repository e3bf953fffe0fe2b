#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cityhub/storage/notifications.pb.h"
#include "infra/redis/async_client.h"
#include "infra/redis/client.h"

// Residents' inboxes: entries, their read marks and delivery states (keys.h).
namespace cityhub::notifications {

using cityhub::storage::notifications::StoredNotification;

inline constexpr int kInboxCap = 500;

struct InboxEntry {
  StoredNotification notification;
  bool read = false;
  // channel → "state|attempts|updated_ms|reason"
  std::vector<std::pair<int, std::string>> deliveries;
};

// An inbox entry's score: its id's time, to 1/4096 of a millisecond.
std::string InboxScore(std::string_view id);

class InboxStore final {
 public:
  InboxStore(infra::redis::Client& redis, infra::redis::AsyncClient& async)
      : redis_(redis), async_(async) {}

  // Newest first, after the cursor (exclusive), at most `count`: the ids (one command, more
  // only when a burst of entries shares the cursor's time), then one pipeline of the entries,
  // their read marks and delivery states.
  absl::StatusOr<std::vector<InboxEntry>> Inbox(std::string_view account, bool unread_only,
                                                std::string_view before_id, int count);
  // Inbox through the async client, for callers that must not block. `done` runs on the
  // client's I/O thread (or at once, on a call that fails before it is sent) and must not
  // block either.
  using PageCallback = std::function<void(absl::StatusOr<std::vector<InboxEntry>>)>;
  void InboxAsync(std::string_view account, bool unread_only, std::string_view before_id, int count,
                  PageCallback done);
  // NOT_FOUND when the notification is not the account's.
  absl::StatusOr<InboxEntry> Get(std::string_view account, std::string_view id);
  // The entries `ids` of `account` in that order; ids gone or not the account's are left out.
  absl::StatusOr<std::vector<InboxEntry>> Load(std::string_view account,
                                               const std::vector<std::string>& ids);
  absl::StatusOr<int64_t> UnreadCount(std::string_view account);
  // NOT_FOUND when the notification is not the account's.
  absl::Status MarkRead(std::string_view account, std::string_view id);
  absl::Status MarkAllRead(std::string_view account);
  // The state of one channel's delivery, kept only beside a notification that still exists.
  absl::Status SetDelivery(std::string_view notification_id, int channel, int state, int attempts,
                           std::string_view reason, int64_t now_ms);

 private:
  infra::redis::Client& redis_;
  infra::redis::AsyncClient& async_;
};

}  // namespace cityhub::notifications
