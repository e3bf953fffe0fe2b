#include "services/notifications/job_queue_store.h"

#include <vector>

#include "infra/status.h"
#include "services/notifications/keys.h"

namespace cityhub::notifications {

using infra::redis::Args;
using infra::redis::Reply;
using infra::redis::Script;

absl::StatusOr<std::optional<ClaimedJob>> JobQueueStore::Claim(int64_t now_ms,
                                                               std::chrono::milliseconds lease) {
  // KEYS: the queue. ARGV: now, lease, job key prefix. Returns {id, data} or nil.
  static const Script script(R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #due == 0 then return false end
local id = due[1]
local data = redis.call('GET', ARGV[3] .. id .. '}')
if not data then
  redis.call('ZREM', KEYS[1], id)
  return false
end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
return {id, data}
)lua");
  ASSIGN_OR_RETURN(
      const Reply claimed,
      redis_.Eval(script, {keys::kJobs},
                  {std::to_string(now_ms), std::to_string(lease.count()), keys::kJobPrefix}));
  if (!claimed.is_array()) return std::optional<ClaimedJob>();
  return ClaimedJob{claimed.elements()[0].str(), claimed.elements()[1].str()};
}

absl::Status JobQueueStore::Drop(std::string_view id, std::optional<std::string_view> account) {
  std::vector<Args> commands = {{"ZREM", keys::kJobs, std::string(id)}, {"DEL", keys::Job(id)}};
  if (account) commands.push_back({"SREM", keys::JobsOf(*account), std::string(id)});
  return redis_.Pipeline(commands).status();
}

absl::Status JobQueueStore::Retry(std::string_view id, const StoredJob& job, int64_t due_ms) {
  // XX: only a job still there is written back; the queue entry of one that is gone then finds
  // no job and the claim removes it.
  return redis_
      .Pipeline({{"SET", keys::Job(id), job.SerializeAsString(), "XX"},
                 {"ZADD", keys::kJobs, std::to_string(due_ms), std::string(id)}})
      .status();
}

absl::Status JobQueueStore::GiveUp(std::string_view id, const StoredJob& job,
                                   std::string_view channel, std::string_view reason) {
  const std::string job_id(id);
  return redis_
      .Pipeline({{"XADD", keys::kDead, "MAXLEN", "~", "100000", "*", "job_id", job_id, "channel",
                  std::string(channel), "notification_id", job.notification_id(), "webhook_id",
                  job.webhook_id(), "attempts", std::to_string(job.attempts()), "reason",
                  std::string(reason)},
                 {"ZREM", keys::kJobs, job_id},
                 {"DEL", keys::Job(id)},
                 {"SREM", keys::JobsOf(job.account_id()), job_id}})
      .status();
}

}  // namespace cityhub::notifications
