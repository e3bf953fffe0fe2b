#include "services/accounts/account_store.h"

#include <charconv>

#include "infra/auth/deleted_accounts.h"
#include "infra/events/events.h"
#include "infra/strings.h"
#include "infra/text.h"
#include "services/accounts/keys.h"
#include "services/accounts/session_store.h"

namespace cityhub::accounts {

using infra::StrCat;
using infra::redis::Args;
using infra::redis::Reply;
using infra::redis::Script;
using infra::redis::Transaction;

namespace {

// SessionStore's keys, touched here so that a credential change and the end of the sessions it
// implies are one transaction.
std::string_view TokenPrefix(TokenKind kind) {
  return kind == TokenKind::kVerify ? keys::kVerifyPrefix : keys::kResetPrefix;
}
std::string TokenKey(TokenKind kind, std::string_view hash) {
  return kind == TokenKind::kVerify ? keys::VerifyToken(hash) : keys::ResetToken(hash);
}
std::string_view TokenField(TokenKind kind) {
  return kind == TokenKind::kVerify ? "verify" : "reset";
}

// The scripts below stay scripts (docs/design.md says why: they end sessions by iterating a set,
// check a token's expiry or a mail limit against the clock, or delete keys named by what they
// read); their events go through Transaction's fragment (events::AppendScriptArgs), the one way
// events are written.

const Script& UpdateAndEndSessionsScript() {
  // KEYS: account, account's families.
  // ARGV: end sessions (0/1), family key prefix, family to keep, events..., then field/value
  //       pairs.
  static const Script script(StrCat(Transaction::kAppendEventsLua, kEndSessionsLua, R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('NOT_FOUND account not found')
end
local first = append_events(4)
local fields = {}
for i = first, #ARGV do fields[#fields + 1] = ARGV[i] end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
if ARGV[1] == '1' then end_sessions(KEYS[2], ARGV[2], ARGV[3]) end
return 1
)lua"));
  return script;
}

const Script& IssueTokenScript() {
  // KEYS: account, new token.
  // ARGV: field prefix, token key prefix, token hash, now, ttl, min interval, max per day,
  //       events...
  static const Script script(StrCat(Transaction::kAppendEventsLua, R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('NOT_FOUND account not found')
end
local p = ARGV[1]
local now = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], p .. '_hash', p .. '_sent_ms', p .. '_day', p .. '_count')
local sent = tonumber(state[2] or '0') or 0
local wait = sent + tonumber(ARGV[6]) - now
if wait > 0 then
  return redis.error_reply('RESOURCE_EXHAUSTED a mail was sent recently; try again in ' ..
                           math.ceil(wait / 1000) .. ' s')
end
local day = math.floor(now / 86400000)
local count = 0
if tonumber(state[3] or '-1') == day then count = tonumber(state[4] or '0') or 0 end
if count >= tonumber(ARGV[7]) then
  return redis.error_reply('RESOURCE_EXHAUSTED daily limit of mails reached; try again tomorrow')
end
append_events(8)
if state[1] then redis.call('DEL', ARGV[2] .. state[1] .. '}') end
redis.call('SET', KEYS[2], string.match(KEYS[1], '{(.*)}') .. '|' ..
           string.format('%d', now + tonumber(ARGV[5])),
           'PX', ARGV[5])
redis.call('HSET', KEYS[1], p .. '_hash', ARGV[3], p .. '_sent_ms', now, p .. '_day', day,
           p .. '_count', count + 1)
return 1
)lua"));
  return script;
}

const Script& ConsumeTokenScript() {
  // KEYS: token, account, account's families.
  // ARGV: account id, field prefix, token hash, now, end sessions (0/1), family key prefix,
  //       events..., then field/value pairs.
  static const Script script(StrCat(Transaction::kAppendEventsLua, kEndSessionsLua, R"lua(
local value = redis.call('GET', KEYS[1])
local id, expires
if value then id, expires = string.match(value, '^(.*)|(%d+)$') end
if not id or id ~= ARGV[1] or tonumber(expires) < tonumber(ARGV[4]) or
    redis.call('HGET', KEYS[2], ARGV[2] .. '_hash') ~= ARGV[3] then
  return redis.error_reply('NOT_FOUND token: unknown, used or expired')
end
local first = append_events(7)
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[2] .. '_hash')
local fields = {}
for i = first, #ARGV do fields[#fields + 1] = ARGV[i] end
if #fields > 0 then redis.call('HSET', KEYS[2], unpack(fields)) end
if ARGV[5] == '1' then end_sessions(KEYS[3], ARGV[6], '') end
return 1
)lua"));
  return script;
}

const Script& DeleteScript() {
  // KEYS: account, email index, audit, known addresses, families set, deleted marker.
  // ARGV: account id, family key prefix, verify prefix, reset prefix, events...
  static const Script script(StrCat(Transaction::kAppendEventsLua, R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('NOT_FOUND account not found')
end
append_events(5)
redis.call('SET', KEYS[6], '1', 'EX', )lua",
                                    infra::auth::DeletedAccounts::kTtlSeconds, R"lua()
for _, family in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  redis.call('DEL', ARGV[2] .. family .. '}')
end
local tokens = redis.call('HMGET', KEYS[1], 'verify_hash', 'reset_hash')
if tokens[1] then redis.call('DEL', ARGV[3] .. tokens[1] .. '}') end
if tokens[2] then redis.call('DEL', ARGV[4] .. tokens[2] .. '}') end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5])
return 1
)lua"));
  return script;
}

int64_t ToInt(std::string_view s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

absl::Status TokenNotFound() { return absl::NotFoundError("token: unknown, used or expired"); }

void AppendEvents(const Events& events, Transaction& tx) {
  for (const auto& e : events) infra::events::Append(tx, keys::kEvents, e);
}

void AppendEventArgs(const Events& events, Args* args) {
  infra::events::AppendScriptArgs(keys::kEvents, events, args);
}

void AppendFields(const AccountStore::Fields& fields, Args* args) {
  for (const auto& [k, v] : fields) {
    args->push_back(k);
    args->push_back(v);
  }
}

}  // namespace

std::string JoinList(const std::vector<std::string>& items) { return infra::StrJoin(items, ","); }

AccountStore::AccountStore(infra::redis::Client& redis) : redis_(redis) {}

absl::Status AccountStore::Create(const StoredAccount& a, std::string_view verify_token_hash,
                                  std::chrono::milliseconds verify_ttl, int64_t now_ms,
                                  const Events& events) {
  Args hset = {"HSET", keys::Account(a.id)};
  AppendFields({{"email", a.email},
                {"email_key", a.email_key},
                {"display_name", a.display_name},
                {"language", a.language},
                {"phone", a.phone},
                {"password_hash", a.password_hash},
                {"roles", JoinList(a.roles)},
                {"departments", JoinList(a.departments)},
                {"verified", a.verified ? "1" : "0"},
                {"created_ms", std::to_string(a.created_ms)},
                {"updated_ms", std::to_string(a.updated_ms)},
                {"verify_hash", std::string(verify_token_hash)},
                {"verify_sent_ms", std::to_string(now_ms)},
                {"verify_day", std::to_string(now_ms / 86'400'000)},
                {"verify_count", "1"}},
               &hset);
  const std::string email = keys::Email(a.email_key);
  Transaction tx;
  tx.RequireEqual({"EXISTS", email}, "0", "ALREADY_EXISTS email: already registered")
      .Then({"SET", email, a.id})
      .Then(std::move(hset))
      .Then({"SET", TokenKey(TokenKind::kVerify, verify_token_hash),
             StrCat(a.id, "|", now_ms + verify_ttl.count()), "PX",
             std::to_string(verify_ttl.count())});
  AppendEvents(events, tx);
  return tx.Run(redis_).status();
}

absl::StatusOr<StoredAccount> AccountStore::Get(std::string_view id) {
  auto reply = redis_.Command({"HGETALL", keys::Account(id)});
  if (!reply.ok()) return reply.status();
  const auto& e = reply->elements();
  if (e.empty()) return absl::NotFoundError("account not found");
  StoredAccount a;
  a.id = std::string(id);
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    const std::string& k = e[i].str();
    const std::string& v = e[i + 1].str();
    if (k == "email")
      a.email = v;
    else if (k == "email_key")
      a.email_key = v;
    else if (k == "display_name")
      a.display_name = v;
    else if (k == "language")
      a.language = v;
    else if (k == "phone")
      a.phone = v;
    else if (k == "password_hash")
      a.password_hash = v;
    else if (k == "roles")
      a.roles = infra::SplitList(v);
    else if (k == "departments")
      a.departments = infra::SplitList(v);
    else if (k == "verified")
      a.verified = v == "1";
    else if (k == "created_ms")
      a.created_ms = ToInt(v);
    else if (k == "updated_ms")
      a.updated_ms = ToInt(v);
  }
  return a;
}

