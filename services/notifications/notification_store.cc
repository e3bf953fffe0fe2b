#include "services/notifications/notification_store.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>

#include "infra/auth/deleted_accounts.h"
#include "infra/ids.h"
#include "infra/strings.h"

namespace cityhub::notifications {

using infra::StrCat;
using infra::redis::Args;
using infra::redis::Reply;
using infra::redis::Script;

namespace {

std::string NKey(std::string_view id) { return StrCat("notifications:n:{", id, "}"); }
std::string DKey(std::string_view id) { return StrCat("notifications:d:{", id, "}"); }
std::string InboxKey(std::string_view a) { return StrCat("notifications:inbox:{", a, "}"); }
std::string UnreadKey(std::string_view a) { return StrCat("notifications:unread:{", a, "}"); }
std::string FeedKey(std::string_view a) { return StrCat("notifications:feed:{", a, "}"); }
std::string PrefsKey(std::string_view a) { return StrCat("notifications:prefs:{", a, "}"); }
std::string DevicesKey(std::string_view a) { return StrCat("notifications:devices:{", a, "}"); }
std::string FollowersKey(std::string_view r) { return StrCat("notifications:followers:{", r, "}"); }
std::string FollowingKey(std::string_view a) { return StrCat("notifications:following:{", a, "}"); }
std::string DepartmentKey(std::string_view d) {
  return StrCat("notifications:department:{", d, "}");
}
std::string DepartmentsOfKey(std::string_view a) {
  return StrCat("notifications:departments_of:{", a, "}");
}
std::string WebhookKey(std::string_view id) { return StrCat("notifications:webhook:{", id, "}"); }
// A deleted account, by a digest of its id (the id itself is not kept); the same marker refuses
// the account's still valid access tokens on writes (infra/auth/deleted_accounts.h).
std::string GoneKey(std::string_view a) {
  return infra::auth::DeletedAccounts::Key("notifications", a);
}
constexpr char kWebhooks[] = "notifications:webhooks";

std::string Score(std::string_view id) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), infra::UlidSortScore(id));
  return std::string(buf, end);
}

// Runs `ops` unless KEYS[1] (the event's seen marker) exists, then sets it for ARGV[1] seconds.
// ARGV: ttl, op count, then per op: n, args... Two pseudo-ops:
//   GUARD key       the ops up to the next GUARD are skipped when `key` exists (a deleted
//                   account's marker: a late event must not bring its data back);
//   FEEDADD key id  appends id to a feed ZSET with the next sequence number (the highest score
//                   + 1), so that a feed orders entries by when they were written;
//   TRIM inbox feed unread keep slack n-prefix d-prefix
//                   once an inbox holds more than keep + slack entries, drops the oldest down
//                   to keep, with their feed and unread entries and their n: and d: keys.
const Script& OnceScript() {
  static const Script script(R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local i = 3
local skip = false
for _ = 1, tonumber(ARGV[2]) do
  local n = tonumber(ARGV[i])
  local op = {}
  for j = 1, n do op[j] = ARGV[i + j] end
  if op[1] == 'GUARD' then
    skip = op[2] ~= nil and redis.call('EXISTS', op[2]) == 1
  elseif skip then
    -- the account is gone
  elseif op[1] == 'TRIM' then
    local count = redis.call('ZCARD', op[2])
    local keep = tonumber(op[5])
    if count > keep + tonumber(op[6]) then
      for _, id in ipairs(redis.call('ZRANGE', op[2], 0, count - keep - 1)) do
        redis.call('ZREM', op[2], id)
        redis.call('ZREM', op[3], id)
        redis.call('SREM', op[4], id)
        redis.call('DEL', op[7] .. id .. '}', op[8] .. id .. '}')
      end
    end
  elseif op[1] == 'FEEDADD' then
    if redis.call('ZSCORE', op[2], op[3]) == false then
      local top = redis.call('ZREVRANGE', op[2], 0, 0, 'WITHSCORES')
      local seq = 1
      if top[2] then seq = tonumber(top[2]) + 1 end
      redis.call('ZADD', op[2], seq, op[3])
    end
  else
    redis.call(unpack(op))
  end
  i = i + n + 1
end
-- Marked handled last: Redis does not undo a script that fails half-way, so a failed run must
-- stay unmarked and be retried (every op is safe to repeat).
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
return 1
)lua");
  return script;
}

