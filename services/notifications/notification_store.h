#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cityhub/storage/notifications.pb.h"
#include "infra/redis/client.h"

// The notifications service in Redis (this file and delivery_store speak Redis here).
//
//   notifications:n:{id}                 STRING StoredNotification
//   notifications:d:{id}                 HASH   channel → "state|attempts|updated_ms|reason"
//   notifications:inbox:{account}        ZSET   id → UlidSortScore(id), newest kept (500)
//   notifications:feed:{account}         ZSET   id → write sequence (1, 2, …): the live stream's
//   order notifications:unread:{account}       SET    unread ids notifications:seen:{event id}
//   STRING an event already handled (7 days) notifications:gone:{digest}          STRING a deleted
//   account (SHA-256 of its id; 30 days):
//                                               late events add nothing for it
//   notifications:prefs:{account}        STRING StoredPreferences
//   notifications:devices:{account}      HASH   device id → StoredDevice
//   notifications:followers:{request}    SET    accounts following a request
//   notifications:following:{account}    SET    requests an account follows
//   notifications:department:{dept}      SET    operators of a department
//   notifications:departments_of:{acct}  SET    an operator's departments
//   notifications:webhook:{id}           STRING StoredWebhook; notifications:webhooks SET ids
//   notifications:jobs / job:{id} / jobs_of:{account}   the delivery queue (delivery_store.cc)
//   notifications:live                   PUB/SUB: account ids with new inbox entries
namespace cityhub::notifications {

using cityhub::storage::notifications::StoredDevice;
using cityhub::storage::notifications::StoredJob;
using cityhub::storage::notifications::StoredNotification;
using cityhub::storage::notifications::StoredPreferences;
using cityhub::storage::notifications::StoredWebhook;

inline constexpr char kLiveChannel[] = "notifications:live";
inline constexpr int kInboxCap = 500;

// A delivery to schedule.
struct ScheduledJob {
  StoredJob job;
  int64_t due_ms = 0;
  // DELIVERY_STATE_PENDING, or DEFERRED when quiet hours hold it back.
  int state = 1;
};

// The writes one event causes, applied together and only once per event id.
struct EventEffects {
  std::vector<StoredNotification> inbox;  // new inbox entries
  std::vector<ScheduledJob> jobs;
  // Bookkeeping (follows), from FollowCommand.
  std::vector<infra::redis::Args> extra;
};

struct InboxEntry {
  StoredNotification notification;
  bool read = false;
  // channel → "state|attempts|updated_ms|reason"
  std::vector<std::pair<int, std::string>> deliveries;
};

// Entries of an account's feed after a position, in the order they were written.
struct FeedPage {
  std::vector<InboxEntry> entries;
  int64_t last = 0;   // the position of the last entry read (or the position asked for)
  bool full = false;  // the page was full: there may be more
};

// Who an event may concern: followers or operators, and the webhook subscriptions.
struct Audience {
  std::vector<std::string> accounts;
  std::vector<std::string> webhook_ids;
};

struct RecipientState {
  std::optional<StoredPreferences> preferences;  // nullopt: never set
  std::vector<StoredDevice> devices;
};

// What fanning an event out needs to know, read in one round trip.
struct FanOutDetails {
  std::map<std::string, RecipientState> recipients;
  std::vector<StoredWebhook> webhooks;
};

class NotificationStore final {
 public:
  explicit NotificationStore(infra::redis::Client& redis);

  // Applies `effects` unless `event_id` was handled before (then returns false), and trims the
  // inboxes it wrote to, in one script.
  absl::StatusOr<bool> ApplyOnce(std::string_view event_id, const EventEffects& effects);

  // The followers of a request and/or the operators of a department (either may be empty), and
  // every webhook id: one round trip.
  absl::StatusOr<Audience> AudienceOf(std::string_view followers_of, std::string_view operators_of);
  // Preferences and devices of `accounts` and the webhooks `webhook_ids`: one round trip.
  absl::StatusOr<FanOutDetails> DetailsOf(const std::vector<std::string>& accounts,
                                          const std::vector<std::string>& webhook_ids);

  // Newest first, after the cursor (exclusive), at most `count`.
  absl::StatusOr<std::vector<InboxEntry>> Inbox(std::string_view account, bool unread_only,
                                                std::string_view before_id, int count);
  // The live stream reads the feed: entries in the order they were written, which is not the
  // order of their ids (an id carries its event's time; a late or retried event writes an older
  // id after a newer one). FeedPosition turns the last id a client saw into a feed position:
  // empty means "now"; an id the feed no longer holds means just before the first greater id.
  absl::StatusOr<int64_t> FeedPosition(std::string_view account, std::string_view after_id);
  // At most `count` entries written after position `after`.
  absl::StatusOr<FeedPage> FeedAfter(std::string_view account, int64_t after, int count);
  absl::StatusOr<InboxEntry> Get(std::string_view account, std::string_view id);
  absl::StatusOr<int64_t> UnreadCount(std::string_view account);
  // NOT_FOUND when the notification is not the account's.
  absl::Status MarkRead(std::string_view account, std::string_view id);
  absl::Status MarkAllRead(std::string_view account);
  absl::Status SetDelivery(std::string_view notification_id, int channel, int state, int attempts,
                           std::string_view reason, int64_t now_ms);

  // Preferences; nullopt when the account never set any.
  absl::StatusOr<std::optional<StoredPreferences>> Preferences(std::string_view account);
  absl::Status SetPreferences(std::string_view account, const StoredPreferences& prefs);

  static constexpr int kMaxDevices = 20;
  // RESOURCE_EXHAUSTED beyond kMaxDevices; a token registered again replaces its old entry.
  absl::Status AddDevice(std::string_view account, const StoredDevice& device);
  absl::StatusOr<std::vector<StoredDevice>> Devices(std::string_view account);
  // NOT_FOUND when absent.
  absl::Status RemoveDevice(std::string_view account, std::string_view device_id);
  absl::StatusOr<bool> HasDevice(std::string_view account, std::string_view device_id);

  absl::StatusOr<std::vector<std::string>> Followers(std::string_view request_id);
  absl::StatusOr<std::vector<std::string>> Operators(std::string_view department);

  absl::Status AddWebhook(const StoredWebhook& webhook);
  absl::StatusOr<std::vector<StoredWebhook>> Webhooks();
  absl::StatusOr<StoredWebhook> Webhook(std::string_view id);
  absl::Status RemoveWebhook(std::string_view id);

  // Erases everything held about the account (AccountDeleted), and marks it gone so that
  // events handled later (follows, roles, notifications) add nothing for it.
  absl::Status ForgetAccount(std::string_view account);

  // Makes `departments` the operator's departments (empty: none).
  absl::Status SetDepartments(std::string_view account,
                              const std::vector<std::string>& departments);

  // A command for EventEffects::extra.
  static infra::redis::Args FollowCommand(std::string_view request, std::string_view account,
                                          bool follow);

 private:
  absl::StatusOr<std::vector<InboxEntry>> Load(std::string_view account,
                                               const std::vector<std::string>& ids);

  infra::redis::Client& redis_;
};

}  // namespace cityhub::notifications
