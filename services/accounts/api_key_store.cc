#include "services/accounts/api_key_store.h"

#include <algorithm>
#include <charconv>

#include "infra/redis/transaction.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/accounts/keys.h"

namespace cityhub::accounts {

using infra::StrCat;
using infra::redis::Script;

namespace {

const Script& DeleteScript() {
  // KEYS: key, set. ARGV: id, hash key prefix.
  static const Script script(R"lua(
local hash = redis.call('HGET', KEYS[1], 'hash')
if not hash then return redis.error_reply('NOT_FOUND api key not found') end
redis.call('DEL', KEYS[1], ARGV[2] .. hash .. '}')
redis.call('SREM', KEYS[2], ARGV[1])
return 1
)lua");
  return script;
}

}  // namespace

ApiKeyStore::ApiKeyStore(infra::redis::Client& redis) : redis_(redis) {}

absl::Status ApiKeyStore::Create(const StoredApiKey& key, std::string_view key_hash) {
  infra::redis::Transaction tx;
  tx.Then({"HSET", keys::ApiKey(key.id), "name", key.name, "hash", std::string(key_hash),
           "created_ms", std::to_string(key.created_ms)})
      .Then({"SET", keys::ApiKeyByHash(key_hash), key.id})
      .Then({"SADD", keys::kApiKeys, key.id});
  return tx.Run(redis_).status();
}

absl::StatusOr<std::vector<StoredApiKey>> ApiKeyStore::List() {
  auto ids = redis_.Command({"SMEMBERS", keys::kApiKeys});
  if (!ids.ok()) return ids.status();
  std::vector<infra::redis::Args> commands;
  for (const auto& id : ids->elements()) {
    commands.push_back({"HMGET", keys::ApiKey(id.str()), "name", "created_ms"});
  }
  auto replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<StoredApiKey> out;
  for (size_t i = 0; i < replies->size(); ++i) {
    const auto& f = (*replies)[i].elements();
    if (f.size() != 2 || f[0].is_nil()) continue;
    StoredApiKey k{ids->elements()[i].str(), f[0].str(), 0};
    std::from_chars(f[1].str().data(), f[1].str().data() + f[1].str().size(), k.created_ms);
    out.push_back(std::move(k));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

absl::Status ApiKeyStore::Delete(std::string_view id) {
  return redis_
      .Eval(DeleteScript(), {keys::ApiKey(id), keys::kApiKeys},
            {std::string(id), keys::kApiKeyByHashPrefix})
      .status();
}

absl::StatusOr<StoredApiKey> ApiKeyStore::FindByHash(std::string_view key_hash) {
  ASSIGN_OR_RETURN(std::string id,
                   infra::redis::AsString(redis_.Command({"GET", keys::ApiKeyByHash(key_hash)})));
  ASSIGN_OR_RETURN(std::string name,
                   infra::redis::AsString(redis_.Command({"HGET", keys::ApiKey(id), "name"})));
  return StoredApiKey{std::move(id), std::move(name), 0};
}

}  // namespace cityhub::accounts
