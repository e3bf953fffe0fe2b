#include "services/accounts/session_store.h"

#include <charconv>

#include "infra/redis/transaction.h"
#include "infra/strings.h"
#include "services/accounts/keys.h"

namespace cityhub::accounts {

using infra::StrCat;
using infra::redis::Script;

namespace {

int64_t ToInt(const std::string& s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

const Script& CreateScript() {
  // KEYS: family, token, account's families. ARGV: account, family id, now, idle, absolute.
  static const Script script(R"lua(
redis.call('HSET', KEYS[1], 'account', ARGV[1], 'created_ms', ARGV[3], 'last_used_ms', ARGV[3],
           'abs_until', ARGV[5], 'revoked', '0')
-- Keys live as long as the family may; relative times keep this right whatever the caller's
-- clock says.
local ttl = tonumber(ARGV[5]) - tonumber(ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('HSET', KEYS[2], 'state', 'live', 'idle_until', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('SADD', KEYS[3], ARGV[2])
if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
return 1
)lua");
  return script;
}

const Script& RotateScript() {
  // KEYS: family, presented token, next token. ARGV: now, next idle until.
  // Writes before an error reply stay (scripts do not roll back): revocation on reuse sticks.
  static const Script script(R"lua(
local family = redis.call('HMGET', KEYS[1], 'account', 'abs_until', 'revoked')
if not family[1] then
  return redis.error_reply('UNAUTHENTICATED refresh token unknown or expired')
end
if family[3] == '1' then return redis.error_reply('UNAUTHENTICATED session revoked') end
local token = redis.call('HMGET', KEYS[2], 'state', 'idle_until')
if not token[1] then return redis.error_reply('UNAUTHENTICATED refresh token unknown or expired') end
if token[1] == 'spent' then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  return redis.error_reply('UNAUTHENTICATED refresh token already used; session revoked')
end
local now = tonumber(ARGV[1])
if now > tonumber(token[2]) or now > tonumber(family[2]) then
  return redis.error_reply('UNAUTHENTICATED refresh token expired')
end
redis.call('HSET', KEYS[2], 'state', 'spent')
redis.call('HSET', KEYS[3], 'state', 'live', 'idle_until', ARGV[2])
redis.call('PEXPIRE', KEYS[3], math.max(1, tonumber(family[2]) - now))
redis.call('HSET', KEYS[1], 'last_used_ms', ARGV[1])
return family[1]
)lua");
  return script;
}

const Script& RevokeAllScript() {
  // KEYS: account's families. ARGV: family key prefix, family to keep.
  static const Script script(StrCat(kEndSessionsLua, R"lua(
end_sessions(KEYS[1], ARGV[1], ARGV[2])
return 1
)lua"));
  return script;
}

}  // namespace

const char kEndSessionsLua[] = R"lua(
local function end_sessions(families, prefix, keep)
  for _, family in ipairs(redis.call('SMEMBERS', families)) do
    if family ~= keep then
      local key = prefix .. family .. '}'
      if redis.call('EXISTS', key) == 1 then redis.call('HSET', key, 'revoked', '1') end
      redis.call('SREM', families, family)
    end
  end
end
)lua";

SessionStore::SessionStore(infra::redis::Client& redis) : redis_(redis) {}

absl::Status SessionStore::Create(std::string_view account_id, std::string_view family_id,
                                  std::string_view token_hash, const SessionTimes& t) {
  return redis_
      .Eval(CreateScript(),
            {keys::Family(family_id), keys::RefreshToken(family_id, token_hash),
             keys::Families(account_id)},
            {std::string(account_id), std::string(family_id), std::to_string(t.now_ms),
             std::to_string(t.idle_until_ms), std::to_string(t.absolute_until_ms)})
      .status();
}

absl::StatusOr<std::string> SessionStore::FamilyAccount(std::string_view family_id) {
  auto reply = redis_.Command({"HGET", keys::Family(family_id), "account"});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return absl::NotFoundError("session family not found");
  return reply->str();
}

absl::StatusOr<std::string> SessionStore::Rotate(std::string_view family_id,
                                                 std::string_view token_hash,
                                                 std::string_view next_hash, int64_t now_ms,
                                                 int64_t next_idle_until_ms) {
  return infra::redis::AsString(
      redis_.Eval(RotateScript(),
                  {keys::Family(family_id), keys::RefreshToken(family_id, token_hash),
                   keys::RefreshToken(family_id, next_hash)},
                  {std::to_string(now_ms), std::to_string(next_idle_until_ms)}));
}

absl::Status SessionStore::Revoke(std::string_view account_id, std::string_view family_id) {
  const std::string family = keys::Family(family_id);
  infra::redis::Transaction tx;
  tx.RequireEqual({"HGET", family, "account"}, std::string(account_id),
                  "NOT_FOUND session not found")
      .Then({"HSET", family, "revoked", "1"})
      .Then({"SREM", keys::Families(account_id), std::string(family_id)});
  return tx.Run(redis_).status();
}

absl::Status SessionStore::RevokeAll(std::string_view account_id, std::string_view keep_family) {
  return redis_
      .Eval(RevokeAllScript(), {keys::Families(account_id)},
            {keys::kFamilyPrefix, std::string(keep_family)})
      .status();
}

absl::StatusOr<std::vector<SessionInfo>> SessionStore::List(std::string_view account_id,
                                                            int64_t now_ms) {
  auto members = redis_.Command({"SMEMBERS", keys::Families(account_id)});
  if (!members.ok()) return members.status();
  std::vector<infra::redis::Args> commands;
  for (const auto& m : members->elements()) {
    commands.push_back(
        {"HMGET", keys::Family(m.str()), "created_ms", "last_used_ms", "abs_until", "revoked"});
  }
  auto replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<SessionInfo> out;
  for (size_t i = 0; i < replies->size(); ++i) {
    const auto& f = (*replies)[i].elements();
    if (f.size() != 4 || f[0].is_nil() || f[3].str() == "1" || ToInt(f[2].str()) < now_ms) continue;
    out.push_back({members->elements()[i].str(), ToInt(f[0].str()), ToInt(f[1].str())});
  }
  return out;
}

}  // namespace cityhub::accounts
