#include "services/accounts/throttle_store.h"

#include "infra/strings.h"

namespace cityhub::accounts {

using infra::StrCat;
using infra::redis::Script;

namespace {

std::string PairKey(std::string_view email, std::string_view address) {
  return StrCat("accounts:throttle:pair:{", email, "}:", address);
}
std::string AddressKey(std::string_view address) {
  return StrCat("accounts:throttle:addr:{", address, "}");
}
std::string EmailKey(std::string_view email) {
  return StrCat("accounts:throttle:email:{", email, "}");
}
std::string KnownKey(std::string_view account) { return StrCat("accounts:known:{", account, "}"); }

const Script& WaitScript() {
  // KEYS: pair, address, email, known. ARGV: now, address hash.
  static const Script script(R"lua(
local now = tonumber(ARGV[1])
local function left(key)
  local u = redis.call('HGET', key, 'until')
  if u then return tonumber(u) - now end
  return 0
end
local wait = math.max(0, left(KEYS[1]), left(KEYS[2]))
if not redis.call('ZSCORE', KEYS[4], ARGV[2]) then wait = math.max(wait, left(KEYS[3])) end
return wait
)lua");
  return script;
}

const Script& FailScript() {
  // KEYS: pair, address, email. ARGV: now, window, then free/base/max for each key.
  static const Script script(R"lua(
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
for i = 1, 3 do
  local free = tonumber(ARGV[3 * i])
  local base = tonumber(ARGV[3 * i + 1])
  local max = tonumber(ARGV[3 * i + 2])
  local fails = redis.call('HINCRBY', KEYS[i], 'fails', 1)
  local ttl = window
  if fails > free then
    local backoff = math.min(base * 2 ^ math.min(fails - free - 1, 40), max)
    redis.call('HSET', KEYS[i], 'until', now + backoff)
    ttl = math.max(window, backoff)
  end
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return 1
)lua");
  return script;
}

const Script& SuccessScript() {
  // KEYS: pair, email, known. ARGV: now, address hash, known addresses to keep.
  static const Script script(R"lua(
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -1 - tonumber(ARGV[3]))
return 1
)lua");
  return script;
}

}  // namespace

ThrottleStore::ThrottleStore(infra::redis::Client& redis, ThrottlePolicy policy)
    : redis_(redis), policy_(policy) {}

absl::StatusOr<int64_t> ThrottleStore::WaitMs(std::string_view email_hash,
                                              std::string_view address_hash,
                                              std::string_view account_id, int64_t now_ms) {
  return infra::redis::AsInteger(redis_.Eval(
      WaitScript(),
      {PairKey(email_hash, address_hash), AddressKey(address_hash), EmailKey(email_hash),
       KnownKey(account_id)},
      {std::to_string(now_ms), std::string(address_hash)}));
}

absl::Status ThrottleStore::RecordFailure(std::string_view email_hash,
                                          std::string_view address_hash, int64_t now_ms) {
  infra::redis::Args args = {std::to_string(now_ms), std::to_string(policy_.window.count())};
  for (const auto* c : {&policy_.pair, &policy_.address, &policy_.email}) {
    args.push_back(std::to_string(c->free_failures));
    args.push_back(std::to_string(c->base.count()));
    args.push_back(std::to_string(c->max.count()));
  }
  return redis_
      .Eval(FailScript(),
            {PairKey(email_hash, address_hash), AddressKey(address_hash), EmailKey(email_hash)},
            args)
      .status();
}

absl::Status ThrottleStore::RecordSuccess(std::string_view email_hash,
                                          std::string_view address_hash,
                                          std::string_view account_id, int64_t now_ms) {
  return redis_
      .Eval(SuccessScript(),
            {PairKey(email_hash, address_hash), EmailKey(email_hash), KnownKey(account_id)},
            {std::to_string(now_ms), std::string(address_hash),
             std::to_string(policy_.known_addresses)})
      .status();
}

}  // namespace cityhub::accounts
