#include "services/notifications/inbox_store.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <memory>

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

namespace {

// The ids of a page, read in steps (one command each): the unread set at once, the inbox in
// batches. Scores order ids by time to 1/4096 of a millisecond; ids sharing the cursor's score
// are read and skipped, so that a burst of entries in one millisecond (one score) never ends a
// page early.
struct IdsRead {
  IdsRead(std::string_view account, bool unread_only, std::string_view before, int count)
      : account(account), unread_only(unread_only), before(before), count(count) {}

  std::string account;
  bool unread_only = false;
  std::string before;
  int count = 0;
  int offset = 0;
  std::vector<std::string> ids;

  Args Next() const {
    if (unread_only) return {"SMEMBERS", keys::Unread(account)};
    return {"ZREVRANGEBYSCORE",
            keys::Inbox(account),
            before.empty() ? "+inf" : InboxScore(before),
            "-inf",
            "LIMIT",
            std::to_string(offset),
            std::to_string(count + 1)};
  }
  // Takes a reply of Next(); false when the ids are complete.
  bool Take(Reply reply) {
    auto& members = reply.mutable_elements();
    if (unread_only) {
      for (Reply& m : members) {
        if (before.empty() || m.str() < before) ids.push_back(std::move(m.mutable_str()));
      }
      std::sort(ids.begin(), ids.end(), std::greater<>());
      if (static_cast<int>(ids.size()) > count) ids.resize(count);
      return false;
    }
    for (Reply& m : members) {
      if (!before.empty() && m.str() >= before) continue;
      if (static_cast<int>(ids.size()) < count) ids.push_back(std::move(m.mutable_str()));
    }
    if (static_cast<int>(members.size()) < count + 1 || static_cast<int>(ids.size()) >= count) {
      return false;
    }
    offset += count + 1;
    return true;
  }
};

// One pipeline for the entries `ids`: their records, read marks and delivery states.
std::vector<Args> LoadCommands(std::string_view account, const std::vector<std::string>& ids) {
  std::vector<Args> commands;
  commands.reserve(ids.size() + 2);
  Args mget = {"MGET"};
  mget.reserve(ids.size() + 1);
  for (const auto& id : ids) mget.push_back(keys::Notification(id));
  commands.push_back(std::move(mget));
  Args unread = {"SMISMEMBER", keys::Unread(account)};
  unread.insert(unread.end(), ids.begin(), ids.end());
  commands.push_back(std::move(unread));
  for (const auto& id : ids) commands.push_back({"HGETALL", keys::Deliveries(id)});
  return commands;
}

// The replies of LoadCommands as entries; the delivery states move out of the replies instead
// of being copied.
absl::StatusOr<std::vector<InboxEntry>> ParseLoaded(std::vector<Reply> replies,
                                                    std::string_view account) {
  for (const Reply& r : replies) {
    if (r.is_error()) return infra::redis::ErrorReplyToStatus(r.str());
  }
  std::vector<InboxEntry> out;
  const size_t n = replies.empty() ? 0 : replies[0].elements().size();
  if (replies.size() != n + 2 || replies[1].elements().size() != n) {
    return absl::InternalError("inbox entries: unexpected reply shape");
  }
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const Reply& data = replies[0].elements()[i];
    InboxEntry& entry = out.emplace_back();
    if (data.is_nil() || !entry.notification.ParseFromString(data.str()) ||
        entry.notification.account_id() != account) {
      out.pop_back();
      continue;
    }
    entry.read = replies[1].elements()[i].integer() == 0;
    auto& d = replies[2 + i].mutable_elements();
    entry.deliveries.reserve(d.size() / 2);
    for (size_t k = 0; k + 1 < d.size(); k += 2) {
      const std::string& field = d[k].str();
      int channel = 0;
      std::from_chars(field.data(), field.data() + field.size(), channel);
      entry.deliveries.emplace_back(channel, std::move(d[k + 1].mutable_str()));
    }
    std::sort(entry.deliveries.begin(), entry.deliveries.end());
  }
  return out;
}

// The async page's steps: ids (usually one command), then the entries (one pipeline). Each
// runs from the reply of the step before, on the async client's I/O thread.
void ReadIds(infra::redis::AsyncClient& redis, std::shared_ptr<IdsRead> read,
             InboxStore::PageCallback done) {
  std::vector<Args> command;
  command.push_back(read->Next());
  redis.Pipeline(std::move(command), [&redis, read, done = std::move(done)](
                                         absl::StatusOr<std::vector<Reply>> replies) mutable {
    if (!replies.ok()) return done(replies.status());
    Reply& reply = replies->front();
    if (reply.is_error()) return done(infra::redis::ErrorReplyToStatus(reply.str()));
    if (read->Take(std::move(reply))) return ReadIds(redis, std::move(read), std::move(done));
    if (read->ids.empty()) return done(std::vector<InboxEntry>());
    redis.Pipeline(LoadCommands(read->account, read->ids),
                   [read, done = std::move(done)](absl::StatusOr<std::vector<Reply>> loaded) {
                     if (!loaded.ok()) return done(loaded.status());
                     done(ParseLoaded(std::move(*loaded), read->account));
                   });
  });
}

}  // namespace

absl::StatusOr<std::vector<InboxEntry>> InboxStore::Load(std::string_view account,
                                                         const std::vector<std::string>& ids) {
  if (ids.empty()) return std::vector<InboxEntry>();
  ASSIGN_OR_RETURN(std::vector<Reply> replies, redis_.Pipeline(LoadCommands(account, ids)));
  return ParseLoaded(std::move(replies), account);
}

absl::StatusOr<std::vector<InboxEntry>> InboxStore::Inbox(std::string_view account,
                                                          bool unread_only,
                                                          std::string_view before_id, int count) {
  IdsRead read(account, unread_only, before_id, count);
  while (true) {
    ASSIGN_OR_RETURN(Reply reply, redis_.Command(read.Next()));
    if (!read.Take(std::move(reply))) break;
  }
  return Load(account, read.ids);
}

void InboxStore::InboxAsync(std::string_view account, bool unread_only, std::string_view before_id,
                            int count, PageCallback done) {
  ReadIds(async_, std::make_shared<IdsRead>(account, unread_only, before_id, count),
          std::move(done));
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
