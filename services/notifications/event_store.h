#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cityhub/storage/notifications.pb.h"
#include "infra/redis/client.h"
#include "services/notifications/device_store.h"
#include "services/notifications/follow_store.h"
#include "services/notifications/inbox_store.h"
#include "services/notifications/preferences_store.h"
#include "services/notifications/webhook_store.h"

// The writes events cause (inbox entries, delivery jobs, follows), applied once per event, what
// fanning an event out reads, and the erasure of an account (keys.h).
namespace cityhub::notifications {

using cityhub::storage::notifications::StoredJob;

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
  // Bookkeeping (follows), from FollowStore::FollowCommand.
  std::vector<infra::redis::Args> extra;
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

class EventStore final {
 public:
  EventStore(infra::redis::Client& redis, FollowStore& follows)
      : redis_(redis), follows_(follows) {}

  // Applies `effects` unless `event_id` was handled before (then returns false), and trims the
  // inboxes it wrote to, in one script.
  absl::StatusOr<bool> ApplyOnce(std::string_view event_id, const EventEffects& effects);

  // Preferences and devices of `accounts` and the webhooks `webhook_ids`: one round trip.
  // Where a comment's text was copied (keys::CommentCopies): the inbox entries still there, and
  // the ids of the jobs.
  struct CommentCopies {
    std::vector<StoredNotification> notes;
    std::vector<std::string> job_ids;
  };
  absl::StatusOr<CommentCopies> CopiesOfComment(std::string_view comment_id);
  // Adds to `effects` the record of where its inbox entries and jobs copy the comment's text.
  static void RememberCommentCopies(std::string_view comment_id, EventEffects* effects);
  // The effects that take a hidden comment's text out of its copies: each inbox entry's body
  // becomes `removed`; jobs not yet sent (mails, pushes, webhook calls) are dropped.
  static EventEffects HideCommentCopies(std::string_view comment_id, const CommentCopies& copies,
                                        std::string_view removed);
  absl::StatusOr<FanOutDetails> DetailsOf(const std::vector<std::string>& accounts,
                                          const std::vector<std::string>& webhook_ids);

  // Erases everything held about the account (AccountDeleted), and marks it gone so that
  // events handled later (follows, roles, notifications) add nothing for it.
  absl::Status ForgetAccount(std::string_view account);

 private:
  infra::redis::Client& redis_;
  FollowStore& follows_;
};

}  // namespace cityhub::notifications
