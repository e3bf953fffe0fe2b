#include "infra/redis/transaction.h"

#include "infra/redis/async_client.h"

namespace cityhub::infra::redis {
namespace {

// ARGV: guard count, guards (kind, error, wanted value, n, command...), command count,
// commands (n, command...). Returns one reply per command.
constexpr char kSource[] = R"lua(
local i = 1
local function take()
  i = i + 1
  return ARGV[i - 1]
end
local function command()
  local c = {}
  for j = 1, tonumber(take()) do c[j] = take() end
  return c
end
for _ = 1, tonumber(take()) do
  local kind, err, want = take(), take(), take()
  local got = redis.call(unpack(command()))
  local ok
  if kind == 'nil' then
    ok = got == false
  elseif kind == 'set' then
    ok = got ~= false
  elseif kind == 'eq' then
    ok = (type(got) == 'string' or type(got) == 'number') and tostring(got) == want
  else
    ok = tonumber(got) ~= nil and tonumber(got) < tonumber(want)
  end
  if not ok then return redis.error_reply(err) end
end
local out = {}
for k = 1, tonumber(take()) do out[k] = redis.call(unpack(command())) end
return out
)lua";

void AppendCommand(const Args& command, Args* argv) {
  argv->push_back(std::to_string(command.size()));
  argv->insert(argv->end(), command.begin(), command.end());
}

absl::StatusOr<std::vector<Reply>> Elements(absl::StatusOr<Reply> reply) {
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return ErrorReplyToStatus(reply->str());
  if (!reply->is_array()) return absl::InternalError("redis: transaction gave no array");
  return std::move(reply->mutable_elements());
}

}  // namespace

Transaction& Transaction::RequireNil(Args read, std::string error) {
  guards_.push_back({"nil", std::move(error), "", std::move(read)});
  return *this;
}

Transaction& Transaction::RequireNotNil(Args read, std::string error) {
  guards_.push_back({"set", std::move(error), "", std::move(read)});
  return *this;
}

Transaction& Transaction::RequireEqual(Args read, std::string value, std::string error) {
  guards_.push_back({"eq", std::move(error), std::move(value), std::move(read)});
  return *this;
}

Transaction& Transaction::RequireLess(Args read, int64_t limit, std::string error) {
  guards_.push_back({"lt", std::move(error), std::to_string(limit), std::move(read)});
  return *this;
}

Transaction& Transaction::Then(Args op) {
  ops_.push_back(std::move(op));
  return *this;
}

Transaction& Transaction::Append(Args xadd) {
  events_.push_back(std::move(xadd));
  return *this;
}

Transaction& Transaction::Durable() {
  durable_ = true;
  return *this;
}

const Script& Transaction::script() {
  static const Script script(kSource);
  return script;
}

Args Transaction::ScriptArgs() const {
  Args argv = {std::to_string(guards_.size())};
  for (const Guard& g : guards_) {
    argv.insert(argv.end(), {g.kind, g.error, g.want});
    AppendCommand(g.read, &argv);
  }
  argv.push_back(std::to_string(ops_.size() + events_.size()));
  for (const Args& op : ops_) AppendCommand(op, &argv);
  for (const Args& event : events_) AppendCommand(event, &argv);
  return argv;
}

absl::StatusOr<std::vector<Reply>> Transaction::Run(Client& redis) const {
  if (guards_.empty() && empty()) return std::vector<Reply>{};
  const Args argv = ScriptArgs();
  return Elements(durable_ ? redis.EvalDurable(script(), {}, argv)
                           : redis.Eval(script(), {}, argv));
}

void Transaction::Run(AsyncClient& redis, Callback done) const {
  if (guards_.empty() && empty()) {
    done(std::vector<Reply>{});
    return;
  }
  Args eval = {"EVAL", script().source(), "0"};
  const Args argv = ScriptArgs();
  eval.insert(eval.end(), argv.begin(), argv.end());
  redis.Pipeline({std::move(eval)},
                 [done = std::move(done)](absl::StatusOr<std::vector<Reply>> replies) {
                   if (!replies.ok()) return done(replies.status());
                   done(Elements(std::move(replies->front())));
                 });
}

}  // namespace cityhub::infra::redis