absl::StatusOr<std::string> AccountStore::IdForEmail(std::string_view email_key) {
  return infra::redis::AsString(redis_.Command({"GET", keys::Email(email_key)}));
}

absl::Status AccountStore::Update(std::string_view id, const Fields& fields, const Events& events) {
  Transaction tx;
  tx.RequireEqual({"EXISTS", keys::Account(id)}, "1", "NOT_FOUND account not found");
  if (!fields.empty()) {
    Args hset = {"HSET", keys::Account(id)};
    AppendFields(fields, &hset);
    tx.Then(std::move(hset));
  }
  AppendEvents(events, tx);
  return tx.Run(redis_).status();
}

absl::Status AccountStore::UpdateAndEndSessions(std::string_view id, const Fields& fields,
                                                std::string_view keep_family,
                                                const Events& events) {
  Args args = {"1", keys::kFamilyPrefix, std::string(keep_family)};
  AppendEventArgs(events, &args);
  AppendFields(fields, &args);
  return redis_.Eval(UpdateAndEndSessionsScript(), {keys::Account(id), keys::Families(id)}, args)
      .status();
}

absl::Status AccountStore::IssueToken(std::string_view id, TokenKind kind,
                                      std::string_view token_hash, const TokenLimits& limits,
                                      int64_t now_ms, const Events& events) {
  Args args = {std::string(TokenField(kind)),
               std::string(TokenPrefix(kind)),
               std::string(token_hash),
               std::to_string(now_ms),
               std::to_string(limits.ttl.count()),
               std::to_string(limits.min_interval.count()),
               std::to_string(limits.max_per_day)};
  AppendEventArgs(events, &args);
  return redis_.Eval(IssueTokenScript(), {keys::Account(id), TokenKey(kind, token_hash)}, args)
      .status();
}

