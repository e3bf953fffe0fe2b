#include "services/notifications/inbox_store.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include "infra/ids.h"
#include "infra/redis/transaction.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/notifications/keys.h"

namespace cityhub::notifications {

using infra::StrCat;
using infra::redis::Args;
using infra::redis::Reply;

std::string InboxScore(std::string_view id) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), infra::UlidSortScore(id));
  return std::string(buf, end);
}

absl::StatusOr<std::vector<InboxEntry>> InboxStore::Load(std::string_view account,
                                                         const std::vector<std::string>& ids) {
  std::vector<InboxEntry> out;
  if (ids.empty()) return out;
  std::vector<Args> commands;
  Args mget = {"MGET"};
  for (const auto& id : ids) mget.push_back(keys::Notification(id));
  commands.push_back(mget);
  Args unread = {"SMISMEMBER", keys::Unread(account)};
  unread.insert(unread.end(), ids.begin(), ids.end());
  commands.push_back(unread);
  for (const auto& id : ids) commands.push_back({"HGETALL", keys::Deliveries(id)});
  ASSIGN_OR_RETURN(const std::vector<Reply> replies, redis_.Pipeline(commands));
  for (const Reply& r : replies) {
    if (r.is_error()) return infra::redis::ErrorReplyToStatus(r.str());
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const Reply& data = replies[0].elements()[i];
    InboxEntry entry;
    if (data.is_nil() || !entry.notification.ParseFromString(data.str())) continue;
    if (entry.notification.account_id() != account) continue;
    entry.read = replies[1].elements()[i].integer() == 0;
    const auto& d = replies[2 + i].elements();
    for (size_t k = 0; k + 1 < d.size(); k += 2) {
      int channel = 0;
      std::from_chars(d[k].str().data(), d[k].str().data() + d[k].str().size(), channel);
      entry.deliveries.emplace_back(channel, d[k + 1].str());
    }
    std::sort(entry.deliveries.begin(), entry.deliveries.end());
    out.push_back(std::move(entry));
  }
  return out;
}

absl::StatusOr<std::vector<InboxEntry>> InboxStore::Inbox(std::string_view account,
                                                          bool unread_only,
                                                          std::string_view before_id, int count) {
  std::vector<std::string> ids;
  if (unread_only) {
    ASSIGN_OR_RETURN(const Reply members, redis_.Command({"SMEMBERS", keys::Unread(account)}));
    for (const Reply& m : members.elements()) {
      if (before_id.empty() || m.str() < before_id) ids.push_back(m.str());
    }
    std::sort(ids.begin(), ids.end(), std::greater<>());
    if (static_cast<int>(ids.size()) > count) ids.resize(count);
  } else {
    // Scores order ids by time to 1/4096 of a millisecond; ids sharing the cursor's score are
    // skipped here and read past, so that a burst of entries in one millisecond (one score)
    // never ends a page early.
    const std::string max = before_id.empty() ? "+inf" : InboxScore(before_id);
    for (int offset = 0; static_cast<int>(ids.size()) < count;) {
      const int batch = count + 1;
      ASSIGN_OR_RETURN(const Reply reply,
                       redis_.Command({"ZREVRANGEBYSCORE", keys::Inbox(account), max, "-inf",
                                       "LIMIT", std::to_string(offset), std::to_string(batch)}));
      for (const Reply& m : reply.elements()) {
        if (!before_id.empty() && m.str() >= before_id) continue;
        if (static_cast<int>(ids.size()) < count) ids.push_back(m.str());
      }
      if (static_cast<int>(reply.elements().size()) < batch) break;
      offset += batch;
    }
  }
  return Load(account, ids);
}

absl::StatusOr<InboxEntry> InboxStore::Get(std::string_view account, std::string_view id) {
  ASSIGN_OR_RETURN(std::vector<InboxEntry> entries, Load(account, {std::string(id)}));
  if (entries.empty()) return absl::NotFoundError("notification not found");
  return std::move(entries.front());
}

absl::StatusOr<int64_t> InboxStore::UnreadCount(std::string_view account) {
  return infra::redis::AsInteger(redis_.Command({"SCARD", keys::Unread(account)}));
}

absl::Status InboxStore::MarkRead(std::string_view account, std::string_view id) {
  ASSIGN_OR_RETURN(const Reply score,
                   redis_.Command({"ZSCORE", keys::Inbox(account), std::string(id)}));
  if (score.is_nil()) return absl::NotFoundError("notification not found");
  return redis_.Command({"SREM", keys::Unread(account), std::string(id)}).status();
}

absl::Status InboxStore::MarkAllRead(std::string_view account) {
  return redis_.Command({"DEL", keys::Unread(account)}).status();
}

absl::Status InboxStore::SetDelivery(std::string_view notification_id, int channel, int state,
                                     int attempts, std::string_view reason, int64_t now_ms) {
  // Only beside a notification that still exists (not trimmed, not erased, not opted out).
  infra::redis::Transaction tx;
  tx.SkipIfEqual({"EXISTS", keys::Notification(notification_id)}, "0")
      .Then({"HSET", keys::Deliveries(notification_id), std::to_string(channel),
             StrCat(state, "|", attempts, "|", now_ms, "|", reason.substr(0, 200))});
  return tx.Run(redis_).status();
}

}  // namespace cityhub::notifications