const Script& DepartmentsScript() {
  // KEYS: the account's departments, its deleted-account marker. ARGV: account, department key
  // prefix, new departments... A deleted account gets none.
  static const Script script(R"lua(
for _, d in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('SREM', ARGV[2] .. d .. '}', ARGV[1])
end
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
for i = 3, #ARGV do
  redis.call('SADD', ARGV[2] .. ARGV[i] .. '}', ARGV[1])
  redis.call('SADD', KEYS[1], ARGV[i])
end
return 1
)lua");
  return script;
}

// A write of the account holder's own that lost the race with the deletion (it passed the
// authorizer's check just before the marker was set) must not survive the erasure.
constexpr char kRefuseGoneLua[] = R"lua(
if redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.error_reply('PERMISSION_DENIED this account was deleted')
end
)lua";

const Script& AddDeviceScript() {
  // KEYS: devices, gone marker. ARGV: device id, data, token, max, prefix of the stored token
  // field.
  static const Script script(StrCat(kRefuseGoneLua, R"lua(
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
  return redis.error_reply('RESOURCE_EXHAUSTED push_token: at most ' .. ARGV[4] .. ' devices per account')
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
)lua"));
  return script;
}

const Script& SetPreferencesScript() {
  // KEYS: preferences, gone marker. ARGV: data.
  static const Script script(StrCat(kRefuseGoneLua, R"lua(
redis.call('SET', KEYS[1], ARGV[1])
return 1
)lua"));
  return script;
}

void AppendOp(const Args& op, Args* argv) {
  argv->push_back(std::to_string(op.size()));
  argv->insert(argv->end(), op.begin(), op.end());
}

}  // namespace

NotificationStore::NotificationStore(infra::redis::Client& redis) : redis_(redis) {}

Args NotificationStore::FollowCommand(std::string_view request, std::string_view account,
                                      bool follow) {
  // Both sets move together through a tiny script-free pair: SADD/SREM are idempotent.
  return {follow ? "SADD" : "SREM", FollowersKey(request), std::string(account)};
}

absl::StatusOr<bool> NotificationStore::ApplyOnce(std::string_view event_id,
                                                  const EventEffects& e) {
  std::vector<Args> ops;
  std::vector<std::string> touched;
  std::set<std::string> in_inbox;
  const auto guard = [&](std::string_view account) {
    ops.push_back(account.empty() ? Args{"GUARD"} : Args{"GUARD", GoneKey(account)});
  };
  for (const auto& n : e.inbox) {
    guard(n.account_id());
    ops.push_back({"SET", NKey(n.id()), n.SerializeAsString()});
    ops.push_back({"ZADD", InboxKey(n.account_id()), Score(n.id()), n.id()});
    ops.push_back({"FEEDADD", FeedKey(n.account_id()), n.id()});
    ops.push_back({"SADD", UnreadKey(n.account_id()), n.id()});
    ops.push_back({"HSET", DKey(n.id()), "1", StrCat("2|0|", n.created_ms(), "|")});
    ops.push_back({"PUBLISH", kLiveChannel, n.account_id()});
    touched.push_back(n.account_id());
    in_inbox.insert(n.id());
  }
  for (const ScheduledJob& scheduled : e.jobs) {
    const StoredJob& job = scheduled.job;
    guard(job.account_id());
    ops.push_back({"SET", StrCat("notifications:job:{", job.id(), "}"), job.SerializeAsString()});
    ops.push_back({"ZADD", "notifications:jobs", std::to_string(scheduled.due_ms), job.id()});
    if (!job.account_id().empty()) {
      ops.push_back({"SADD", StrCat("notifications:jobs_of:{", job.account_id(), "}"), job.id()});
    }
    // A delivery state belongs to an inbox entry; without one (inbox switched off) there is
    // nothing to show it on.
    if (in_inbox.count(job.notification_id())) {
      ops.push_back({"HSET", DKey(job.notification_id()), std::to_string(job.channel()),
                     StrCat(scheduled.state, "|0|", scheduled.due_ms, "|")});
    }
  }
  for (const Args& extra : e.extra) {
    // Follow bookkeeping also indexes the account's side, for erasure.
    if (extra.size() == 3 && extra[1].starts_with("notifications:followers:{")) {
      guard(extra[2]);
      ops.push_back(extra);
      const std::string request = extra[1].substr(25, extra[1].size() - 26);
      ops.push_back({extra[0], FollowingKey(extra[2]), request});
    } else {
      guard("");
      ops.push_back(extra);
    }
  }
  // Inboxes keep their newest kInboxCap entries, trimmed in the same script (in steps of 50,
  // so that not every entry pays for a trim).
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  guard("");
  for (const auto& account : touched) {
    ops.push_back({"TRIM", InboxKey(account), FeedKey(account), UnreadKey(account),
                   std::to_string(kInboxCap), "50", "notifications:n:{", "notifications:d:{"});
  }
  Args argv = {"604800", std::to_string(ops.size())};
  for (const Args& op : ops) AppendOp(op, &argv);
  auto reply = redis_.Eval(OnceScript(), {StrCat("notifications:seen:{", event_id, "}")}, argv);
  if (!reply.ok()) return reply.status();
  return reply->integer() == 1;
}

absl::StatusOr<Audience> NotificationStore::AudienceOf(std::string_view followers_of,
                                                       std::string_view operators_of) {
  std::vector<Args> commands = {{"SMEMBERS", kWebhooks}};
  if (!followers_of.empty()) commands.push_back({"SMEMBERS", FollowersKey(followers_of)});
  if (!operators_of.empty()) commands.push_back({"SMEMBERS", DepartmentKey(operators_of)});
  auto replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const Reply& r : *replies) {
    if (r.is_error()) return infra::redis::ErrorReplyToStatus(r.str());
  }
  Audience out;
  for (const Reply& id : (*replies)[0].elements()) out.webhook_ids.push_back(id.str());
  for (size_t i = 1; i < replies->size(); ++i) {
    for (const Reply& a : (*replies)[i].elements()) out.accounts.push_back(a.str());
  }
  std::sort(out.webhook_ids.begin(), out.webhook_ids.end());
  std::sort(out.accounts.begin(), out.accounts.end());
  return out;
}

