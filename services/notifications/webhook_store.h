#pragma once

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cityhub/storage/notifications.pb.h"
#include "infra/redis/client.h"

// Webhook subscriptions (keys.h).
namespace cityhub::notifications {

using cityhub::storage::notifications::StoredWebhook;

class WebhookStore final {
 public:
  explicit WebhookStore(infra::redis::Client& redis) : redis_(redis) {}

  absl::Status AddWebhook(const StoredWebhook& webhook);
  // Ordered by id.
  absl::StatusOr<std::vector<StoredWebhook>> Webhooks();
  // NOT_FOUND when absent; DATA_LOSS when damaged.
  absl::StatusOr<StoredWebhook> Webhook(std::string_view id);
  // NOT_FOUND when absent.
  absl::Status RemoveWebhook(std::string_view id);

  // The MGET of webhook keys: every subscription still there, in the order asked.
  static std::vector<StoredWebhook> Parse(const infra::redis::Reply& mget);

 private:
  infra::redis::Client& redis_;
};

}  // namespace cityhub::notifications