absl::StatusOr<std::string> AccountStore::TokenAccount(TokenKind kind, std::string_view token_hash,
                                                       int64_t now_ms) {
  auto value = infra::redis::AsString(redis_.Command({"GET", TokenKey(kind, token_hash)}));
  if (!value.ok()) {
    return value.status().code() == absl::StatusCode::kNotFound ? TokenNotFound() : value.status();
  }
  // "<account id>|<expiry ms>"; the key's own TTL may lag behind a clock set by tests.
  const size_t bar = value->rfind('|');
  if (bar == std::string::npos || ToInt(std::string_view(*value).substr(bar + 1)) < now_ms) {
    return TokenNotFound();
  }
  return value->substr(0, bar);
}

absl::Status AccountStore::ConsumeToken(TokenKind kind, std::string_view token_hash,
                                        std::string_view account_id, int64_t now_ms,
                                        const Fields& fields, const Events& events) {
  Args args = {
      std::string(account_id), std::string(TokenField(kind)),         std::string(token_hash),
      std::to_string(now_ms),  kind == TokenKind::kReset ? "1" : "0", keys::kFamilyPrefix};
  AppendEventArgs(events, &args);
  AppendFields(fields, &args);
  return redis_
      .Eval(ConsumeTokenScript(),
            {TokenKey(kind, token_hash), keys::Account(account_id), keys::Families(account_id)},
            args)
      .status();
}

absl::Status AccountStore::Delete(const StoredAccount& account, const Events& events) {
  Args args = {account.id, keys::kFamilyPrefix, std::string(TokenPrefix(TokenKind::kVerify)),
               std::string(TokenPrefix(TokenKind::kReset))};
  AppendEventArgs(events, &args);
  return redis_
      .Eval(DeleteScript(),
            {keys::Account(account.id), keys::Email(account.email_key), keys::Audit(account.id),
             keys::Known(account.id), keys::Families(account.id),
             infra::auth::DeletedAccounts::Key(keys::kService, account.id)},
            args)
      .status();
}

absl::Status AccountStore::AddAudit(std::string_view id, std::string_view entry_json) {
  auto replies = redis_.Pipeline({{"LPUSH", keys::Audit(id), std::string(entry_json)},
                                  {"LTRIM", keys::Audit(id), "0", std::to_string(kAuditCap - 1)}});
  return replies.status();
}

absl::StatusOr<std::vector<std::string>> AccountStore::Audit(std::string_view id) {
  auto reply = redis_.Command({"LRANGE", keys::Audit(id), "0", "-1"});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> out;
  for (const Reply& r : reply->elements()) out.push_back(r.str());
  return out;
}

}  // namespace cityhub::accounts