absl::StatusOr<FanOutDetails> NotificationStore::DetailsOf(
    const std::vector<std::string>& accounts, const std::vector<std::string>& webhook_ids) {
  FanOutDetails out;
  std::vector<Args> commands;
  for (const auto& a : accounts) {
    commands.push_back({"GET", PrefsKey(a)});
    commands.push_back({"HVALS", DevicesKey(a)});
  }
  if (!webhook_ids.empty()) {
    Args mget = {"MGET"};
    for (const auto& id : webhook_ids) mget.push_back(WebhookKey(id));
    commands.push_back(std::move(mget));
  }
  if (commands.empty()) return out;
  auto replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const Reply& r : *replies) {
    if (r.is_error()) return infra::redis::ErrorReplyToStatus(r.str());
  }
  for (size_t i = 0; i < accounts.size(); ++i) {
    RecipientState& state = out.recipients[accounts[i]];
    const Reply& prefs = (*replies)[2 * i];
    if (!prefs.is_nil()) {
      StoredPreferences p;
      if (!p.ParseFromString(prefs.str())) return absl::DataLossError("stored preferences damaged");
      state.preferences = std::move(p);
    }
    for (const Reply& d : (*replies)[2 * i + 1].elements()) {
      StoredDevice device;
      if (device.ParseFromString(d.str())) state.devices.push_back(std::move(device));
    }
    std::sort(state.devices.begin(), state.devices.end(),
              [](const auto& a, const auto& b) { return a.id() < b.id(); });
  }
  if (!webhook_ids.empty()) {
    for (const Reply& d : replies->back().elements()) {
      StoredWebhook w;
      if (!d.is_nil() && w.ParseFromString(d.str())) out.webhooks.push_back(std::move(w));
    }
  }
  return out;
}

