#include "services/notifications/inbox_store.h"

#include <algorithm>
#include <charconv>

#include "infra/ids.h"
#include "infra/redis/async_script.h"
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

namespace {

// One page of an inbox, newest first, in one round trip. KEYS: the inbox, the unread set.
// ARGV: the highest score ("+inf" or the cursor's), the cursor id ("" for none), the page size,
// "1" for unread entries only, the prefixes of the entries' n: and d: keys.
// Answers {} or {MGET of the entries, SMISMEMBER of the unread set, HGETALL of each entry's
// delivery states...}. Scores order ids by time to 1/4096 of a millisecond: ids sharing the
// cursor's score are read and skipped (ids compare as strings of [0-9A-Z], the same in every
// collation), so that a burst of entries in one millisecond never ends a page early. Unread
// entries are the inbox's entries in the unread set (they are added and trimmed together), so
// the walk keeps the inbox's order for them too instead of sorting the set.
const infra::redis::Script& PageScript() {
  static const infra::redis::Script script(R"lua(#!lua flags=no-writes
local count = tonumber(ARGV[3])
local before = ARGV[2]
local unread_only = ARGV[4] == '1'
local ids = {}
local offset = 0
local batch = count + 1
while #ids < count do
  local got = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '-inf', 'LIMIT', offset, batch)
  local unread
  if unread_only and #got > 0 then unread = redis.call('SMISMEMBER', KEYS[2], unpack(got)) end
  for i, id in ipairs(got) do
    if #ids < count and (before == '' or id < before) and (unread == nil or unread[i] == 1) then
      ids[#ids + 1] = id
    end
  end
  if #got < batch then break end
  offset = offset + batch
end
if #ids == 0 then return {} end
local keys = {}
for i, id in ipairs(ids) do keys[i] = ARGV[5] .. id .. '}' end
local out = {redis.call('MGET', unpack(keys)), redis.call('SMISMEMBER', KEYS[2], unpack(ids))}
for i, id in ipairs(ids) do out[i + 2] = redis.call('HGETALL', ARGV[6] .. id .. '}') end
return out
)lua");
  return script;
}

Args PageArgs(bool unread_only, std::string_view before_id, int count) {
  return {before_id.empty() ? "+inf" : InboxScore(before_id),
          std::string(before_id),
          std::to_string(count),
          unread_only ? "1" : "0",
          keys::kNotificationPrefix,
          keys::kDeliveriesPrefix};
}

// The script's answer as entries; the texts move out of the reply instead of being copied.
absl::StatusOr<std::vector<InboxEntry>> ParsePage(Reply page, std::string_view account) {
  std::vector<InboxEntry> out;
  auto& parts = page.mutable_elements();
  if (parts.empty()) return out;
  const size_t n = parts[0].elements().size();
  if (parts.size() != n + 2 || parts[1].elements().size() != n) {
    return absl::InternalError("inbox page: unexpected reply shape");
  }
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const Reply& data = parts[0].elements()[i];
    InboxEntry& entry = out.emplace_back();
    if (data.is_nil() || !entry.notification.ParseFromString(data.str()) ||
        entry.notification.account_id() != account) {
      out.pop_back();
      continue;
    }
    entry.read = parts[1].elements()[i].integer() == 0;
    auto& d = parts[2 + i].mutable_elements();
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

}  // namespace

absl::StatusOr<std::vector<InboxEntry>> InboxStore::Inbox(std::string_view account,
                                                          bool unread_only,
                                                          std::string_view before_id, int count) {
  ASSIGN_OR_RETURN(Reply page,
                   redis_.Eval(PageScript(), {keys::Inbox(account), keys::Unread(account)},
                               PageArgs(unread_only, before_id, count)));
  return ParsePage(std::move(page), account);
}

void InboxStore::InboxAsync(std::string_view account, bool unread_only, std::string_view before_id,
                            int count, PageCallback done) {
  infra::redis::EvalAsync(
      async_, PageScript(), {keys::Inbox(account), keys::Unread(account)},
      PageArgs(unread_only, before_id, count),
      [account = std::string(account), done = std::move(done)](absl::StatusOr<Reply> page) {
        if (!page.ok()) return done(page.status());
        done(ParsePage(std::move(*page), account));
      });
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
