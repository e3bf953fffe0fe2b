#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/redis/client.h"
#include "services/notifications/inbox_store.h"

// An account's feed: its inbox entries in the order they were written, which is not the order of
// their ids (an id carries its event's time; a late or retried event writes an older id after a
// newer one). The live stream reads it (live.h).
namespace cityhub::notifications {

// Entries of an account's feed after a position, in the order they were written.
struct FeedPage {
  std::vector<InboxEntry> entries;
  int64_t last = 0;   // the position of the last entry read (or the position asked for)
  bool full = false;  // the page was full: there may be more
};

class FeedStore final {
 public:
  FeedStore(infra::redis::Client& redis, InboxStore& inbox) : redis_(redis), inbox_(inbox) {}

  // Turns the last id a client saw into a feed position: empty means "now"; an id the feed no
  // longer holds means just before the first greater id.
  absl::StatusOr<int64_t> FeedPosition(std::string_view account, std::string_view after_id);
  // At most `count` entries written after position `after`.
  absl::StatusOr<FeedPage> FeedAfter(std::string_view account, int64_t after, int count);

 private:
  infra::redis::Client& redis_;
  InboxStore& inbox_;
};

}  // namespace cityhub::notifications