absl::StatusOr<std::vector<InboxEntry>> NotificationStore::Load(
    std::string_view account, const std::vector<std::string>& ids) {
  std::vector<InboxEntry> out;
  if (ids.empty()) return out;
  std::vector<Args> commands;
  Args mget = {"MGET"};
  for (const auto& id : ids) mget.push_back(NKey(id));
  commands.push_back(mget);
  Args unread = {"SMISMEMBER", UnreadKey(account)};
  unread.insert(unread.end(), ids.begin(), ids.end());
  commands.push_back(unread);
  for (const auto& id : ids) commands.push_back({"HGETALL", DKey(id)});
  auto replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const Reply& r : *replies) {
    if (r.is_error()) return infra::redis::ErrorReplyToStatus(r.str());
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const Reply& data = (*replies)[0].elements()[i];
    InboxEntry entry;
    if (data.is_nil() || !entry.notification.ParseFromString(data.str())) continue;
    if (entry.notification.account_id() != account) continue;
    entry.read = (*replies)[1].elements()[i].integer() == 0;
    const auto& d = (*replies)[2 + i].elements();
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

absl::StatusOr<std::vector<InboxEntry>> NotificationStore::Inbox(std::string_view account,
                                                                 bool unread_only,
                                                                 std::string_view before_id,
                                                                 int count) {
  std::vector<std::string> ids;
  if (unread_only) {
    auto members = redis_.Command({"SMEMBERS", UnreadKey(account)});
    if (!members.ok()) return members.status();
    for (const Reply& m : members->elements()) {
      if (before_id.empty() || m.str() < before_id) ids.push_back(m.str());
    }
    std::sort(ids.begin(), ids.end(), std::greater<>());
    if (static_cast<int>(ids.size()) > count) ids.resize(count);
  } else {
    // Scores order ids by time to 1/4096 of a millisecond; ids sharing the cursor's score are
    // skipped here and read past, so that a burst of entries in one millisecond (one score)
    // never ends a page early.
    const std::string max = before_id.empty() ? "+inf" : Score(before_id);
    for (int offset = 0; static_cast<int>(ids.size()) < count;) {
      const int batch = count + 1;
      auto reply = redis_.Command({"ZREVRANGEBYSCORE", InboxKey(account), max, "-inf", "LIMIT",
                                   std::to_string(offset), std::to_string(batch)});
      if (!reply.ok()) return reply.status();
      for (const Reply& m : reply->elements()) {
        if (!before_id.empty() && m.str() >= before_id) continue;
        if (static_cast<int>(ids.size()) < count) ids.push_back(m.str());
      }
      if (static_cast<int>(reply->elements().size()) < batch) break;
      offset += batch;
    }
  }
  return Load(account, ids);
}

absl::StatusOr<int64_t> NotificationStore::FeedPosition(std::string_view account,
                                                        std::string_view after_id) {
  const auto seq = [](const Reply& score) { return static_cast<int64_t>(std::stod(score.str())); };
  if (after_id.empty()) {
    auto top = redis_.Command({"ZREVRANGE", FeedKey(account), "0", "0", "WITHSCORES"});
    if (!top.ok()) return top.status();
    return top->elements().size() == 2 ? seq(top->elements()[1]) : 0;
  }
  auto score = redis_.Command({"ZSCORE", FeedKey(account), std::string(after_id)});
  if (!score.ok()) return score.status();
  if (!score->is_nil()) return seq(*score);
  // An id the feed does not hold (trimmed, or "0000…" for the beginning): just before the
  // first entry with a greater id, else the newest position. A duplicate is better than a gap.
  auto feed = redis_.Command({"ZRANGE", FeedKey(account), "0", "-1", "WITHSCORES"});
  if (!feed.ok()) return feed.status();
  const auto& e = feed->elements();
  int64_t newest = 0;
  std::optional<int64_t> first_after;
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    newest = std::max(newest, seq(e[i + 1]));
    if (e[i].str() > after_id && !first_after) first_after = seq(e[i + 1]);
  }
  return first_after ? *first_after - 1 : newest;
}

absl::StatusOr<FeedPage> NotificationStore::FeedAfter(std::string_view account, int64_t after,
                                                      int count) {
  auto reply = redis_.Command({"ZRANGEBYSCORE", FeedKey(account), StrCat("(", after), "+inf",
                               "WITHSCORES", "LIMIT", "0", std::to_string(count)});
  if (!reply.ok()) return reply.status();
  FeedPage page;
  page.last = after;
  std::vector<std::string> ids;
  const auto& e = reply->elements();
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    ids.push_back(e[i].str());
    page.last = std::max(page.last, static_cast<int64_t>(std::stod(e[i + 1].str())));
  }
  page.full = static_cast<int>(ids.size()) == count;
  auto entries = Load(account, ids);
  if (!entries.ok()) return entries.status();
  page.entries = std::move(*entries);
  return page;
}

