#include "services/notifications/event_store.h"

#include <algorithm>
#include <set>

#include "infra/auth/deleted_accounts.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/notifications/keys.h"

namespace cityhub::notifications {

using infra::StrCat;
using infra::redis::Args;
using infra::redis::Reply;
using infra::redis::Script;

namespace {

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

// The ops of one event's effects, for OnceScript.
class Ops {
 public:
  void Guard(std::string_view account) {
    Add(account.empty() ? Args{"GUARD"} : Args{"GUARD", keys::Gone(account)});
  }
  void Add(Args op) { ops_.push_back(std::move(op)); }
  Args Argv() const {
    Args argv = {"604800", std::to_string(ops_.size())};
    for (const Args& op : ops_) {
      argv.push_back(std::to_string(op.size()));
      argv.insert(argv.end(), op.begin(), op.end());
    }
    return argv;
  }

 private:
  std::vector<Args> ops_;
};

}  // namespace

absl::StatusOr<bool> EventStore::ApplyOnce(std::string_view event_id, const EventEffects& e) {
  Ops ops;
  std::vector<std::string> touched;
  std::set<std::string> in_inbox;
  for (const auto& n : e.inbox) {
    const std::string& account = n.account_id();
    ops.Guard(account);
    ops.Add({"SET", keys::Notification(n.id()), n.SerializeAsString()});
    ops.Add({"ZADD", keys::Inbox(account), InboxScore(n.id()), n.id()});
    ops.Add({"FEEDADD", keys::Feed(account), n.id()});
    ops.Add({"SADD", keys::Unread(account), n.id()});
    ops.Add({"HSET", keys::Deliveries(n.id()), "1", StrCat("2|0|", n.created_ms(), "|")});
    ops.Add({"PUBLISH", keys::kLive, account});
    touched.push_back(account);
    in_inbox.insert(n.id());
  }
  for (const ScheduledJob& scheduled : e.jobs) {
    const StoredJob& job = scheduled.job;
    ops.Guard(job.account_id());
    ops.Add({"SET", keys::Job(job.id()), job.SerializeAsString()});
    ops.Add({"ZADD", keys::kJobs, std::to_string(scheduled.due_ms), job.id()});
    if (!job.account_id().empty()) ops.Add({"SADD", keys::JobsOf(job.account_id()), job.id()});
    // A delivery state belongs to an inbox entry; without one (inbox switched off) there is
    // nothing to show it on.
    if (in_inbox.count(job.notification_id())) {
      ops.Add({"HSET", keys::Deliveries(job.notification_id()), std::to_string(job.channel()),
               StrCat(scheduled.state, "|0|", scheduled.due_ms, "|")});
    }
  }
  constexpr std::string_view kFollowers = keys::kFollowersPrefix;
  for (const Args& extra : e.extra) {
    // Follow bookkeeping also indexes the account's side, for erasure.
    if (extra.size() == 3 && extra[1].starts_with(kFollowers)) {
      ops.Guard(extra[2]);
      ops.Add(extra);
      const std::string request =
          extra[1].substr(kFollowers.size(), extra[1].size() - kFollowers.size() - 1);
      ops.Add({extra[0], keys::Following(extra[2]), request});
    } else {
      ops.Guard("");
      ops.Add(extra);
    }
  }
  // Inboxes keep their newest kInboxCap entries, trimmed in the same script (in steps of 50,
  // so that not every entry pays for a trim).
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  ops.Guard("");
  for (const auto& account : touched) {
    ops.Add({"TRIM", keys::Inbox(account), keys::Feed(account), keys::Unread(account),
             std::to_string(kInboxCap), "50", keys::kNotificationPrefix, keys::kDeliveriesPrefix});
  }
  ASSIGN_OR_RETURN(const Reply reply,
                   redis_.Eval(OnceScript(), {keys::Seen(event_id)}, ops.Argv()));
  return reply.integer() == 1;
}

absl::StatusOr<EventStore::CommentCopies> EventStore::CopiesOfComment(std::string_view comment_id) {
  CommentCopies out;
  ASSIGN_OR_RETURN(const Reply members,
                   redis_.Command({"SMEMBERS", keys::CommentCopies(comment_id)}));
  Args mget = {"MGET"};
  for (const Reply& m : members.elements()) {
    const std::string& copy = m.str();
    if (copy.starts_with("n:")) mget.push_back(keys::Notification(copy.substr(2)));
    if (copy.starts_with("j:")) out.job_ids.push_back(copy.substr(2));
  }
  if (mget.size() == 1) return out;
  ASSIGN_OR_RETURN(const Reply notes, redis_.Command(mget));
  for (const Reply& n : notes.elements()) {
    if (n.is_nil()) continue;  // trimmed from its inbox, or erased with its account
    StoredNotification note;
    if (note.ParseFromString(n.str())) out.notes.push_back(std::move(note));
  }
  return out;
}

void EventStore::RememberCommentCopies(std::string_view comment_id, EventEffects* effects) {
  const std::string key = keys::CommentCopies(comment_id);
  Args copies = {"SADD", key};
  for (const auto& n : effects->inbox) copies.push_back(StrCat("n:", n.id()));
  for (const auto& j : effects->jobs) copies.push_back(StrCat("j:", j.job.id()));
  if (copies.size() == 2) return;
  effects->extra.push_back(std::move(copies));
  effects->extra.push_back({"EXPIRE", key, std::to_string(400 * 24 * 3600)});
}

EventEffects EventStore::HideCommentCopies(std::string_view comment_id, const CommentCopies& copies,
                                           std::string_view removed) {
  EventEffects effects;
  for (StoredNotification note : copies.notes) {
    note.set_body(std::string(removed));
    // XX: an entry erased meanwhile (trimmed, its account deleted) does not come back.
    effects.extra.push_back({"SET", keys::Notification(note.id()), note.SerializeAsString(), "XX"});
  }
  // A job gone from under its queue entry is dropped when claimed (JobQueueStore::Claim): the
  // mail, push or webhook call with the text is not sent; one being sent right now may still go.
  for (const auto& id : copies.job_ids) effects.extra.push_back({"DEL", keys::Job(id)});
  effects.extra.push_back({"DEL", keys::CommentCopies(comment_id)});
  return effects;
}

absl::StatusOr<FanOutDetails> EventStore::DetailsOf(const std::vector<std::string>& accounts,
                                                    const std::vector<std::string>& webhook_ids) {
  FanOutDetails out;
  std::vector<Args> commands;
  for (const auto& a : accounts) {
    commands.push_back({"GET", keys::Preferences(a)});
    commands.push_back({"HVALS", keys::Devices(a)});
  }
  if (!webhook_ids.empty()) {
    Args mget = {"MGET"};
    for (const auto& id : webhook_ids) mget.push_back(keys::Webhook(id));
    commands.push_back(std::move(mget));
  }
  if (commands.empty()) return out;
  ASSIGN_OR_RETURN(const std::vector<Reply> replies, redis_.Pipeline(commands));
  for (const Reply& r : replies) {
    if (r.is_error()) return infra::redis::ErrorReplyToStatus(r.str());
  }
  for (size_t i = 0; i < accounts.size(); ++i) {
    RecipientState& state = out.recipients[accounts[i]];
    ASSIGN_OR_RETURN(state.preferences, PreferencesStore::Parse(replies[2 * i]));
    state.devices = DeviceStore::Parse(replies[2 * i + 1]);
  }
  if (!webhook_ids.empty()) out.webhooks = WebhookStore::Parse(replies.back());
  return out;
}

absl::Status EventStore::ForgetAccount(std::string_view account) {
  // First the marker: events handled from now on (late, redelivered, on another replica) must
  // not bring the account's data back while it is erased or afterwards.
  RETURN_IF_ERROR(
      redis_.Command(infra::auth::DeletedAccounts::MarkArgs(keys::kService, account)).status());
  ASSIGN_OR_RETURN(const Reply ids, redis_.Command({"ZRANGE", keys::Inbox(account), "0", "-1"}));
  std::vector<Args> commands;
  for (const Reply& id : ids.elements()) {
    commands.push_back({"DEL", keys::Notification(id.str()), keys::Deliveries(id.str())});
  }
  ASSIGN_OR_RETURN(const Reply following, redis_.Command({"SMEMBERS", keys::Following(account)}));
  for (const Reply& r : following.elements()) {
    commands.push_back({"SREM", keys::Followers(r.str()), std::string(account)});
  }
  ASSIGN_OR_RETURN(const Reply jobs, redis_.Command({"SMEMBERS", keys::JobsOf(account)}));
  for (const Reply& j : jobs.elements()) {
    commands.push_back({"ZREM", keys::kJobs, j.str()});
    commands.push_back({"DEL", keys::Job(j.str())});
  }
  commands.push_back({"DEL", keys::Inbox(account), keys::Feed(account), keys::Unread(account),
                      keys::Preferences(account), keys::Devices(account), keys::Following(account),
                      keys::JobsOf(account)});
  RETURN_IF_ERROR(redis_.Pipeline(commands).status());
  return follows_.SetDepartments(account, {});
}

}  // namespace cityhub::notifications
