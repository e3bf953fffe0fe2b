#include "infra/redis/transaction.h"

#include "infra/redis/async_client.h"
#include "infra/strings.h"

namespace cityhub::infra::redis {
namespace {

// ARGV: guard count, guards (kind, error, wanted value, n, command...), event count, events
// (n, command...), operation count, operations (n, command... or, for one that ends with an
// earlier operation's reply, 'r', that operation's 1-based index, offset, prefix, n,
// command...). The events run first: a stream
// that cannot take its entry (e.g. a key of another type) fails the unit before any data
// changes, since Redis does not undo a script's earlier writes. Returns
// {1, {one reply per operation, then one per event}} when written, or
// {0, guard index, guard reply} when a skip guard held.
constexpr char kUnitLua[] = R"lua(
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
for g = 1, tonumber(take()) do
  local kind, err, want = take(), take(), take()
  local got = redis.call(unpack(command()))
  local ok
  if kind == 'skipset' then
    if got ~= false then return {0, g - 1, got} end
    ok = true
  elseif kind == 'skipeq' then
    if (type(got) == 'string' or type(got) == 'number') and tostring(got) == want then
      return {0, g - 1, got}
    end
    ok = true
  elseif kind == 'nil' then
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
local events
i, events = append_events(i)
local out = {}
for k = 1, tonumber(take()) do
  local c
  if ARGV[i] == 'r' then
    take()
    local ref, offset, prefix = tonumber(take()), tonumber(take()), take()
    c = command()
    c[#c + 1] = prefix .. string.format('%d', tonumber(out[ref]) + offset)
  else
    c = command()
  end
  out[k] = redis.call(unpack(c))
end
for k = 1, #events do out[#out + 1] = events[k] end
return {1, out}
)lua";

void AppendCommand(const Args& command, Args* argv) {
  argv->push_back(std::to_string(command.size()));
  argv->insert(argv->end(), command.begin(), command.end());
}

}  // namespace

// The one place events are appended: Transaction's script and the scripts that remain
// (docs/design.md) run this fragment on what EncodeEvents() wrote.
const char Transaction::kAppendEventsLua[] = R"lua(
local function append_events(at)
  local replies = {}
  local pos = at + 1
  for k = 1, tonumber(ARGV[at]) do
    local c = {}
    for j = 1, tonumber(ARGV[pos]) do c[j] = ARGV[pos + j] end
    replies[k] = redis.call(unpack(c))
    pos = pos + #c + 1
  end
  return pos, replies
end
)lua";

void Transaction::EncodeEvents(const std::vector<Args>& appends, Args* argv) {
  argv->push_back(std::to_string(appends.size()));
  for (const Args& append : appends) AppendCommand(append, argv);
}

namespace {

absl::StatusOr<Transaction::Outcome> ToOutcome(absl::StatusOr<Reply> reply) {
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return ErrorReplyToStatus(reply->str());
  std::vector<Reply>& e = reply->mutable_elements();
  if (!reply->is_array() || e.size() < 2) {
    return absl::InternalError("redis: transaction gave no outcome");
  }
  Transaction::Outcome out;
  out.applied = e[0].integer() == 1;
  if (out.applied) {
    out.replies = std::move(e[1].mutable_elements());
  } else {
    out.skipped_by = static_cast<int>(e[1].integer());
    if (e.size() > 2) out.skip_reply = std::move(e[2]);
  }
  return out;
}

Transaction::Outcome Applied() {
  Transaction::Outcome out;
  out.applied = true;
  return out;
}

absl::StatusOr<std::vector<Reply>> Replies(absl::StatusOr<Transaction::Outcome> outcome) {
  if (!outcome.ok()) return outcome.status();
  return std::move(outcome->replies);
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

Transaction& Transaction::SkipIfSet(Args read) {
  guards_.push_back({"skipset", "", "", std::move(read)});
  return *this;
}

Transaction& Transaction::SkipIfEqual(Args read, std::string value) {
  guards_.push_back({"skipeq", "", std::move(value), std::move(read)});
  return *this;
}

Transaction& Transaction::Then(Args op) {
  ops_.push_back({std::move(op), -1, 0, ""});
  return *this;
}

Transaction& Transaction::ThenWithReply(Args op, int earlier, std::string prefix, int64_t offset) {
  if (earlier < 0 || earlier >= static_cast<int>(ops_.size())) {
    // A builder cannot return a status; the runs do, so the mistake is seen in release builds
    // too instead of a Lua error after the operations before it were written.
    if (misbuilt_.ok()) {
      misbuilt_ = absl::InvalidArgumentError(
          StrCat("redis transaction: ThenWithReply names operation ", earlier, " but ", ops_.size(),
                 " were given before it"));
    }
    return *this;
  }
  ops_.push_back({std::move(op), earlier, offset, std::move(prefix)});
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
  static const Script script(StrCat(kAppendEventsLua, kUnitLua));
  return script;
}

Args Transaction::ScriptArgs() const {
  Args argv = {std::to_string(guards_.size())};
  for (const Guard& g : guards_) {
    argv.insert(argv.end(), {g.kind, g.error, g.want});
    AppendCommand(g.read, &argv);
  }
  EncodeEvents(events_, &argv);
  argv.push_back(std::to_string(ops_.size()));
  for (const Op& op : ops_) {
    if (op.earlier >= 0) {
      argv.insert(argv.end(),
                  {"r", std::to_string(op.earlier + 1), std::to_string(op.offset), op.prefix});
    }
    AppendCommand(op.command, &argv);
  }
  return argv;
}

absl::StatusOr<Transaction::Outcome> Transaction::Apply(Client& redis) const {
  if (!misbuilt_.ok()) return misbuilt_;
  if (guards_.empty() && empty()) return Applied();
  const Args argv = ScriptArgs();
  return ToOutcome(durable_ ? redis.EvalDurable(script(), {}, argv)
                            : redis.Eval(script(), {}, argv));
}

absl::StatusOr<std::vector<Reply>> Transaction::Run(Client& redis) const {
  return Replies(Apply(redis));
}

void Transaction::Apply(AsyncClient& redis, OutcomeCallback done) const {
  if (!misbuilt_.ok()) {
    done(misbuilt_);
    return;
  }
  if (guards_.empty() && empty()) {
    done(Applied());
    return;
  }
  Args eval = {"EVAL", script().source(), "0"};
  const Args argv = ScriptArgs();
  eval.insert(eval.end(), argv.begin(), argv.end());
  redis.Pipeline({std::move(eval)},
                 [done = std::move(done)](absl::StatusOr<std::vector<Reply>> replies) {
                   if (!replies.ok()) return done(replies.status());
                   done(ToOutcome(std::move(replies->front())));
                 });
}

void Transaction::Run(AsyncClient& redis, Callback done) const {
  Apply(redis, [done = std::move(done)](absl::StatusOr<Outcome> outcome) {
    done(Replies(std::move(outcome)));
  });
}

}  // namespace cityhub::infra::redis