absl::StatusOr<InboxEntry> NotificationStore::Get(std::string_view account, std::string_view id) {
  auto entries = Load(account, {std::string(id)});
  if (!entries.ok()) return entries.status();
  if (entries->empty()) return absl::NotFoundError("notification not found");
  return std::move(entries->front());
}

absl::StatusOr<int64_t> NotificationStore::UnreadCount(std::string_view account) {
  return infra::redis::AsInteger(redis_.Command({"SCARD", UnreadKey(account)}));
}

absl::Status NotificationStore::MarkRead(std::string_view account, std::string_view id) {
  auto score = redis_.Command({"ZSCORE", InboxKey(account), std::string(id)});
  if (!score.ok()) return score.status();
  if (score->is_nil()) return absl::NotFoundError("notification not found");
  return redis_.Command({"SREM", UnreadKey(account), std::string(id)}).status();
}

absl::Status NotificationStore::MarkAllRead(std::string_view account) {
  return redis_.Command({"DEL", UnreadKey(account)}).status();
}

absl::Status NotificationStore::SetDelivery(std::string_view notification_id, int channel,
                                            int state, int attempts, std::string_view reason,
                                            int64_t now_ms) {
  // Only beside a notification that still exists (not trimmed, not erased, not opted out).
  static const Script script(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
)lua");
  return redis_
      .Eval(script, {NKey(notification_id), DKey(notification_id)},
            {std::to_string(channel),
             StrCat(state, "|", attempts, "|", now_ms, "|", reason.substr(0, 200))})
      .status();
}

absl::StatusOr<std::optional<StoredPreferences>> NotificationStore::Preferences(
    std::string_view account) {
  auto data = redis_.Command({"GET", PrefsKey(account)});
  if (!data.ok()) return data.status();
  if (data->is_nil()) return std::optional<StoredPreferences>();
  StoredPreferences p;
  if (!p.ParseFromString(data->str())) return absl::DataLossError("stored preferences damaged");
  return std::optional<StoredPreferences>(std::move(p));
}

absl::Status NotificationStore::SetPreferences(std::string_view account,
                                               const StoredPreferences& prefs) {
  return redis_
      .Eval(SetPreferencesScript(), {PrefsKey(account), GoneKey(account)},
            {prefs.SerializeAsString()})
      .status();
}

absl::Status NotificationStore::AddDevice(std::string_view account, const StoredDevice& device) {
  // The same token again (an app reinstalled, a refresh) replaces the older entry.
  auto existing = Devices(account);
  if (!existing.ok()) return existing.status();
  for (const auto& d : *existing) {
    if (d.token() == device.token() && d.id() != device.id()) (void)RemoveDevice(account, d.id());
  }
  return redis_
      .Eval(AddDeviceScript(), {DevicesKey(account), GoneKey(account)},
            {device.id(), device.SerializeAsString(), device.token(), std::to_string(kMaxDevices),
             ""})
      .status();
}

absl::StatusOr<std::vector<StoredDevice>> NotificationStore::Devices(std::string_view account) {
  auto reply = redis_.Command({"HVALS", DevicesKey(account)});
  if (!reply.ok()) return reply.status();
  std::vector<StoredDevice> out;
  for (const Reply& r : reply->elements()) {
    StoredDevice d;
    if (d.ParseFromString(r.str())) out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id() < b.id(); });
  return out;
}

absl::Status NotificationStore::RemoveDevice(std::string_view account, std::string_view device_id) {
  auto removed = infra::redis::AsInteger(
      redis_.Command({"HDEL", DevicesKey(account), std::string(device_id)}));
  if (!removed.ok()) return removed.status();
  if (*removed == 0) return absl::NotFoundError("device not found");
  return absl::OkStatus();
}

absl::StatusOr<bool> NotificationStore::HasDevice(std::string_view account,
                                                  std::string_view device_id) {
  auto exists = infra::redis::AsInteger(
      redis_.Command({"HEXISTS", DevicesKey(account), std::string(device_id)}));
  if (!exists.ok()) return exists.status();
  return *exists == 1;
}

absl::StatusOr<std::vector<std::string>> NotificationStore::Followers(std::string_view request_id) {
  auto reply = redis_.Command({"SMEMBERS", FollowersKey(request_id)});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> out;
  for (const Reply& r : reply->elements()) out.push_back(r.str());
  return out;
}

