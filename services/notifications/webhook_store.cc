#include "services/notifications/webhook_store.h"

#include <algorithm>
#include <string>

#include "infra/redis/transaction.h"
#include "infra/status.h"
#include "services/notifications/keys.h"

namespace cityhub::notifications {

using infra::redis::Args;
using infra::redis::Reply;

std::vector<StoredWebhook> WebhookStore::Parse(const Reply& mget) {
  std::vector<StoredWebhook> out;
  for (const Reply& d : mget.elements()) {
    StoredWebhook w;
    if (!d.is_nil() && w.ParseFromString(d.str())) out.push_back(std::move(w));
  }
  return out;
}

absl::Status WebhookStore::AddWebhook(const StoredWebhook& webhook) {
  infra::redis::Transaction tx;
  tx.Then({"SET", keys::Webhook(webhook.id()), webhook.SerializeAsString()})
      .Then({"SADD", keys::kWebhooks, webhook.id()});
  return tx.Run(redis_).status();
}

absl::StatusOr<std::vector<StoredWebhook>> WebhookStore::Webhooks() {
  ASSIGN_OR_RETURN(const Reply ids, redis_.Command({"SMEMBERS", keys::kWebhooks}));
  if (ids.elements().empty()) return std::vector<StoredWebhook>();
  Args mget = {"MGET"};
  for (const Reply& id : ids.elements()) mget.push_back(keys::Webhook(id.str()));
  ASSIGN_OR_RETURN(const Reply data, redis_.Command(mget));
  std::vector<StoredWebhook> out = Parse(data);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id() < b.id(); });
  return out;
}

absl::StatusOr<StoredWebhook> WebhookStore::Webhook(std::string_view id) {
  auto data = infra::redis::AsString(redis_.Command({"GET", keys::Webhook(id)}));
  if (!data.ok()) {
    return data.status().code() == absl::StatusCode::kNotFound
               ? absl::NotFoundError("webhook not found")
               : data.status();
  }
  StoredWebhook w;
  if (!w.ParseFromString(*data)) return absl::DataLossError("stored webhook damaged");
  return w;
}

absl::Status WebhookStore::RemoveWebhook(std::string_view id) {
  infra::redis::Transaction tx;
  tx.Then({"DEL", keys::Webhook(id)}).Then({"SREM", keys::kWebhooks, std::string(id)});
  ASSIGN_OR_RETURN(const std::vector<Reply> removed, tx.Run(redis_));
  if (removed[0].integer() == 0) return absl::NotFoundError("webhook not found");
  return absl::OkStatus();
}

}  // namespace cityhub::notifications
