#include "services/accounts/throttle_store.h"

#include <charconv>

#include "infra/strings.h"
#include "services/accounts/keys.h"

namespace cityhub::accounts {

using infra::StrCat;
using infra::redis::Script;

namespace {

// Lua source of `undo(key, previous_until, set_until)`: takes one counted attempt back from a
// counter, restoring the wait it replaced unless a later attempt has set another since.
constexpr char kUndoLua[] = R"lua(
local function undo(key, previous, set)
  if redis.call('EXISTS', key) == 0 then return end
  if redis.call('HINCRBY', key, 'fails', -1) <= 0 then
    redis.call('DEL', key)
    return
  end
  set = tonumber(set)
  if set > 0 and tonumber(redis.call('HGET', key, 'until') or '0') == set then
    if tonumber(previous) > 0 then
      redis.call('HSET', key, 'until', previous)
    else
      redis.call('HDEL', key, 'until')
    end
  end
end
)lua";

const Script& ReserveScript() {
  // KEYS: pair, address, email, known. ARGV: now, window, address hash, then free/base/max for
  // each counter. Returns {wait} when refused, else {0, previous/set until per counter...}.
  static const Script script(R"lua(
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local function left(key)
  local u = redis.call('HGET', key, 'until')
  if u then return tonumber(u) - now end
  return 0
end
local wait = math.max(0, left(KEYS[1]), left(KEYS[2]))
if not redis.call('ZSCORE', KEYS[4], ARGV[3]) then wait = math.max(wait, left(KEYS[3])) end
if wait > 0 then return {wait} end
local out = {0}
for i = 1, 3 do
  local free = tonumber(ARGV[1 + 3 * i])
  local base = tonumber(ARGV[2 + 3 * i])
  local max = tonumber(ARGV[3 + 3 * i])
  local previous = tonumber(redis.call('HGET', KEYS[i], 'until') or '0')
  local fails = redis.call('HINCRBY', KEYS[i], 'fails', 1)
  local ttl = window
  local set = 0
  if fails > free then
    local backoff = math.min(base * 2 ^ math.min(fails - free - 1, 40), max)
    set = now + backoff
    redis.call('HSET', KEYS[i], 'until', string.format('%d', set))
    ttl = math.max(window, backoff)
  end
  redis.call('PEXPIRE', KEYS[i], string.format('%d', ttl))
  out[#out + 1] = previous
  out[#out + 1] = set
end
return out
)lua");
  return script;
}

const Script& ReleaseScript() {
  // KEYS: pair, address, email. ARGV: previous and set until of each.
  static const Script script(StrCat(kUndoLua, R"lua(
for i = 1, 3 do undo(KEYS[i], ARGV[2 * i - 1], ARGV[2 * i]) end
return 1
)lua"));
  return script;
}

const Script& SuccessScript() {
  // KEYS: pair, email, address, known. ARGV: now, address hash, known addresses to keep,
  // previous and set until of the address counter.
  static const Script script(StrCat(kUndoLua, R"lua(
redis.call('DEL', KEYS[1], KEYS[2])
undo(KEYS[3], ARGV[4], ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -1 - tonumber(ARGV[3]))
return 1
)lua"));
  return script;
}

}  // namespace

ThrottleStore::ThrottleStore(infra::redis::Client& redis, ThrottlePolicy policy)
    : redis_(redis), policy_(policy) {}

absl::StatusOr<ThrottleReservation> ThrottleStore::Reserve(std::string_view email_hash,
                                                           std::string_view address_hash,
                                                           std::string_view account_id,
                                                           int64_t now_ms) {
  infra::redis::Args args = {std::to_string(now_ms), std::to_string(policy_.window.count()),
                             std::string(address_hash)};
  for (const auto* c : {&policy_.pair, &policy_.address, &policy_.email}) {
    args.push_back(std::to_string(c->free_failures));
    args.push_back(std::to_string(c->base.count()));
    args.push_back(std::to_string(c->max.count()));
  }
  auto reply = redis_.Eval(
      ReserveScript(),
      {keys::ThrottlePair(email_hash, address_hash), keys::ThrottleAddress(address_hash),
       keys::ThrottleEmail(email_hash), keys::Known(account_id)},
      args);
  if (!reply.ok()) return reply.status();
  const auto& e = reply->elements();
  if (e.empty() || (e[0].integer() == 0 && e.size() != 7)) {
    return absl::InternalError("throttle: unexpected reply");
  }
  ThrottleReservation r;
  r.wait_ms = e[0].integer();
  r.email_hash = std::string(email_hash);
  r.address_hash = std::string(address_hash);
  if (r.admitted()) {
    for (size_t i = 0; i < 3; ++i) {
      r.previous_until[i] = e[1 + 2 * i].integer();
      r.set_until[i] = e[2 + 2 * i].integer();
    }
  }
  return r;
}

absl::Status ThrottleStore::RecordSuccess(const ThrottleReservation& r, std::string_view account_id,
                                          int64_t now_ms) {
  return redis_
      .Eval(SuccessScript(),
            {keys::ThrottlePair(r.email_hash, r.address_hash), keys::ThrottleEmail(r.email_hash),
             keys::ThrottleAddress(r.address_hash), keys::Known(account_id)},
            {std::to_string(now_ms), r.address_hash, std::to_string(policy_.known_addresses),
             std::to_string(r.previous_until[1]), std::to_string(r.set_until[1])})
      .status();
}

absl::Status ThrottleStore::Release(const ThrottleReservation& r) {
  infra::redis::Args args;
  for (size_t i = 0; i < 3; ++i) {
    args.push_back(std::to_string(r.previous_until[i]));
    args.push_back(std::to_string(r.set_until[i]));
  }
  return redis_
      .Eval(ReleaseScript(),
            {keys::ThrottlePair(r.email_hash, r.address_hash),
             keys::ThrottleAddress(r.address_hash), keys::ThrottleEmail(r.email_hash)},
            args)
      .status();
}

absl::StatusOr<std::vector<KnownAddress>> ThrottleStore::KnownAddresses(
    std::string_view account_id) {
  auto reply = redis_.Command({"ZREVRANGE", keys::Known(account_id), "0", "-1", "WITHSCORES"});
  if (!reply.ok()) return reply.status();
  const auto& e = reply->elements();
  std::vector<KnownAddress> out;
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    int64_t ms = 0;
    const std::string& score = e[i + 1].str();
    std::from_chars(score.data(), score.data() + score.size(), ms);
    out.push_back({e[i].str(), ms});
  }
  return out;
}

}  // namespace cityhub::accounts