absl::StatusOr<std::vector<std::string>> NotificationStore::Operators(std::string_view department) {
  auto reply = redis_.Command({"SMEMBERS", DepartmentKey(department)});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> out;
  for (const Reply& r : reply->elements()) out.push_back(r.str());
  return out;
}

absl::Status NotificationStore::SetDepartments(std::string_view account,
                                               const std::vector<std::string>& departments) {
  Args args = {std::string(account), "notifications:department:{"};
  args.insert(args.end(), departments.begin(), departments.end());
  return redis_.Eval(DepartmentsScript(), {DepartmentsOfKey(account), GoneKey(account)}, args)
      .status();
}

absl::Status NotificationStore::AddWebhook(const StoredWebhook& webhook) {
  return redis_
      .Transaction({{"SET", WebhookKey(webhook.id()), webhook.SerializeAsString()},
                    {"SADD", kWebhooks, webhook.id()}})
      .status();
}

absl::StatusOr<std::vector<StoredWebhook>> NotificationStore::Webhooks() {
  auto ids = redis_.Command({"SMEMBERS", kWebhooks});
  if (!ids.ok()) return ids.status();
  std::vector<StoredWebhook> out;
  if (ids->elements().empty()) return out;
  Args mget = {"MGET"};
  for (const Reply& id : ids->elements()) mget.push_back(WebhookKey(id.str()));
  auto data = redis_.Command(mget);
  if (!data.ok()) return data.status();
  for (const Reply& d : data->elements()) {
    StoredWebhook w;
    if (!d.is_nil() && w.ParseFromString(d.str())) out.push_back(std::move(w));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id() < b.id(); });
  return out;
}

absl::StatusOr<StoredWebhook> NotificationStore::Webhook(std::string_view id) {
  auto data = infra::redis::AsString(redis_.Command({"GET", WebhookKey(id)}));
  if (!data.ok()) {
    return data.status().code() == absl::StatusCode::kNotFound
               ? absl::NotFoundError("webhook not found")
               : data.status();
  }
  StoredWebhook w;
  if (!w.ParseFromString(*data)) return absl::DataLossError("stored webhook damaged");
  return w;
}

absl::Status NotificationStore::RemoveWebhook(std::string_view id) {
  auto removed =
      redis_.Transaction({{"DEL", WebhookKey(id)}, {"SREM", kWebhooks, std::string(id)}});
  if (!removed.ok()) return removed.status();
  if ((*removed)[0].integer() == 0) return absl::NotFoundError("webhook not found");
  return absl::OkStatus();
}

absl::Status NotificationStore::ForgetAccount(std::string_view account) {
  // First the marker: events handled from now on (late, redelivered, on another replica) must
  // not bring the account's data back while it is erased or afterwards.
  if (auto s =
          redis_.Command(infra::auth::DeletedAccounts::MarkArgs("notifications", account)).status();
      !s.ok()) {
    return s;
  }
  auto ids = redis_.Command({"ZRANGE", InboxKey(account), "0", "-1"});
  if (!ids.ok()) return ids.status();
  std::vector<Args> commands;
  for (const Reply& id : ids->elements())
    commands.push_back({"DEL", NKey(id.str()), DKey(id.str())});
  auto following = redis_.Command({"SMEMBERS", FollowingKey(account)});
  if (!following.ok()) return following.status();
  for (const Reply& r : following->elements()) {
    commands.push_back({"SREM", FollowersKey(r.str()), std::string(account)});
  }
  auto jobs = redis_.Command({"SMEMBERS", StrCat("notifications:jobs_of:{", account, "}")});
  if (!jobs.ok()) return jobs.status();
  for (const Reply& j : jobs->elements()) {
    commands.push_back({"ZREM", "notifications:jobs", j.str()});
    commands.push_back({"DEL", StrCat("notifications:job:{", j.str(), "}")});
  }
  commands.push_back({"DEL", InboxKey(account), FeedKey(account), UnreadKey(account),
                      PrefsKey(account), DevicesKey(account), FollowingKey(account),
                      StrCat("notifications:jobs_of:{", account, "}")});

  if (auto s = redis_.Pipeline(commands).status(); !s.ok()) return s;
  return SetDepartments(account, {});
}

}  // namespace cityhub::notifications
