#include "services/notifications/follow_store.h"

#include <algorithm>

#include "infra/status.h"
#include "services/notifications/keys.h"

namespace cityhub::notifications {

using infra::redis::Args;
using infra::redis::Reply;
using infra::redis::Script;

Args FollowStore::FollowCommand(std::string_view request, std::string_view account, bool follow) {
  // Both sets move together through a tiny script-free pair: SADD/SREM are idempotent.
  return {follow ? "SADD" : "SREM", keys::Followers(request), std::string(account)};
}

absl::StatusOr<Audience> FollowStore::AudienceOf(std::string_view followers_of,
                                                 std::string_view operators_of) {
  std::vector<Args> commands = {{"SMEMBERS", keys::kWebhooks}};
  if (!followers_of.empty()) commands.push_back({"SMEMBERS", keys::Followers(followers_of)});
  if (!operators_of.empty()) commands.push_back({"SMEMBERS", keys::Department(operators_of)});
  ASSIGN_OR_RETURN(const std::vector<Reply> replies, redis_.Pipeline(commands));
  for (const Reply& r : replies) {
    if (r.is_error()) return infra::redis::ErrorReplyToStatus(r.str());
  }
  Audience out;
  for (const Reply& id : replies[0].elements()) out.webhook_ids.push_back(id.str());
  for (size_t i = 1; i < replies.size(); ++i) {
    for (const Reply& a : replies[i].elements()) out.accounts.push_back(a.str());
  }
  std::sort(out.webhook_ids.begin(), out.webhook_ids.end());
  std::sort(out.accounts.begin(), out.accounts.end());
  return out;
}

absl::StatusOr<std::vector<std::string>> FollowStore::Members(const std::string& key) {
  ASSIGN_OR_RETURN(const Reply reply, redis_.Command({"SMEMBERS", key}));
  std::vector<std::string> out;
  for (const Reply& r : reply.elements()) out.push_back(r.str());
  return out;
}

absl::StatusOr<std::vector<std::string>> FollowStore::Followers(std::string_view request_id) {
  return Members(keys::Followers(request_id));
}

absl::StatusOr<bool> FollowStore::HasReporter(std::string_view request_id) {
  auto reply = redis_.Command({"EXISTS", keys::Reporter(request_id)});
  if (!reply.ok()) return reply.status();
  return reply->integer() == 1;
}

infra::redis::Args FollowStore::ReporterCommand(std::string_view request_id, bool on) {
  if (!on) return {"DEL", keys::Reporter(request_id)};
  return {"SET", keys::Reporter(request_id), "1", "EX", std::to_string(400 * 86400)};
}

absl::StatusOr<std::vector<std::string>> FollowStore::Operators(std::string_view department) {
  return Members(keys::Department(department));
}

absl::Status FollowStore::SetDepartments(std::string_view account,
                                         const std::vector<std::string>& departments) {
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
  Args args = {std::string(account), keys::kDepartmentPrefix};
  args.insert(args.end(), departments.begin(), departments.end());
  return redis_.Eval(script, {keys::DepartmentsOf(account), keys::Gone(account)}, args).status();
}

}  // namespace cityhub::notifications
